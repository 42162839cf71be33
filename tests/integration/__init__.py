"""Tests against a real Azurite (the ``azurite`` session fixture)."""
