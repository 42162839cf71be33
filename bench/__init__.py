"""BlobSync benchmarks against rclone and the raw-SDK ceiling (``python -m bench``).

Not part of the test suite: these print and record figures, they never fail on a time.
See ``bench/__main__.py`` for the command and ``bench/RESULTS.md`` for the last table.
"""
