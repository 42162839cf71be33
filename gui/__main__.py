"""``python -m blobsync.gui``: same as the ``blobsync-gui`` command."""

from __future__ import annotations

import sys

from blobsync.gui.app import main

if __name__ == "__main__":
    sys.exit(main())
