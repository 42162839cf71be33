"""Fast engine tests: no Qt, no network."""
