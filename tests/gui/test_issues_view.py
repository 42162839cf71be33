"""The issues list: rows in words, buttons per selection, the right resolve requests."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QPushButton

from blobsync.core.models import Issue, IssueKind
from blobsync.gui.models.issues_model import IssuesModel
from blobsync.gui.views.issues_view import IssuesView

CONFLICT = Issue(
    "docs/report.txt",
    IssueKind.CONFLICT,
    "Changed here and in the container since the last sync.",
    conflict_copy="docs/report (conflict from laptop).txt",
)
RACE = Issue("b.txt", IssueKind.CONCURRENT_CHANGE, "The blob changed while we uploaded it.")
DENIED = Issue("secret/c.txt", IssueKind.PERMISSION_DENIED, "Cannot write the file.")
NAME = Issue("bad\\name", IssueKind.NAME_NOT_ALLOWED, "Backslash.", retryable=False)


@pytest.fixture
def view(qtbot) -> IssuesView:  # type: ignore[no-untyped-def]
    widget = IssuesView()
    qtbot.addWidget(widget)
    widget.resize(900, 400)
    widget.show()
    return widget


def buttons(view: IssuesView) -> dict[str, bool]:
    names = (
        "retryButton",
        "retryAllButton",
        "keepMineButton",
        "takeTheirsButton",
        "keepBothButton",
        "showInFolderButton",
    )
    found = {name: view.findChild(QPushButton, name) for name in names}
    assert all(btn is not None for btn in found.values())
    return {name: btn.isEnabled() for name, btn in found.items()}  # type: ignore[union-attr]


def test_model_shows_issue_in_words() -> None:
    model = IssuesModel()
    model.set_issues("p1", [CONFLICT, DENIED])
    model.set_issues("p2", [RACE])
    assert model.rowCount() == 3
    assert model.data(model.index(0, IssuesModel.ITEM)) == "docs/report.txt"
    assert model.data(model.index(0, IssuesModel.PROBLEM)) == CONFLICT.describe()
    assert model.data(model.index(1, IssuesModel.DETAILS)) == "Cannot write the file."
    assert "conflict from laptop" in model.data(model.index(0, 0), 3)  # tooltip role
    assert model.conflict_count() == 2
    assert model.issue_count("p1") == 2
    model.set_issues("p1", [])
    assert model.rowCount() == 1
    assert model.row_at(0).pair_id == "p2"


def test_buttons_follow_selection(view: IssuesView) -> None:
    assert buttons(view) == dict.fromkeys(buttons(view), False)
    assert "Nothing needs your attention" in view.summary.text()

    view.set_issues("p1", [CONFLICT, RACE, DENIED])
    state = buttons(view)
    assert state["retryAllButton"] and not state["retryButton"] and not state["keepMineButton"]
    assert "3 items need your attention (2 conflicts)" in view.summary.text()

    view.select_rel_paths(["docs/report.txt"])
    state = buttons(view)
    assert state["retryButton"] and state["keepMineButton"] and state["takeTheirsButton"]
    assert state["keepBothButton"]
    assert not state["showInFolderButton"]  # no folder known for p1 yet
    assert "conflict from laptop" in view.detail.text()

    view.select_rel_paths(["docs/report.txt", "b.txt"])
    state = buttons(view)
    assert state["keepMineButton"] and state["retryButton"]

    view.select_rel_paths(["docs/report.txt", "secret/c.txt"])
    state = buttons(view)
    assert state["retryButton"] and not state["keepMineButton"] and not state["keepBothButton"]

    view.select_rel_paths(["secret/c.txt"])
    assert not buttons(view)["takeTheirsButton"]

    view.set_issues("p1", [])
    assert buttons(view) == dict.fromkeys(buttons(view), False)


def test_resolve_requested_args(view: IssuesView, qtbot) -> None:  # type: ignore[no-untyped-def]
    view.set_issues("p1", [CONFLICT, DENIED])
    view.set_issues("p2", [RACE, NAME])
    seen: list[tuple[str, list[str], str]] = []
    view.resolve_requested.connect(lambda pid, paths, res: seen.append((pid, paths, res)))

    view.select_rel_paths(["docs/report.txt"])
    qtbot.mouseClick(view.keep_mine_button, _left())
    qtbot.mouseClick(view.take_theirs_button, _left())
    qtbot.mouseClick(view.keep_both_button, _left())
    assert seen == [
        ("p1", ["docs/report.txt"], "keep_mine"),
        ("p1", ["docs/report.txt"], "take_theirs"),
        ("p1", ["docs/report.txt"], "keep_both"),
    ]

    seen.clear()
    view.select_rel_paths(["docs/report.txt", "b.txt"])  # two pairs: one request per pair
    qtbot.mouseClick(view.keep_both_button, _left())
    assert seen == [("p1", ["docs/report.txt"], "keep_both"), ("p2", ["b.txt"], "keep_both")]

    seen.clear()
    view.select_rel_paths(["secret/c.txt"])
    qtbot.mouseClick(view.retry_button, _left())
    qtbot.mouseClick(view.keep_mine_button, _left())  # disabled: no emission
    assert seen == [("p1", ["secret/c.txt"], "retry")]

    seen.clear()
    qtbot.mouseClick(view.retry_all_button, _left())
    assert seen == [
        ("p1", ["docs/report.txt", "secret/c.txt"], "retry"),
        ("p2", ["b.txt", "bad\\name"], "retry"),
    ]


def test_show_in_folder_opens_parent(view: IssuesView, tmp_path: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "Sync"
    (root / "docs").mkdir(parents=True)
    opened: list[QUrl] = []
    view.url_opener = opened.append
    view.set_issues("p1", [CONFLICT, DENIED])
    view.set_pair_info("p1", str(root))
    assert view.model.data(view.model.index(0, IssuesModel.FOLDER)) == "Sync"

    view.select_rel_paths(["docs/report.txt"])
    assert buttons(view)["showInFolderButton"]
    qtbot.mouseClick(view.show_in_folder_button, _left())
    # secret/ does not exist: the nearest existing folder (the root) is opened
    view.select_rel_paths(["secret/c.txt"])
    qtbot.mouseClick(view.show_in_folder_button, _left())
    assert [url.toLocalFile() for url in opened] == [str(root / "docs"), str(root)]


def _left():  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton
