"""Direct tests of engine pieces that were only covered through whole syncs: the
three-way merge, rename pairing, and conflict-copy names."""

from __future__ import annotations

import hashlib

import pytest

from blobsync.core.engine.merge import OutOfOrder, merge3
from blobsync.core.engine.moves import pair_moves
from blobsync.core.errors import ItemError
from blobsync.core.local.fs import conflict_name
from blobsync.core.models import Action, ActionKind, LocalEntry, RemoteEntry, SnapshotEntry


def snap(path: str, data: bytes = b"x") -> SnapshotEntry:
    return SnapshotEntry(path, len(data), 1, hashlib.md5(data).digest(), f'"e-{path}"')


def loc(path: str, data: bytes = b"x", with_md5: bool = False) -> LocalEntry:
    md5 = hashlib.md5(data).digest() if with_md5 else None
    return LocalEntry(path, len(data), 2, md5=md5)


def rem(path: str, data: bytes = b"x", with_md5: bool = True) -> RemoteEntry:
    md5 = hashlib.md5(data).digest() if with_md5 else None
    return RemoteEntry(path, len(data), f'"r-{path}"', md5=md5)


# ---- merge3 ---------------------------------------------------------------------------


def test_merge3_yields_every_path_once_with_what_each_side_has() -> None:
    rows = list(
        merge3(
            [snap("a"), snap("c"), snap("e")],
            [loc("a"), loc("b"), loc("e")],
            [rem("c"), rem("d"), rem("e")],
        )
    )
    seen = {key: (s is not None, lo is not None, r is not None) for key, s, lo, r in rows}
    assert [key for key, *_ in rows] == ["a", "b", "c", "d", "e"]
    assert seen == {
        "a": (True, True, False),
        "b": (False, True, False),
        "c": (True, False, True),
        "d": (False, False, True),
        "e": (True, True, True),
    }


def test_merge3_of_empty_streams_is_empty_and_code_point_order_is_kept() -> None:
    assert list(merge3([], [], [])) == []
    # "B" < "a" < "é" in code points: the order the listing and the scan both use.
    rows = [k for k, *_ in merge3([], [loc("B"), loc("a"), loc("é")], [rem("a")])]
    assert rows == ["B", "a", "é"]


@pytest.mark.parametrize("which", ["snapshot", "local", "remote"])
def test_merge3_refuses_an_unsorted_stream_rather_than_guess(which: str) -> None:
    streams: dict[str, list] = {"snapshot": [], "local": [], "remote": []}
    make = {"snapshot": snap, "local": loc, "remote": rem}[which]
    streams[which] = [make("b"), make("a")]
    with pytest.raises(OutOfOrder, match=which):
        list(merge3(streams["snapshot"], streams["local"], streams["remote"]))


def test_merge3_refuses_duplicates() -> None:
    with pytest.raises(OutOfOrder):
        list(merge3([], [loc("a"), loc("a")], []))


# ---- pair_moves -----------------------------------------------------------------------


def _delete_remote(path: str, data: bytes) -> Action:
    return Action(
        ActionKind.DELETE_REMOTE,
        path,
        remote=rem(path, data),
        snapshot=snap(path, data),
        if_match=f'"r-{path}"',
    )


def _create(path: str, data: bytes) -> Action:
    return Action(ActionKind.UPLOAD, path, local=loc(path, data))


def test_a_local_rename_becomes_one_server_side_move() -> None:
    data = b"report contents"
    actions = [_delete_remote("old.txt", data), _create("new.txt", data)]
    moved = pair_moves(actions, lambda entry: hashlib.md5(data).digest())
    assert [(a.kind, a.rel_path) for a in moved] == [(ActionKind.MOVE_REMOTE, "new.txt")]
    move = moved[0]
    assert move.snapshot is not None and move.snapshot.rel_path == "old.txt"
    assert move.if_match == '"r-old.txt"'  # the copy is pinned to the old blob


def test_different_content_or_an_unreadable_file_is_not_a_move() -> None:
    actions = [_delete_remote("old.txt", b"aaaa"), _create("new.txt", b"bbbb")]
    assert pair_moves(actions, lambda e: hashlib.md5(b"bbbb").digest()) == actions
    assert pair_moves(actions, lambda e: None) == actions


def test_ambiguous_copies_pair_one_each_and_leave_the_rest() -> None:
    data = b"same"
    actions = [
        _delete_remote("a.txt", data),
        _create("x.txt", data),
        _create("y.txt", data),
    ]
    moved = pair_moves(actions, lambda e: hashlib.md5(data).digest())
    kinds = sorted((a.kind.value, a.rel_path) for a in moved)
    assert kinds == [("move_remote", "x.txt"), ("upload", "y.txt")]


def test_a_remote_rename_becomes_a_local_move_only_with_a_content_md5() -> None:
    data = b"photo"
    gone = Action(
        ActionKind.DELETE_LOCAL,
        "old.jpg",
        local=loc("old.jpg", data),
        snapshot=snap("old.jpg", data),
    )
    new = Action(ActionKind.DOWNLOAD, "new.jpg", remote=rem("new.jpg", data))
    moved = pair_moves([gone, new], lambda e: None)
    assert [(a.kind, a.rel_path) for a in moved] == [(ActionKind.MOVE_LOCAL, "new.jpg")]
    no_md5 = Action(ActionKind.DOWNLOAD, "new.jpg", remote=rem("new.jpg", data, with_md5=False))
    assert pair_moves([gone, no_md5], lambda e: None) == [gone, no_md5]


# ---- conflict_name --------------------------------------------------------------------


def test_conflict_names_keep_the_folder_and_the_extension() -> None:
    never = lambda _p: False  # noqa: E731
    assert (
        conflict_name("docs/report.txt", "laptop", "2026-12-01 101500", never)
        == "docs/report (conflict from laptop 2026-12-01 101500).txt"
    )
    assert (
        conflict_name(".bashrc", "pc", "2026-12-01 101500", never)
        == ".bashrc (conflict from pc 2026-12-01 101500)"
    )
    assert (
        conflict_name("Makefile", "pc", "2026-12-01 101500", never)
        == "Makefile (conflict from pc 2026-12-01 101500)"
    )


def test_conflict_names_are_unique_and_hostile_hosts_are_cleaned() -> None:
    taken = {"a (conflict from pc 2026-12-01 101500).txt"}
    name = conflict_name("a.txt", "pc", "2026-12-01 101500", taken.__contains__)
    assert name == "a (conflict from pc 2026-12-01 101500 2).txt"
    weird = conflict_name("a.txt", "../../evil/\x00host", "2026-12-01 101500", lambda _p: False)
    assert weird == "a (conflict from ....evilhost 2026-12-01 101500).txt"  # one segment
    assert (
        conflict_name("a.txt", "///", "t", lambda _p: False)
        == "a (conflict from this computer t).txt"
    )


def test_long_names_stay_within_the_file_system_limit() -> None:
    name = conflict_name("d/" + "é" * 200 + ".txt", "pc", "2026-12-01 101500", lambda _p: False)
    assert len(name.rpartition("/")[2].encode()) <= 255
    with pytest.raises(ItemError):
        conflict_name("a.txt", "pc", "t", lambda _p: True)  # no free name at all
