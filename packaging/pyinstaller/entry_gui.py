"""Bundle entry point of ``blobsync-gui`` (PyInstaller runs this as the main script)."""

import sys

from blobsync.gui.app import main

if __name__ == "__main__":
    sys.exit(main())
