"""The tray state machine: overview → state, icon and tooltip; the menu's items."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig
from blobsync.core.app.status import Overview, PairState
from blobsync.core.credentials import SecretKind
from blobsync.core.engine import RunRecord
from blobsync.core.models import Issue, IssueKind
from blobsync.gui.controller import Controller
from blobsync.gui.icons import icon_path
from blobsync.gui.tray import ICON_NAMES, Tray, format_time, tray_look

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("overview", "state", "words"),
    [
        (Overview(), PairState.IDLE, "Up to date"),
        (Overview(syncing=1), PairState.SYNCING, "Syncing"),
        (Overview(paused=True), PairState.PAUSED, "Paused"),
        (Overview(offline=1), PairState.OFFLINE, "Offline"),
        (
            Overview(errors=1, error_message="Authentication failed: wrong key"),
            PairState.ERROR,
            "wrong key",
        ),
        (Overview(pending=3), PairState.ATTENTION, "3 items need attention"),
        (Overview(pending=1, paused=True), PairState.ATTENTION, "1 item needs attention"),
        (Overview(syncing=1, pending=2), PairState.SYNCING, "2 items need attention"),
        (Overview(errors=1, offline=1, pending=2), PairState.ERROR, "2 items"),
    ],
)
def test_each_state_has_its_icon_and_words(
    overview: Overview, state: PairState, words: str
) -> None:
    look = tray_look(overview, now=NOW)
    assert look.state is state
    assert look.icon_name == f"tray-{state.value}.svg"
    assert words in look.tooltip
    assert look.tooltip.startswith("BlobSync — ")


def test_tooltip_says_when_the_last_sync_was() -> None:
    assert "Last sync: never" in tray_look(Overview(), now=NOW).tooltip
    assert "Last sync: just now" in tray_look(Overview(last_sync=NOW - 5), now=NOW).tooltip
    assert "Last sync: 7 min ago" in tray_look(Overview(last_sync=NOW - 420), now=NOW).tooltip
    assert format_time(NOW - 3 * 86400, NOW).count("-") == 2  # a date for old ones


@given(
    paused=st.booleans(),
    syncing=st.integers(0, 3),
    offline=st.integers(0, 3),
    errors=st.integers(0, 3),
    pending=st.integers(1, 10_000),
)
def test_never_all_good_while_items_are_pending(
    paused: bool, syncing: int, offline: int, errors: int, pending: int
) -> None:
    look = tray_look(Overview(paused, syncing, offline, errors, pending), now=NOW)
    assert look.state is not PairState.IDLE
    assert "Up to date" not in look.tooltip
    assert f"{pending:,} item" in look.tooltip


def test_every_state_icon_exists() -> None:
    for name in ICON_NAMES.values():
        assert icon_path(name) is not None, name


def _controller(qtbot, tmp_path, issues: int = 0) -> Controller:  # type: ignore[no-untyped-def]
    account = AccountConfig(
        "acc", "http://127.0.0.1:1/devstoreaccount1", "devstoreaccount1", SecretKind.ACCOUNT_KEY
    )
    pairs = [
        PairConfig(str(tmp_path / "a"), "acc", "one"),
        PairConfig(str(tmp_path / "b"), "acc", "two"),
    ]
    ctl = Controller(
        AppConfig(accounts={"acc": account}, pairs=pairs),
        engine_factory=lambda pair, sink: _NoEngine(issues if pair.container == "one" else 0),
        schedule=False,
        save=lambda _c: None,
    )
    try:
        qtbot.waitUntil(
            lambda: (
                len(ctl.status(pairs[0].pair_id).issues) == issues
                and all(ctl.status(p.pair_id).record is not None for p in pairs)
            ),
            timeout=20000,
        )
    except BaseException:
        ctl.shutdown()
        raise
    return ctl


class _NoEngine:
    """Reports ``issues`` pending conflicts; must never be asked to sync."""

    def __init__(self, issues: int) -> None:
        self.issues = [Issue(f"f{i}", IssueKind.CONFLICT, "both changed") for i in range(issues)]

    def sync(self, options=None, cancel=None):  # type: ignore[no-untyped-def]
        raise AssertionError("not expected")

    def pending_issues(self):  # type: ignore[no-untyped-def]
        return list(self.issues)

    def resolve(self, rel_path, resolution):  # type: ignore[no-untyped-def]
        pass

    def last_sync_time(self):  # type: ignore[no-untyped-def]
        return None

    def run_record(self) -> RunRecord:
        return RunRecord(1.0, 1.0)  # synced before, nothing left over

    def close(self) -> None:
        pass


def _menu_texts(tray: Tray) -> list[str]:
    tray.rebuild_menu()
    return [a.text() for a in tray.menu.actions() if not a.isSeparator()]


def test_menu_counts_attention_and_toggles_pause(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctl = _controller(qtbot, tmp_path, issues=3)
    try:
        tray = Tray(ctl)
        texts = _menu_texts(tray)
        assert texts[:3] == ["Sync now", "Pause", "Open BlobSync"]
        assert "Open folder" in texts  # a submenu with one entry per pair
        assert "3 items need attention…" in texts
        assert texts[-1] == "Quit"
        assert tray.look.state is PairState.ATTENTION

        pause = next(a for a in tray.menu.actions() if a.text() == "Pause")
        pause.trigger()
        assert ctl.everything_paused()
        assert _menu_texts(tray)[1] == "Resume"
        sync_now = next(a for a in tray.menu.actions() if a.text() == "Sync now")
        assert not sync_now.isEnabled()
        assert "Paused" in tray.look.tooltip

        with qtbot.waitSignal(tray.show_issues_requested, timeout=1000):
            next(a for a in tray.menu.actions() if "attention" in a.text()).trigger()
        with qtbot.waitSignal(tray.quit_requested, timeout=1000):
            next(a for a in tray.menu.actions() if a.text() == "Quit").trigger()
    finally:
        ctl.shutdown()


def test_no_attention_item_when_nothing_is_pending(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctl = _controller(qtbot, tmp_path, issues=0)
    try:
        tray = Tray(ctl)
        assert not any("attention" in t for t in _menu_texts(tray))
        assert tray.look.state is PairState.IDLE
        assert tray.icon.toolTip() == tray.look.tooltip
    finally:
        ctl.shutdown()


def test_the_menu_offers_the_deletion_review_and_the_missing_folder(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from blobsync.core.app.status import Failure, SafetyFacts
    from blobsync.core.errors import SafetyReason

    ctl = _controller(qtbot, tmp_path, issues=0)
    try:
        first, second = (p.pair_id for p in ctl.pairs())
        ctl.status(first).failure = Failure(
            "Sync stopped for safety", "…", safety=SafetyFacts(SafetyReason.FOLDER_EMPTIED, 3, 3)
        )
        ctl.status(second).folder_missing = True
        tray = Tray(ctl)
        texts = _menu_texts(tray)
        assert "Review deletions…" in texts and "Folder missing: locate it…" in texts
        tray.update_look(ctl.overview())
        assert tray.look.state is PairState.REVIEW
        assert "1 pair: folder missing" in tray.look.tooltip
        with qtbot.waitSignal(tray.review_requested, timeout=1000):
            next(a for a in tray.menu.actions() if a.text() == "Review deletions…").trigger()
    finally:
        ctl.shutdown()
