"""Bundle entry point of the ``blobsync`` command line (PyInstaller runs this as the main script)."""

import sys

from blobsync.core.cli.commands import main

if __name__ == "__main__":
    sys.exit(main())
