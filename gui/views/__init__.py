"""Widgets that show one aspect of the app: pairs, progress, issues."""
