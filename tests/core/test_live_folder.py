"""The live loop and a folder that goes away (moved, deleted, a drive unmounted): it is
noticed at the next poll, said once, no sync runs until it is back, and then one does."""

from __future__ import annotations

from pathlib import Path

from blobsync.core import events as ev
from blobsync.core.app.live import LivePair


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_moved_folder_stops_the_loop_until_it_is_back(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    seen: list[ev.Event] = []
    clock = Clock()
    live = LivePair(root, events=seen.append, interval_s=60, watch=False, clock=clock)
    first = live.poll()
    assert first.run is not None and first.missing_now is None
    live.started()
    live.finished(True)

    root.rename(tmp_path / "elsewhere")
    step = live.poll()
    assert step.missing_now is True and step.run is None and live.folder_missing
    assert [e for e in seen if isinstance(e, ev.FolderStatus)] == [
        ev.FolderStatus(
            False,
            f"The folder {root} is missing (moved, deleted, or a drive not mounted); "
            "nothing syncs until it is back.",
        )
    ]
    clock.now += 3600  # long past the next periodic check
    live.request()  # even the user asking
    for _ in range(3):
        step = live.poll()
        assert step.run is None and step.missing_now is None  # said once
    (tmp_path / "elsewhere").rename(root)
    step = live.poll()
    assert step.missing_now is False and step.run is not None
    assert seen[-1] == ev.FolderStatus(True, f"The folder {root} is back.")
    live.close()


def test_a_folder_missing_from_the_start_is_said_and_waited_for(tmp_path: Path) -> None:
    root = tmp_path / "not-mounted"
    seen: list[ev.Event] = []
    live = LivePair(root, events=seen.append, watch=False, clock=Clock())
    step = live.poll()
    assert step.run is None and step.missing_now is True
    assert not any(isinstance(e, ev.WatcherStatus) for e in seen)  # not "cannot watch"
    root.mkdir()
    assert live.poll().run is not None
    live.close()
