"""Restore and undo: put previous versions back, from either side's bin, as a run of its own.

Both work in two steps under the pair's lock. First the engine puts each version back
on the side that keeps it: a local version (versions folder) is copied back into the
folder; a container version (the bin under ``.blobsync/trash/``, or the account's own
blob versions) is copied back server-side over the blob, pinned to the blob's ETag
(create-only when there is none). Whatever that replaces goes to its bin first. Then an
ordinary sync of the pair carries the change to the other side (uploads If-Match,
downloads after a re-check), so a restore reaches every other machine like any change,
with this machine as its writer, and the history records both steps under one run.

Undo reverses one run's changes item by item: what it deleted comes back, what it
replaced gets its previous version back, what it brought (new files) goes to the bins.
An item is only touched if it is still exactly as the run left it on both sides (content
MD5 locally, ETag remotely); otherwise it becomes an issue and the rest is undone.
Conflicts the run kept both of are left to the conflict center (both versions exist).

Mirror modes: in an upload-only pair the folder is the source, so a version put back in
the container is brought into the folder as well (the replaced file to the versions
folder), or the pair's own sync would upload the folder's file over it again. A
download-only pair never writes to the container and its folder mirrors it, so restore
and undo are refused there with a sentence saying where the versions are kept.
"""

from __future__ import annotations

import contextlib
import enum
import os
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..crashpoints import crash_point
from ..errors import BlobNotFound, ItemError
from ..local import fs
from ..models import BinReason, Issue, IssueKind, RemoteEntry, SyncMode, SyncResult, Writer
from ..names import is_reserved
from ..remote.blobmeta import metadata_for
from .history import Change, ChangeKind, RunKind

if TYPE_CHECKING:
    from .facade import SyncEngine, SyncOptions


class VersionSource(enum.StrEnum):
    """Where a previous version is kept."""

    LOCAL_BIN = "local"  # the pair's versions folder
    CONTAINER_BIN = "container"  # .blobsync/trash/ in the container
    AZURE_VERSION = "azure_version"  # the account's blob versioning


@dataclass(frozen=True, slots=True)
class FileVersion:
    """A previous version of one file that can be restored."""

    source: VersionSource
    version_id: str  # versions-folder id, bin blob name, or Azure version id
    rel_path: str
    size: int
    md5: bytes | None
    mtime_ns: int | None
    kept_at: float  # when it stopped being current (epoch seconds)
    reason: BinReason | None = None
    writer: Writer | None = None  # who wrote this version, when known
    removed_by: Writer | None = None  # who deleted or replaced it, when known
    run_id: str = ""


@dataclass
class RecoveryResult:
    """What a restore or an undo did (or, on a dry run, would do)."""

    run_id: str = ""
    restored: list[str] = field(default_factory=list)  # paths given a previous version
    removed: list[str] = field(default_factory=list)  # paths taken away (to the bins)
    issues: list[Issue] = field(default_factory=list)  # items left alone, and why
    skipped_conflicts: list[str] = field(default_factory=list)  # kept-both items
    dry_run: bool = False
    sync: SyncResult | None = None  # the sync that carried it to the other side


@dataclass(frozen=True, slots=True)
class SideInfo:
    """One side of a conflict."""

    rel_path: str  # where this version is (ours: the conflict copy)
    size: int
    mtime_ns: int | None
    writer: Writer | None  # ours: this machine; theirs: the blob's writer (None: other app)
    present: bool = True


@dataclass(frozen=True, slots=True)
class ConflictSides:
    """Both versions of one conflict, for the conflict center."""

    rel_path: str
    mine: SideInfo | None  # None if the conflict copy is gone
    theirs: SideInfo
    synced: bool  # theirs is recorded as synced here
    found_at: float | None = None  # when the sync kept both (epoch seconds; the history)
    mine_synced: bool = False  # the conflict copy is recorded as synced (uploaded) too


def _local_side(root: Path, rel_path: str, writer: Writer | None) -> SideInfo | None:
    try:
        st = os.lstat(fs.confined_path(root, rel_path, make_parents=False))
    except (OSError, ItemError):
        return None
    return SideInfo(rel_path, st.st_size, st.st_mtime_ns, writer)


def _changed(rel_path: str, what: str) -> Issue:
    return Issue(
        rel_path,
        IssueKind.CONCURRENT_CHANGE,
        f"Not restored: {what} since; nothing was overwritten.",
    )


class Recovery:
    """Restore and undo for one engine (see the module docstring)."""

    def __init__(self, engine: SyncEngine) -> None:
        self.engine = engine

    # ---- listing -------------------------------------------------------------------

    def versions(self, rel_path: str | None = None, remote: bool = True) -> list[FileVersion]:
        """Previous versions (of one path, when given), newest first, from the local
        versions folder and, with ``remote``, the container's bin or the account's
        blob versions. Raises FatalError (listing the container failed)."""
        out = [
            FileVersion(
                VersionSource.LOCAL_BIN,
                v.version_id,
                v.rel_path,
                v.size,
                v.md5,
                v.mtime_ns,
                v.kept_at,
                v.reason,
                v.writer,
                None,
                v.run_id,
            )
            for v in self.engine.versions_folder.versions(rel_path)
        ]
        if remote:
            for entry in self.engine.container_bin().entries(rel_path):
                out.append(
                    FileVersion(
                        VersionSource.CONTAINER_BIN,
                        entry.blob_name,
                        entry.rel_path,
                        entry.size,
                        entry.md5,
                        entry.mtime_ns,
                        entry.trashed_at,
                        entry.reason,
                        entry.original_writer,
                        entry.trashed_by,
                        entry.run_id,
                    )
                )
            if rel_path is not None and self.engine.protection().versioning:
                for version in self.engine.store.list_versions(rel_path):
                    if version.is_current:
                        continue
                    out.append(
                        FileVersion(
                            VersionSource.AZURE_VERSION,
                            version.version_id,
                            rel_path,
                            version.size,
                            version.md5,
                            version.mtime_ns,
                            version.created,
                            None,
                            version.writer,
                        )
                    )
        out.sort(key=lambda v: v.kept_at, reverse=True)
        return out

    # ---- restore -------------------------------------------------------------------

    def restore(
        self,
        rel_path: str,
        version: FileVersion | None = None,
        options: SyncOptions | None = None,
        dry_run: bool = False,
    ) -> RecoveryResult:
        """Put ``version`` (default: the newest previous version) of ``rel_path`` back,
        then sync it to the other side. What it replaces goes to a bin first. Raises
        ItemError (no such version, or the name is not one BlobSync syncs), FatalError."""
        from .facade import SyncOptions

        options = options or SyncOptions()
        self._refuse_mirror_of_container(options)
        if is_reserved(rel_path):
            raise ItemError(
                "That name is BlobSync's own and is never synced.", IssueKind.NAME_NOT_ALLOWED
            )
        if version is None:
            found = self.versions(rel_path)
            if not found:
                raise ItemError("No previous version of this file is kept.", IssueKind.VANISHED)
            version = found[0]
        if version.rel_path != rel_path:
            raise ItemError("That version belongs to another file.", IssueKind.NAME_NOT_ALLOWED)
        result = RecoveryResult(dry_run=dry_run, restored=[rel_path])
        if dry_run:
            return result
        engine = self.engine
        with engine._pair_lock():
            writer = engine.writer(options)
            result.run_id = engine.history.start_run(engine.pair_id, RunKind.RESTORE, writer)
            try:
                try:
                    self._put_back(version, result.run_id, writer, options.mode)
                except ItemError as exc:
                    result.restored = []
                    result.issues.append(Issue(rel_path, exc.kind, exc.message))
                result.sync = engine._sync_as(RunKind.RESTORE, options, run_id=result.run_id)
            finally:
                engine.history.finish_run(result.run_id)  # also when the sync stopped
        return result

    def _refuse_mirror_of_container(self, options: SyncOptions) -> None:
        """Restore and undo would be reverted by a download-only pair's next sync (its
        folder mirrors the container, which it never writes to). Raises ItemError."""
        if options.mode is SyncMode.DOWNLOAD:
            raise ItemError(
                "This pair only downloads: its folder mirrors the container, so a restored "
                "version would be replaced by the container's at the next sync. Previous "
                f"versions of its files are kept in {self.engine.versions_folder.folder}; "
                "make the pair two-way to restore them here.",
                IssueKind.NAME_NOT_ALLOWED,
            )

    def _put_back(self, version: FileVersion, run_id: str, writer: Writer, mode: SyncMode) -> None:
        if version.source is VersionSource.LOCAL_BIN:
            local = self.engine.versions_folder.get(version.version_id)
            if local is None:
                raise ItemError(
                    "That version is no longer in the versions folder.", IssueKind.VANISHED
                )
            self._write_local(version.rel_path, local.data_path, local.mtime_ns, run_id, writer)
        else:
            current = self.engine.store.get_entry(version.rel_path)
            self._restore_remote(version, current, run_id, writer, mode)

    def _restore_remote(
        self,
        version: FileVersion,
        current: RemoteEntry | None,
        run_id: str,
        writer: Writer,
        mode: SyncMode,
    ) -> None:
        """Put a container version back over the blob; in an upload-only pair, into the
        folder too (the folder is what the pair's sync mirrors). Raises ItemError."""
        etag = self._copy_remote(version, current, run_id, writer)
        if mode is not SyncMode.UPLOAD:
            return
        engine = self.engine
        rel_path = version.rel_path
        target = fs.confined_path(engine.local_root, rel_path, make_parents=True)
        absent = fs.local_state(target) is None
        tmp, fh = fs.open_temp_beside(target)
        try:
            with fh:
                engine.store.download(rel_path, etag, fh)
            self._write_local(rel_path, tmp, version.mtime_ns, run_id, writer, expect_absent=absent)
        except OSError as exc:
            raise fs.item_error(exc, rel_path, "restoring it") from None
        finally:
            tmp.unlink(missing_ok=True)

    def _write_local(
        self,
        rel_path: str,
        source: Path,
        mtime_ns: int | None,
        run_id: str,
        writer: Writer,
        expect_absent: bool = False,
    ) -> None:
        """Copy ``source`` to ``rel_path`` in the folder: through a temp file beside it,
        the current file (if any) kept in the versions folder first, then an atomic
        replace (or a create-only link when ``expect_absent``). Raises ItemError."""
        engine = self.engine
        target = fs.confined_path(engine.local_root, rel_path, make_parents=True)
        self._notify(rel_path)
        tmp, fh = fs.open_temp_beside(target)
        try:
            with fh, open(source, "rb") as src:
                shutil.copyfileobj(src, fh, fs.CHUNK)
                fh.flush()
                os.fsync(fh.fileno())
            if mtime_ns is not None:
                fs.set_mtime(tmp, mtime_ns)
            kept = None
            if expect_absent:
                try:
                    os.link(tmp, target)  # create-only: fails if something appeared
                except FileExistsError:
                    raise ItemError(
                        "Not restored: a file of that name appeared since; nothing was overwritten.",
                        IssueKind.CONCURRENT_CHANGE,
                    ) from None
                tmp.unlink()
            else:
                if fs.local_state(target) is not None:
                    kept = engine.versions_folder.keep(
                        target, rel_path, move=False, reason=BinReason.REPLACED, run_id=run_id
                    ).version_id
                crash_point("restore_after_keep")
                os.replace(tmp, target)
        except OSError as exc:
            raise fs.item_error(exc, rel_path, "restoring it") from None
        finally:
            tmp.unlink(missing_ok=True)
        st = os.lstat(target)
        engine.history.record(
            Change(
                run_id,
                engine.pair_id,
                0.0,
                ChangeKind.RESTORED,
                rel_path,
                st.st_size,
                writer,
                local_bin=kept,
                after_md5=fs.md5_file(target),
                after_mtime_ns=st.st_mtime_ns,
            )
        )

    def _copy_remote(
        self,
        version: FileVersion,
        current: RemoteEntry | None,
        run_id: str,
        writer: Writer,
    ) -> str:
        """Server-side copy of a kept version over the blob (If-Match its current ETag,
        create-only when absent); the current blob goes to the bin first. Returns the
        blob's new ETag. Raises ItemError (PreconditionFailed when the blob changed
        meanwhile)."""
        engine = self.engine
        store = engine.store
        kept = None
        if current is not None and not engine.protection().versioning:
            kept = engine.container_bin().keep(current, BinReason.REPLACED, run_id, writer)
        if version.source is VersionSource.AZURE_VERSION:
            source, source_etag, source_version = version.rel_path, None, version.version_id
        else:
            source, source_etag, source_version = version.version_id, None, None
            bin_entry = store.get_entry(version.version_id)
            if bin_entry is None:
                raise ItemError(
                    "That version is no longer in the container's bin.", IssueKind.VANISHED
                )
            source_etag = bin_entry.etag
        # a version without an mtime (another app wrote it) is restored as written now
        mtime = version.mtime_ns if version.mtime_ns is not None else time.time_ns()
        try:
            copied = store.copy(
                source,
                version.rel_path,
                source_etag,
                metadata=metadata_for(mtime, writer),
                target_if_match=current.etag if current is not None else None,
                source_version=source_version,
            )
        except BlobNotFound:
            raise ItemError(
                "That version is no longer in the container.", IssueKind.VANISHED
            ) from None
        crash_point("restore_after_copy")
        engine.history.record(
            Change(
                run_id,
                engine.pair_id,
                0.0,
                ChangeKind.RESTORED_REMOTE,
                version.rel_path,
                version.size,
                writer,
                remote_bin=kept,
                before_md5=current.md5 if current is not None else None,
                after_md5=version.md5,
                after_etag=copied.etag,
            )
        )
        return copied.etag

    def _notify(self, rel_path: str) -> None:
        notify = self.engine.on_local_write
        if notify is not None:
            notify(rel_path)

    # ---- conflict center -------------------------------------------------------------

    def conflict_sides(self, rel_path: str, offline: bool = False) -> ConflictSides | None:
        """Both versions of a pending conflict (see :class:`ConflictSides`). Online,
        theirs is the blob as it is now (one request); ``offline``, it is the local file
        the sync downloaded, with the writer the history recorded for it then."""
        issue = next(
            (i for i in self.engine.state.issues() if i.rel_path == rel_path and i.conflict_copy),
            None,
        )
        if issue is None or issue.conflict_copy is None:
            return None
        # The history's record of the conflict: when, and who wrote each side.
        found = self.engine.history.changes(
            pair=self.engine.pair_id, kinds=[ChangeKind.CONFLICT], rel_path=rel_path, limit=1
        )
        record = found[0] if found else None
        ours = self.engine.writer()
        if offline and record is not None and record.other is not None:
            # an offline engine has not run: the machine name is the one of that run
            ours = Writer(record.other.machine, ours.installation_id)
        mine = _local_side(self.engine.local_root, issue.conflict_copy, ours)
        local_theirs = _local_side(self.engine.local_root, rel_path, None)
        synced = self.engine.state.get_snapshot(rel_path)
        found_at = record.time if record is not None else None
        copy_synced = self.engine.state.get_snapshot(issue.conflict_copy) is not None
        if offline:
            theirs = SideInfo(
                rel_path,
                local_theirs.size if local_theirs else 0,
                local_theirs.mtime_ns if local_theirs else None,
                record.writer if record is not None else None,
                local_theirs is not None,
            )
            return ConflictSides(rel_path, mine, theirs, synced is not None, found_at, copy_synced)
        remote = self.engine.store.get_entry(rel_path)
        theirs = SideInfo(
            rel_path,
            remote.size if remote else (local_theirs.size if local_theirs else 0),
            remote.mtime_ns
            if remote and remote.mtime_ns is not None
            else (local_theirs.mtime_ns if local_theirs else None),
            remote.writer if remote else None,
            remote is not None,
        )
        return ConflictSides(rel_path, mine, theirs, synced is not None, found_at, copy_synced)

    # ---- undo ----------------------------------------------------------------------

    def undo(
        self, run_id: str, options: SyncOptions | None = None, dry_run: bool = False
    ) -> RecoveryResult:
        """Reverse everything run ``run_id`` changed (see the module docstring), then
        sync. Items changed since become issues. Raises ItemError (unknown run),
        FatalError."""
        from .facade import SyncOptions

        options = options or SyncOptions()
        self._refuse_mirror_of_container(options)
        engine = self.engine
        run = engine.history.run(run_id)
        if run is None or run.pair != engine.pair_id:
            raise ItemError("No run with that id is recorded for this pair.", IssueKind.VANISHED)
        changes = engine.history.changes(run_id=run_id, limit=1_000_000)  # newest first
        result = RecoveryResult(dry_run=dry_run)
        with engine._pair_lock():
            listed = self._current_blobs(
                {c.rel_path for c in changes} | {c.old_path for c in changes if c.old_path}
            )
            writer = engine.writer(options)
            if not dry_run:
                result.run_id = engine.history.start_run(
                    engine.pair_id, RunKind.UNDO, writer, undoes=run_id
                )
            try:
                self._undo_all(changes, listed, writer, result, options)
            finally:
                if result.run_id:
                    engine.history.finish_run(result.run_id)  # also when the sync stopped
        return result

    def _undo_all(
        self,
        changes: list[Change],
        listed: dict[str, RemoteEntry],
        writer: Writer,
        result: RecoveryResult,
        options: SyncOptions,
    ) -> None:
        engine = self.engine
        for change in changes:
            try:
                self._undo_one(change, listed, writer, result, options.mode)
            except ItemError as exc:
                result.issues.append(Issue(change.rel_path, exc.kind, exc.message))
        # a run may touch one path twice (the local and the remote half of a change)
        result.restored = list(dict.fromkeys(result.restored))
        result.removed = [p for p in dict.fromkeys(result.removed) if p not in result.restored]
        if result.dry_run:
            return
        sync_options = options
        if result.removed:
            # the deletions this sync sends are the ones the user asked for
            sync_options = replace(options, allow_mass_delete=True)
        result.sync = engine._sync_as(
            RunKind.UNDO, sync_options, run_id=result.run_id, issues=list(result.issues)
        )

    def _current_blobs(self, paths: set[str]) -> dict[str, RemoteEntry]:
        """The current blobs of ``paths``: one listing for many, a request each for few."""
        store = self.engine.store
        if len(paths) <= 20:
            found = {p: store.get_entry(p) for p in paths if not is_reserved(p)}
            return {p: e for p, e in found.items() if e is not None}
        return {e.rel_path: e for e in store.list_blobs() if e.rel_path in paths}

    def _local_md5(self, rel_path: str) -> bytes | None:
        path = fs.confined_path(self.engine.local_root, rel_path, make_parents=False)
        try:
            if fs.local_state(path) is None:
                return None
            return fs.md5_file(path)
        except OSError as exc:
            raise fs.item_error(exc, rel_path, "checking it") from None

    def _as_left(self, change: Change, listed: dict[str, RemoteEntry]) -> None:
        """Raise ItemError unless the item is still as ``change`` left it, both sides."""
        rel = change.rel_path
        if self._local_md5(rel) != change.after_md5:
            raise ItemError(
                _changed(rel, "the file changed here").message, IssueKind.CONCURRENT_CHANGE
            )
        blob = listed.get(rel)
        if change.after_md5 is None:
            left = blob is None
        else:  # the same blob, or one with the same content (a touched mtime)
            left = blob is not None and (
                blob.etag == change.after_etag or blob.md5 == change.after_md5
            )
        if not left:
            raise ItemError(
                _changed(rel, "it changed in the container").message, IssueKind.CONCURRENT_CHANGE
            )

    def _undo_one(
        self,
        change: Change,
        listed: dict[str, RemoteEntry],
        writer: Writer,
        result: RecoveryResult,
        mode: SyncMode = SyncMode.TWO_WAY,
    ) -> None:
        kind, rel = change.kind, change.rel_path
        if kind is ChangeKind.CONFLICT:
            result.skipped_conflicts.append(rel)
            return
        if kind in (ChangeKind.REMOVED,) and change.local_bin:
            # undoing an undo's removal: bring the file back
            kind = ChangeKind.DELETED_LOCAL
        if kind in (ChangeKind.MOVED_LOCAL, ChangeKind.MOVED_REMOTE):
            self._undo_move(change, listed, result)
            return
        if kind in (ChangeKind.DELETED_LOCAL, ChangeKind.DELETED_REMOTE):
            after = replace(change, after_md5=None, after_etag=None)
            self._as_left(after, listed)
        else:
            self._as_left(change, listed)
        if result.dry_run:
            if change.local_bin or change.remote_bin or kind is ChangeKind.DELETED_REMOTE:
                result.restored.append(rel)
            else:
                result.removed.append(rel)
            return
        if change.local_bin:
            local = self.engine.versions_folder.get(change.local_bin)
            if local is None:
                raise ItemError(
                    "Its previous version is no longer in the versions folder.", IssueKind.VANISHED
                )
            self._write_local(
                rel,
                local.data_path,
                local.mtime_ns,
                result.run_id,
                writer,
                expect_absent=kind is ChangeKind.DELETED_LOCAL,
            )
            result.restored.append(rel)
        elif change.remote_bin:
            bin_entry = self.engine.store.get_entry(change.remote_bin)
            if bin_entry is None:
                raise ItemError(
                    "Its previous version is no longer in the container's bin.", IssueKind.VANISHED
                )
            version = FileVersion(
                VersionSource.CONTAINER_BIN,
                change.remote_bin,
                rel,
                bin_entry.size,
                bin_entry.md5,
                bin_entry.mtime_ns,
                0.0,
            )
            self._restore_remote(version, listed.get(rel), result.run_id, writer, mode)
            result.restored.append(rel)
        elif change.before_md5 is not None and kind in (
            ChangeKind.UPLOADED,
            ChangeKind.DELETED_REMOTE,
            ChangeKind.CONFLICT_RESOLVED,
            ChangeKind.RESTORED_REMOTE,
        ):
            # replaced or deleted without a bin copy: the account's versions keep it
            version = self._azure_version(rel, change.before_md5)
            self._restore_remote(version, listed.get(rel), result.run_id, writer, mode)
            result.restored.append(rel)
        else:
            self._remove_local(rel, result.run_id, writer)
            result.removed.append(rel)

    def _azure_version(self, rel_path: str, md5: bytes) -> FileVersion:
        if self.engine.protection().versioning:
            for version in self.versions(rel_path):
                if version.source is VersionSource.AZURE_VERSION and version.md5 == md5:
                    return version
        raise ItemError("Its previous version is not kept anywhere.", IssueKind.VANISHED)

    def _remove_local(self, rel_path: str, run_id: str, writer: Writer) -> None:
        """Take away a file the undone run brought: to the versions folder (the sync
        then deletes its blob, into the container bin)."""
        engine = self.engine
        path = fs.confined_path(engine.local_root, rel_path, make_parents=False)
        self._notify(rel_path)
        try:
            version = engine.versions_folder.keep(
                path, rel_path, move=True, reason=BinReason.DELETED, run_id=run_id
            )
        except FileNotFoundError:
            return
        except OSError as exc:
            raise fs.item_error(exc, rel_path, "removing it") from None
        fs.remove_empty_parents(engine.local_root, rel_path)
        engine.history.record(
            Change(
                run_id,
                engine.pair_id,
                0.0,
                ChangeKind.REMOVED,
                rel_path,
                version.size,
                writer,
                local_bin=version.version_id,
                before_md5=version.md5,
            )
        )

    def _undo_move(
        self, change: Change, listed: dict[str, RemoteEntry], result: RecoveryResult
    ) -> None:
        """A rename is undone by renaming back here; the sync repeats it remotely."""
        rel, old = change.rel_path, change.old_path
        assert old is not None
        self._as_left(change, listed)
        old_path = fs.confined_path(self.engine.local_root, old, make_parents=True)
        if fs.local_state(old_path) is not None or old in listed:
            raise ItemError(
                _changed(old, "a file took its old name").message, IssueKind.CONCURRENT_CHANGE
            )
        result.restored.append(old)
        if result.dry_run:
            return
        source = fs.confined_path(self.engine.local_root, rel, make_parents=False)
        self._notify(rel)
        self._notify(old)
        try:
            os.link(source, old_path)
            os.unlink(source)
        except OSError as exc:
            raise fs.item_error(exc, old, "renaming it back") from None
        with contextlib.suppress(OSError):
            fs.remove_empty_parents(self.engine.local_root, rel)
