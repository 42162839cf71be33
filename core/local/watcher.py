"""Watch the sync folder for changes (watchdog: inotify on Linux, FSEvents, ReadDirectoryChangesW).

The watcher only says *that* something changed; the full enumeration that follows
finds out *what*. It drops our own temp files and the paths the engine announced it
is about to write (for a short time), so the engine's downloads, renames and conflict
copies do not trigger another sync. When the OS cannot watch (inotify watch limit,
network file system) :class:`WatcherUnavailable` says why in words and the caller polls
instead; an overflowing event queue only means "look at everything", so it triggers a
sync. A client may set ``skip`` (the pair's filter rules) so that changes to excluded
items, such as a build writing into an ignored folder, start no sync at all.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from .scanner import is_temp_name

log = logging.getLogger(__name__)

IGNORE_TTL_S = 2.0
NETWORK_FS = {
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "fuse.sshfs",
    "9p",
    "afs",
    "ncpfs",
    "fuse.rclone",
    "davfs",
}
_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]


class WatcherUnavailable(Exception):
    """The folder cannot be watched; ``message`` says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def filesystem_type(path: Path) -> str | None:
    """The file-system type of ``path`` from /proc/mounts (Linux), or None."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    target = os.path.realpath(path)
    best, fstype = "", None
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = fields[1].replace("\\040", " ")
        if (target == mount_point or target.startswith(mount_point.rstrip("/") + "/")) and len(
            mount_point
        ) >= len(best):
            best, fstype = mount_point, fields[2]
    return fstype


def inotify_limit() -> str:
    try:
        return Path("/proc/sys/fs/inotify/max_user_watches").read_text().strip()
    except OSError:
        return "unknown"


class _OverflowSpy(logging.Handler):
    """watchdog reports a kernel queue overflow only as a log warning: catch it."""

    def __init__(self, callback: Callable[[], None]) -> None:
        super().__init__(logging.WARNING)
        self._callback = callback

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self._callback()


class ChangeWatcher(FileSystemEventHandler):
    """Calls ``on_change()`` (from watchdog's thread) for each relevant change."""

    def __init__(self, root: Path, on_change: Callable[[], None]) -> None:
        super().__init__()
        self.root = Path(os.path.abspath(root))
        self._on_change = on_change
        self._ignored: dict[str, float] = {}
        self._lock = threading.Lock()
        self._observer: Observer | None = None  # type: ignore[valid-type]
        self._spy = _OverflowSpy(on_change)
        self.events_seen = 0
        self.events_ignored = 0
        #: ``skip(rel_path, is_dir)``: True for a file or folder whose changes start no
        #: sync (an item the pair's rules exclude, e.g. ``PathFilter.skips``). Called from
        #: watchdog's thread: give it its own filter
        #: (``engine.filtering.local_path_filter``), not the one a running sync uses.
        self.skip: Callable[[str, bool], bool] | None = None

    # ---- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        """Start watching. Raises WatcherUnavailable with a sentence for the user."""
        fstype = filesystem_type(self.root)
        if fstype in NETWORK_FS:
            raise WatcherUnavailable(
                f"{self.root} is on a network file system ({fstype}), where changes made by other "
                "computers are not reported; BlobSync checks it periodically instead."
            )
        observer = Observer()
        try:
            observer.schedule(self, str(self.root), recursive=True, event_filter=_EVENTS)
            observer.start()
        except OSError as exc:
            observer.stop()
            if exc.errno in (errno.ENOSPC, errno.EMFILE):
                raise WatcherUnavailable(
                    f"The system's limit of inotify watches is reached (fs.inotify.max_user_watches = "
                    f"{inotify_limit()}), so BlobSync checks {self.root} periodically instead. To raise it: "
                    "echo fs.inotify.max_user_watches=524288 | sudo tee /etc/sysctl.d/90-blobsync.conf "
                    "&& sudo sysctl --system"
                ) from None
            raise WatcherUnavailable(
                f"Cannot watch {self.root} for changes ({exc.strerror}); checking periodically instead."
            ) from None
        logging.getLogger("watchdog").addHandler(self._spy)
        self._observer = observer

    def stop(self) -> None:
        observer, self._observer = self._observer, None
        logging.getLogger("watchdog").removeHandler(self._spy)
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)

    @property
    def alive(self) -> bool:
        """False once the observer thread died (e.g. the folder was unmounted)."""
        return self._observer is not None and self._observer.is_alive()

    # ---- the engine's own writes ---------------------------------------------

    def ignore(self, rel_path: str) -> None:
        """Drop events for ``rel_path`` (and its folders) for a short while."""
        until = time.monotonic() + IGNORE_TTL_S
        with self._lock:
            self._ignored[rel_path] = until
            if len(self._ignored) > 10_000:
                now = time.monotonic()
                self._ignored = {p: t for p, t in self._ignored.items() if t > now}

    def _is_ignored(self, rel_path: str) -> bool:
        with self._lock:
            until = self._ignored.get(rel_path)
        return until is not None and until > time.monotonic()

    # ---- events ----------------------------------------------------------------

    def _rel(self, abs_path: str | bytes) -> str | None:
        path = os.fsdecode(abs_path)
        try:
            rel = os.path.relpath(path, self.root)
        except ValueError:
            return None
        if rel == "." or rel.startswith(".."):
            return None
        return rel.replace(os.sep, "/")

    def _relevant(self, abs_path: str | bytes, is_dir: bool = False) -> bool:
        rel = self._rel(abs_path)
        if rel is None:
            return False
        if is_temp_name(rel.rsplit("/", 1)[-1]):
            return False
        skip = self.skip
        if skip is not None and skip(rel, is_dir):
            return False
        return not self._is_ignored(rel)

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.events_seen += 1
        paths = [event.src_path]
        if isinstance(event, (FileMovedEvent, DirMovedEvent)):
            paths.append(event.dest_path)
        if any(self._relevant(p, event.is_directory) for p in paths):
            self._on_change()
        else:
            self.events_ignored += 1
