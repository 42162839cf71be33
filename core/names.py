"""Which names are allowed where: container names, blob names, local file names.

Azure's rules (docs: "Naming and Referencing Containers, Blobs, and Metadata"):
container names 3–63 characters of lowercase letters, digits and single hyphens,
starting and ending with a letter or digit; blob names 1–1,024 characters, at most
254 path segments, and no trailing dot or slash. Azurite is laxer, so we check here.
A blob name must also map to a path *inside* the sync folder and be a valid file name
on this OS; anything else is never written and becomes an issue.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from collections.abc import Iterable

MAX_BLOB_NAME = 1024
MAX_SEGMENTS = 254
MAX_SEGMENT_BYTES = 255  # NAME_MAX on Linux/macOS file systems

#: BlobSync's own space inside a pair's part of a container (change beacon, recycle bin,
#: ...), relative to the pair's root. It is never synced as a file, on either side, by
#: any BlobSync client; a local folder of this name at the root is left alone too.
RESERVED_DIR = ".blobsync"

_CONTAINER_RE = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)
}
_WINDOWS_BAD_CHARS = set('<>:"|?*')


def container_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid container name, or None if it is."""
    if not 3 <= len(name) <= 63:
        return "A container name must be 3 to 63 characters long."
    if name != name.lower():
        return "A container name may only use lowercase letters."
    if not _CONTAINER_RE.match(name):
        if name.startswith("-") or name.endswith("-"):
            return "A container name must start and end with a letter or digit."
        if "--" in name:
            return "A container name may not contain two hyphens in a row."
        return "A container name may only use lowercase letters, digits and hyphens."
    return None


def blob_name_problem(name: str, prefix: str = "") -> str | None:
    """Why Azure cannot store a blob of this name (as we send it), or None.

    ``prefix`` is the pair's path inside the container (:func:`normalize_prefix`): Azure's
    limits apply to the whole blob name, path included.
    """
    if not name:
        return "An empty name cannot be stored."
    if prefix:
        full = prefix + name
        if len(full) > MAX_BLOB_NAME:
            return (
                f"With the container path '{prefix}' the name is {len(full)} characters "
                f"long; Azure allows at most {MAX_BLOB_NAME}."
            )
        parts = full.count("/") + 1
        if parts > MAX_SEGMENTS:
            return (
                f"With the container path '{prefix}' the name has {parts} path segments; "
                f"Azure allows at most {MAX_SEGMENTS}."
            )
    if len(name) > MAX_BLOB_NAME:
        return f"The name is {len(name)} characters long; Azure allows at most {MAX_BLOB_NAME}."
    if _CONTROL_RE.search(name):
        return "The name contains a control character, which Azure cannot store."
    if "\\" in name:
        return "The name contains a backslash, which Azure would turn into a folder separator."
    if name.endswith((".", "/")):
        return "Azure does not allow a name ending with a dot or a slash."
    segments = name.split("/")
    if len(segments) > MAX_SEGMENTS:
        return f"The name has {len(segments)} path segments; Azure allows at most {MAX_SEGMENTS}."
    if any(seg in ("", ".", "..") for seg in segments):
        return "The name has an empty, '.' or '..' path segment."
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "The name is not valid Unicode (undecodable bytes on disk)."
    return None


def local_path_problem(blob_name: str, windows: bool | None = None) -> str | None:
    """Why this blob name must not become a local file under the sync folder, or None.

    Rejects everything that could land outside the folder (``..``, absolute paths,
    backslashes, drive letters, look-alike dots that normalise to ``..``) and names
    this OS cannot hold.
    """
    if windows is None:
        windows = sys.platform == "win32"
    if not blob_name or blob_name.startswith("/"):
        return "The blob name is absolute or empty and would land outside the folder."
    if "\\" in blob_name:
        return "The blob name contains a backslash and could land outside the folder."
    if _DRIVE_RE.match(blob_name):
        return "The blob name starts with a drive letter."
    if "\x00" in blob_name or _CONTROL_RE.search(blob_name):
        return "The blob name contains a control character."
    for seg in blob_name.split("/"):
        if seg in ("", ".", ".."):
            return (
                "The blob name has an empty, '.' or '..' path segment and could escape the folder."
            )
        if unicodedata.normalize("NFKC", seg) in (".", ".."):
            return "The blob name has a segment that looks like '..' (look-alike dots)."
        if len(os.fsencode(seg)) > MAX_SEGMENT_BYTES:
            return "A part of the blob name is longer than this file system allows (255 bytes)."
        if windows:
            stem = seg.split(".")[0].upper()
            if stem in _WINDOWS_RESERVED:
                return f"'{seg}' is a reserved name on Windows."
            if any(c in _WINDOWS_BAD_CHARS for c in seg) or seg.endswith((" ", ".")):
                return f"'{seg}' is not a valid file name on Windows."
    return None


def normalize_prefix(path: str) -> str:
    """A pair's path inside its container as blob names carry it: no leading slash, one
    trailing slash (``"projects/x/"``), or ``""`` for the whole container. The trailing
    slash keeps ``projects/x`` from also meaning ``projects/xy``. Does not validate
    (:func:`prefix_problem` does)."""
    path = path.strip("/")
    return path + "/" if path else ""


def prefix_problem(path: str) -> str | None:
    """Why ``path`` cannot be a pair's path inside a container, or None ("" = the whole
    container is fine)."""
    prefix = normalize_prefix(path)
    if not prefix:
        return None
    if "\\" in prefix:
        return "A container path uses '/' between its parts, not '\\'."
    if _CONTROL_RE.search(prefix):
        return "A container path cannot contain control characters."
    segments = prefix[:-1].split("/")
    if any(seg in ("", ".", "..") for seg in segments):
        return "A container path has no empty, '.' or '..' parts."
    if RESERVED_DIR in segments:
        return f"'{RESERVED_DIR}' is BlobSync's own space and cannot be part of a container path."
    if len(prefix) >= MAX_BLOB_NAME:
        return f"A container path must be shorter than {MAX_BLOB_NAME} characters."
    if len(segments) >= MAX_SEGMENTS:
        return f"A container path must have fewer than {MAX_SEGMENTS} parts."
    return None


def prefix_overlap_problem(
    container: str, prefix: str, existing: Iterable[tuple[str, str]]
) -> str | None:
    """Why a new pair on ``container`` at ``prefix`` would share blobs with a pair that
    already exists, or None. ``existing``: (container, prefix) of the other pairs on the
    same storage account. Two pairs overlap when one's path lies inside the other's (the
    whole container, ``""``, contains every path): both would sync the same blobs from
    two folders."""
    new = normalize_prefix(prefix)
    for other_container, other_prefix in existing:
        if other_container != container:
            continue
        old = normalize_prefix(other_prefix)
        if new == old:
            return (
                f"Another folder already syncs with {_where(container, new)}; "
                "two folders on the same path would overwrite each other's files."
            )
        if new.startswith(old):
            return (
                f"{_where(container, new)} lies inside {_where(container, old)}, which "
                "another folder already syncs; choose a path outside it."
            )
        if old.startswith(new):
            return (
                f"{_where(container, new)} contains {_where(container, old)}, which another "
                "folder already syncs; choose a path that does not contain it."
            )
    return None


def _where(container: str, prefix: str) -> str:
    if not prefix:
        return f"the whole container '{container}'"
    return f"'{container}/{prefix[:-1]}'"


def is_reserved(rel_path: str) -> bool:
    """True for names in BlobSync's own space (:data:`RESERVED_DIR`)."""
    return rel_path.startswith(RESERVED_DIR) and (
        len(rel_path) == len(RESERVED_DIR) or rel_path[len(RESERVED_DIR)] == "/"
    )


def fold_key(rel_path: str) -> str:
    """The key under which two names count as the same on case-insensitive or
    normalising file systems (macOS, Windows): NFC + casefold."""
    return unicodedata.normalize("NFC", rel_path).casefold()
