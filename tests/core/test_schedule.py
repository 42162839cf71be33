"""The debounce/poll rules, on a fake clock."""

from __future__ import annotations

from blobsync.core.app.schedule import SyncSchedule


def test_first_sync_is_due_at_once_then_every_interval():
    s = SyncSchedule(interval_s=60)
    assert s.due(0.0) == (True, 0.0, "poll")
    s.started()
    s.finished(1.0, ok=True)
    run, wait, _ = s.due(2.0)
    assert not run and wait == 59.0
    assert s.due(61.0)[2] == "poll"


def test_burst_of_changes_is_one_sync_after_quiet():
    s = SyncSchedule(interval_s=300, debounce_s=2, max_delay_s=30)
    s.started()
    s.finished(0.0, ok=True)
    for t in range(10):  # a change every 0.5 s for 5 s
        s.changed(t * 0.5)
        assert not s.due(t * 0.5)[0]
    assert not s.due(6.0)[0]  # 1.5 s after the last change
    assert s.due(6.6) == (True, 0.0, "change")


def test_continuous_changes_cannot_starve_the_sync():
    s = SyncSchedule(interval_s=300, debounce_s=2, max_delay_s=10)
    s.started()
    s.finished(0.0, ok=True)
    t = 0.0
    while t < 10.0:
        s.changed(t)
        t += 0.5
    assert s.due(10.0)[0]


def test_failure_retries_sooner_and_request_wins():
    s = SyncSchedule(interval_s=300, retry_s=30)
    s.started()
    s.finished(0.0, ok=False)
    assert s.due(29.0)[0] is False and s.due(30.0)[0] is True
    s.started()
    s.finished(30.0, ok=True)
    s.request()
    assert s.due(31.0) == (True, 0.0, "request")
