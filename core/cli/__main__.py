"""``python -m blobsync.core.cli``: the same as the ``blobsync`` command."""

import sys

from .commands import main

sys.exit(main())
