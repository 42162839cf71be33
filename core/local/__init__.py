"""The local side: scanning the folder, hashing files, confined atomic writes."""
