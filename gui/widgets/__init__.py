"""Dialogs and pickers: add an account, set up a folder pair, choose or create a container."""
