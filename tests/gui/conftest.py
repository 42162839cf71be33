"""Fixtures for the GUI tests: an in-memory keyring, an Azurite account in the keyring,
a window factory that shuts its engines down, a fast fake engine, and SDK helpers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from azure.storage.blob import BlobServiceClient
from memkeyring import MemoryKeyring, installed
from PySide6.QtCore import QCoreApplication, QEvent

from blobsync.core.app.emulator import Azurite
from blobsync.core.app.secrets import store_secret
from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig
from blobsync.core.credentials import SecretKind, parse_connection_string
from blobsync.core.engine import Resolution, RunRecord, SyncOptions
from blobsync.core.errors import Cancelled
from blobsync.core.events import (
    EventSink,
    ItemFinished,
    ItemProgress,
    ItemStarted,
    OverallProgress,
    PlanReady,
)
from blobsync.core.models import ActionKind, Issue, SyncResult
from blobsync.core.remote.base import CancelToken
from blobsync.gui.controller import Controller
from blobsync.gui.main_window import MainWindow

ACCOUNT = "azurite-test"


@pytest.fixture(autouse=True)
def gui_keyring() -> Iterator[MemoryKeyring]:
    """Every GUI test gets a fresh in-memory keyring."""
    with installed(MemoryKeyring()) as backend:
        yield backend  # type: ignore[misc]


@pytest.fixture
def azurite_account(azurite: Azurite, gui_keyring: MemoryKeyring) -> AccountConfig:
    """An account for the session's Azurite; its connection string is in the keyring."""
    creds = parse_connection_string(azurite.connection_string)
    store_secret(ACCOUNT, azurite.connection_string)
    return AccountConfig(
        ACCOUNT, creds.account_url, creds.account_name, SecretKind.CONNECTION_STRING
    )


@pytest.fixture
def sdk(azurite: Azurite) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(azurite.connection_string)


WindowFactory = Callable[..., MainWindow]


@pytest.fixture
def make_window(qtbot) -> Iterator[WindowFactory]:  # type: ignore[no-untyped-def]
    """``make_window(config, **controller_kwargs)`` → a shown MainWindow; engines are shut
    down at teardown."""
    controllers: list[Controller] = []

    def make(config: AppConfig, **kwargs: object) -> MainWindow:
        kwargs.setdefault("schedule", False)
        controller = Controller(config, **kwargs)  # type: ignore[arg-type]
        controllers.append(controller)
        window = MainWindow(controller)
        qtbot.addWidget(window)
        window.show()
        return window

    yield make
    for controller in controllers:
        controller.shutdown()
        controller.deleteLater()
    # Let Qt delete the bridges and threads now, not during interpreter shutdown.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


# ---- a fast fake engine (no network) --------------------------------------------------


class FakeEngine:
    """Quacks like SyncEngine; records which thread each call ran on."""

    def __init__(
        self,
        sink: EventSink,
        files: int = 10,
        item_delay: float = 0.0,
        issues: list[Issue] | None = None,
        progress_events_per_item: int = 1,
    ) -> None:
        self.sink = sink
        self.files = files
        self.item_delay = item_delay
        self.issues: list[Issue] = list(issues or [])
        self.resolved: list[tuple[str, Resolution]] = []
        self.threads: list[int] = []
        self.syncs = 0
        self.closed = False
        self.last_time: float | None = None  # the last run that left nothing pending
        self.completed_time: float | None = None  # the last run that went to the end
        self.stopped = False
        self.waiting: int | None = 0
        self.progress_events_per_item = progress_events_per_item

    def sync(
        self, options: SyncOptions | None = None, cancel: CancelToken | None = None
    ) -> SyncResult:
        options = options or SyncOptions()
        self.threads.append(threading.get_ident())
        self.syncs += 1
        result = SyncResult(dry_run=options.dry_run)
        size = 1000
        self.sink(PlanReady(self.files, 0, 0, 0, 0, self.files, self.files * size))
        for i in range(self.files):
            if cancel is not None and cancel.cancelled and not options.dry_run:
                # As the real engine does: a cancelled run raises, and is recorded.
                self.stopped, self.waiting = True, self.files - i
                raise Cancelled("The sync was cancelled.")
            rel = f"f{i}.txt"
            if options.dry_run:
                continue
            self.sink(ItemStarted(rel, ActionKind.UPLOAD, size))
            for step in range(1, self.progress_events_per_item + 1):
                done = size * step // self.progress_events_per_item
                self.sink(ItemProgress(rel, done, size))
            if self.item_delay:
                time.sleep(self.item_delay)
            self.sink(ItemFinished(rel, ActionKind.UPLOAD, True))
            self.sink(OverallProgress(i + 1, self.files, (i + 1) * size, self.files * size))
            result.uploaded += 1
        result.issues = list(self.issues)
        result.skipped = len(self.issues)
        if not options.dry_run:
            self.completed_time = time.time()
            self.stopped, self.waiting = False, 0
            if not self.issues:
                self.last_time = self.completed_time
        return result

    def pending_issues(self) -> list[Issue]:
        self.threads.append(threading.get_ident())
        return list(self.issues)

    def resolve(self, rel_path: str, resolution: Resolution) -> None:
        self.threads.append(threading.get_ident())
        self.resolved.append((rel_path, resolution))
        self.issues = [i for i in self.issues if i.rel_path != rel_path]

    def last_sync_time(self) -> float | None:
        return self.last_time

    def run_record(self) -> RunRecord:
        return RunRecord(self.last_time, self.completed_time, self.stopped, self.waiting)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_engines() -> Callable[..., Callable[[PairConfig, EventSink], FakeEngine]]:
    """``fake_engines(**kwargs)`` → an engine factory for Controller that records the
    engines it made in ``factory.made``."""

    def build(**kwargs: object) -> Callable[[PairConfig, EventSink], FakeEngine]:
        made: list[FakeEngine] = []

        def factory(pair: PairConfig, sink: EventSink) -> FakeEngine:
            engine = FakeEngine(sink, **kwargs)  # type: ignore[arg-type]
            made.append(engine)
            return engine

        factory.made = made  # type: ignore[attr-defined]
        return factory

    return build
