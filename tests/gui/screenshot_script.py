"""Build the real windows against a private Azurite and save screenshots (run under X).

``python screenshot_script.py OUT_DIR`` — run by ``test_screenshots.py`` with
``DISPLAY`` pointing at an Xvfb (with ``trayer`` providing a system tray) and
``QT_QPA_PLATFORM=xcb``. Writes ``main_window.png``, ``account_dialog.png``,
``account_dialog_entra.png`` (Sign in with Microsoft, the device code shown),
``permission_check.png`` (Test connection with a SAS that may not delete),
``pair_dialog.png``, ``progress.png``, ``issues.png``, ``conflict_center.png`` (both
versions of a conflict side by side, with the diff), ``archived.png`` (archived blobs
with Rehydrate), ``not_finished.png`` (a cancelled sync), ``deletion_review.png`` (an
emptied folder), ``folder_missing.png``, ``accounts.png``, ``activity.png`` (another
machine's changes, with who made them), ``undo_dialog.png``, ``settings.png``,
``tray_menu.png`` (with the latest changes), the
"what syncs" pictures of ``screenshot_filters.py`` and ``manifest.json`` (per image:
the size it must have and every text visible in it, so the test can prove no secret
is shown). Exits non-zero with one line on stderr if a step times out.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import keyring
from azure.storage.blob import BlobServiceClient, generate_container_sas
from keyring.backend import KeyringBackend
from PySide6.QtCore import QPoint, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QTableView,
    QTabWidget,
    QWidget,
)
from screenshot_filters import shoot_filters  # beside this script

from blobsync.core.app.accounts import account_credentials
from blobsync.core.app.emulator import DEMO_ACCOUNT_NAME, Azurite
from blobsync.core.app.engines import open_engine
from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig
from blobsync.core.credentials import AZURITE_KEY, SecretKind, from_sas_url
from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.errors import AuthError, AuthReason
from blobsync.core.models import SyncMode, Writer
from blobsync.core.remote.azure import AzureBlobStore, DeviceCodePrompt
from blobsync.core.remote.blobmeta import metadata_for
from blobsync.gui.controller import Controller
from blobsync.gui.main_window import MainWindow
from blobsync.gui.tray import Tray
from blobsync.gui.views.issues_view import IssuesView
from blobsync.gui.widgets.account_dialog import AccountDialog, AccountKind
from blobsync.gui.widgets.pair_dialog import PairDialog

MiB = 1024 * 1024
WINDOW_SIZE = (1100, 720)


class MemoryKeyring(KeyringBackend):
    """No D-Bus in the screenshot run; secrets stay in this process."""

    __module__ = "in-memory"

    priority = -1  # type: ignore[assignment]  # never auto-selected

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


class Gate:
    """Holds big uploads at half way until released, so the progress view is mid-sync."""

    def __init__(self) -> None:
        self.armed = False
        self.release = threading.Event()
        self.waiting = 0
        self._lock = threading.Lock()

    def wrap(self, size: int, progress: Callable[[int], None] | None) -> Callable[[int], None]:
        done = 0
        held = False

        def gated(n: int) -> None:
            nonlocal done, held
            done += n
            if progress is not None:
                progress(n)
            if self.armed and not held and done >= size // 2:
                held = True
                with self._lock:
                    self.waiting += 1
                self.release.wait(120)

        return gated


GATE = Gate()


class GatedStore(AzureBlobStore):
    """The real Azure store; big files go in 1 MiB blocks and may be held by the gate."""

    def upload(
        self, blob_name, source, size, md5, mtime_ns, if_match, progress=None, cancel=None, **kw
    ):  # type: ignore[no-untyped-def,override]
        if size >= 2 * MiB:
            progress = GATE.wrap(size, progress)
        return super().upload(
            blob_name, source, size, md5, mtime_ns, if_match, progress, cancel, **kw
        )


def wait_until(
    app: QApplication, condition: Callable[[], bool], what: str, timeout: float = 90
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            sys.stderr.write(f"timed out waiting for: {what}\n")
            sys.exit(3)
        app.processEvents()
        time.sleep(0.02)


def settle(app: QApplication, seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def visible_texts(root: QWidget) -> list[str]:
    """Every text a person could read in this widget tree (masked fields as shown)."""
    texts = [root.windowTitle()]
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisible():
            continue
        if isinstance(widget, QLabel):
            texts.append(widget.text())
        elif isinstance(widget, QLineEdit):
            texts.append(widget.displayText())
        elif isinstance(widget, QAbstractButton):
            texts.append(widget.text())
        elif isinstance(widget, QComboBox):
            texts.append(widget.currentText())
        elif isinstance(widget, QTabWidget):
            texts.extend(widget.tabText(i) for i in range(widget.count()))
        if isinstance(widget, QTableView) and widget.model() is not None:
            model = widget.model()
            for row in range(model.rowCount()):
                for col in range(model.columnCount()):
                    value = model.data(model.index(row, col))
                    if value is not None:
                        texts.append(str(value))
    # What a person reads: mnemonic markers ("&Remove") are drawn as an underline.
    return [t.replace("&&", "\0").replace("&", "").replace("\0", "&") for t in texts if t]


def write_files(root: Path, files: dict[str, int]) -> None:
    for rel, size in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        block = (rel.encode() + b"\n") * (size // (len(rel) + 1) + 1)
        path.write_bytes(block[:size])


def shoot_activity(
    app: QApplication,
    config: AppConfig,
    controller: Controller,
    window: MainWindow,
    home: Path,
    save: Callable[[str, QPixmap, list[str], tuple[int, int]], None],
    pair_id: str,
    run: Callable[[str], None],
) -> None:
    """``activity.png`` (the Activity tab after another machine's changes arrived) and
    ``settings.png`` (machine name and recycle bins)."""
    creds = account_credentials(config.accounts[DEMO_ACCOUNT_NAME], lambda _l: AZURITE_KEY)
    office_root = home / "office-pc" / "Documents"
    office_root.mkdir(parents=True)
    office = SyncEngine(
        office_root,
        AzureBlobStore(creds, "documents"),
        home / "office-pc" / "state.sqlite3",
        history_path=home / "office-pc" / "history.sqlite3",
    )
    options = SyncOptions(hostname="office-pc")
    office.sync(options)
    (office_root / "reports" / "2026-q2.txt").write_text("Q2, revised on the office PC\n" * 90)
    (office_root / "letters" / "landlord.txt").unlink()
    write_files(office_root, {"minutes/2026-11-30.txt": 2400, "minutes/2026-12-01.txt": 1800})
    office.sync(options)
    office.close()
    run(pair_id)
    view = window.activity_view
    window.tabs.setCurrentWidget(view)
    wait_until(
        app,
        lambda: any(
            "deleted on office-pc" in str(view.model.data(view.model.index(r, 2)))
            for r in range(view.model.rowCount())
        ),
        "the other machine's deletion in the Activity view",
    )
    view.select_path("letters/landlord.txt")
    settle(app)
    save("activity.png", window.grab(), visible_texts(window), WINDOW_SIZE)

    undo = view.undo_selected()
    assert undo is not None
    wait_until(app, undo.undo_button.isEnabled, "the undo's dry run")
    undo.move(80, 80)
    settle(app, 0.6)
    listed = [undo.changes.item(i).text() for i in range(undo.changes.count())]
    save(
        "undo_dialog.png", undo.grab(), visible_texts(undo) + listed, (undo.width(), undo.height())
    )
    undo.reject()

    from blobsync.gui.widgets.settings_dialog import SettingsDialog

    dialog = SettingsDialog(config, window, set_machine_name=controller.service.set_machine_name)
    dialog.move(60, 60)
    dialog.show()
    wait_until(app, dialog.isVisible, "the settings dialog")
    settle(app, 0.6)
    save("settings.png", dialog.grab(), visible_texts(dialog), (dialog.width(), dialog.height()))
    dialog.reject()
    window.tabs.setCurrentWidget(window.progress_view)


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    keyring.set_keyring(MemoryKeyring())
    app = QApplication(sys.argv[:1])
    app.setApplicationName("BlobSync")
    manifest: dict[str, Any] = {}

    def save(name: str, pixmap: QPixmap, texts: list[str], expected: tuple[int, int]) -> None:
        path = out / name
        if not pixmap.save(str(path), "PNG"):
            sys.stderr.write(f"could not save {path}\n")
            sys.exit(4)
        manifest[name] = {"size": list(expected), "texts": texts}

    home = Path(tempfile.mkdtemp(prefix="blobsync-shots-"))
    with Azurite(in_memory=True) as azurite:
        account = AccountConfig(
            DEMO_ACCOUNT_NAME,
            azurite.blob_endpoint,
            "devstoreaccount1",
            SecretKind.ACCOUNT_KEY,
            has_secret=False,  # as the app makes it: the published key, nothing stored
        )
        work = AccountConfig(
            "work",
            "https://contoso.blob.core.windows.net",
            "contoso",
            SecretKind.CONNECTION_STRING,
        )
        docs = home / "Documents"
        photos = home / "Photos"
        write_files(docs, {f"reports/2026-q{q}.txt": 3000 + q * 700 for q in range(1, 5)})
        write_files(docs, {"notes.txt": 400, "budget.csv": 5200, "letters/landlord.txt": 900})
        write_files(photos, {f"holiday/IMG_{i:04d}.jpg": 40_000 + i * 1500 for i in range(24)})
        config = AppConfig(
            accounts={account.name: account, work.name: work},
            pairs=[
                PairConfig(str(docs), account.name, "documents", SyncMode.TWO_WAY),
                PairConfig(str(photos), account.name, "photos", SyncMode.UPLOAD),
            ],
            machine_name="my-laptop",  # what other machines see (not the Xvfb host's name)
        )

        def engine_factory(pair: PairConfig, sink: Any) -> Any:
            creds = account_credentials(config.accounts[pair.account], lambda _l: AZURITE_KEY)
            store = GatedStore(creds, pair.container)
            store.single_shot_max = 1 * MiB
            store.min_block_size = 1 * MiB
            store.upload_threads = 1
            return open_engine(pair.local_root, creds, pair.container, events=sink, store=store)

        controller = Controller(config, engine_factory=engine_factory, schedule=False)
        window = MainWindow(controller)
        window.resize(*WINDOW_SIZE)
        window.move(0, 0)
        window.show()
        tray = Tray(controller)
        wait_until(app, Tray.available, "a system tray (trayer)", 20)
        tray.show()
        window.keep_in_tray = True

        pair_ids = [p.pair_id for p in config.pairs]

        def run(pair_id: str) -> None:
            before = controller.status(pair_id).last_result
            controller.sync_now(pair_id)
            wait_until(
                app,
                lambda: (
                    not controller.status(pair_id).syncing
                    and controller.status(pair_id).last_result is not before
                ),
                f"sync of {pair_id}",
            )

        # 1. the main window with two pairs, both synced
        for pair_id in pair_ids:
            run(pair_id)
        window.pairs_view.select_pair(pair_ids[0])
        settle(app)
        save("main_window.png", window.grab(), visible_texts(window), WINDOW_SIZE)

        # 2. the account dialog (Azurite preset, tested; the key field is masked)
        dialog = AccountDialog(
            config,
            lambda label, creds, plain: controller.add_account(label, creds, allow_plaintext=plain),
            window,
        )
        dialog.set_kind(AccountKind.KEY)
        dialog.name_edit.setText("work")
        dialog.url_edit.setText(azurite.blob_endpoint)
        dialog.secret_edit.setText(AZURITE_KEY)
        dialog.secret_edit.setCursorPosition(0)
        dialog.show()
        dialog.test_connection()
        wait_until(app, lambda: dialog.status_label.property("state") == "ok", "Test connection")
        settle(app)
        texts = visible_texts(dialog)
        manifest_extra = {
            "secret_masked": dialog.secret_edit.echoMode() == QLineEdit.EchoMode.Password
        }
        save("account_dialog.png", dialog.grab(), texts, (dialog.width(), dialog.height()))
        manifest["account_dialog.png"].update(manifest_extra)
        dialog.reject()

        def saver(label: str, creds: Any, plain: bool) -> Any:
            return controller.add_account(label, creds, allow_plaintext=plain)

        # 2a. Sign in with Microsoft: no browser can open here, so the device code shows.
        release = threading.Event()

        def no_browser_sign_in(account_url: str, **kwargs: Any) -> Any:
            expires = datetime.now(UTC) + timedelta(minutes=15)
            kwargs["on_device_code"](
                DeviceCodePrompt("https://microsoft.com/devicelogin", "H7KQ-2MWX", expires)
            )
            release.wait(120)
            raise AuthError("The sign-in was cancelled.", AuthReason.SIGN_IN_REQUIRED)

        entra_dialog = AccountDialog(config, saver, window, signer=no_browser_sign_in)
        entra_dialog.set_kind(AccountKind.ENTRA)
        entra_dialog.name_edit.setText("contoso-files")
        entra_dialog.url_edit.setText("contosofiles")
        entra_dialog.entra_panel.tenant_edit.setText("contoso.onmicrosoft.com")
        entra_dialog.show()
        entra_dialog.entra_panel.start()
        wait_until(app, entra_dialog.entra_panel.code_label.isVisible, "the device code")
        settle(app)
        save(
            "account_dialog_entra.png",
            entra_dialog.grab(),
            visible_texts(entra_dialog),
            (entra_dialog.width(), entra_dialog.height()),
        )
        release.set()
        wait_until(app, lambda: not entra_dialog.entra_panel.is_busy(), "the sign-in to end")
        entra_dialog.reject()

        # 2b. Test connection with a container SAS that may not delete: what is missing.
        BlobServiceClient.from_connection_string(azurite.connection_string).create_container(
            "shared-photos"
        )
        token = generate_container_sas(
            "devstoreaccount1",
            "shared-photos",
            account_key=AZURITE_KEY,
            permission="rwl",
            expiry=datetime.now(UTC) + timedelta(days=30),
        )
        sas_url = f"{azurite.blob_endpoint}/shared-photos?{token}"
        assert from_sas_url(sas_url).sas_container == "shared-photos"
        perm_dialog = AccountDialog(config, saver, window)
        perm_dialog.set_kind(AccountKind.SAS)
        perm_dialog.name_edit.setText("shared-photos")
        perm_dialog.secret_edit.setText(sas_url)
        perm_dialog.secret_edit.setCursorPosition(0)
        perm_dialog.show()
        perm_dialog.test_connection()
        wait_until(
            app, lambda: perm_dialog.permission_check.report is not None, "the permission check"
        )
        settle(app)
        save(
            "permission_check.png",
            perm_dialog.grab(),
            visible_texts(perm_dialog),
            (perm_dialog.width(), perm_dialog.height()),
        )
        manifest["permission_check.png"]["secret_masked"] = (
            perm_dialog.secret_edit.echoMode() == QLineEdit.EchoMode.Password
        )
        perm_dialog.reject()

        # 2b. the pair dialog, containers listed, New container… refusing a name as typed
        pair_dialog = PairDialog(controller, parent=window)
        pair_dialog.folder_edit.setText("~/Music")  # expanded on save
        pair_dialog.show()
        pair_dialog.move(90, 90)
        wait_until(
            app, lambda: len(pair_dialog.picker.container_names()) >= 2, "the container list"
        )
        pair_dialog.picker.set_selected("photos")
        new_dialog = pair_dialog.picker.open_new_container_dialog()
        assert new_dialog is not None
        new_dialog.edit.setText("Family_Photos")
        settle(app)
        new_dialog.move(pair_dialog.x() + 24, pair_dialog.y() + pair_dialog.height() - 14)
        settle(app)
        # Composed from the two dialogs' own renderings: no window manager here, so a
        # screen grab can catch a dialog before X has repainted its newly mapped area.
        area = pair_dialog.geometry().united(new_dialog.geometry()).adjusted(-16, -16, 16, 16)
        shot = QPixmap(area.size())
        shot.fill(QColor("#c9ced6"))
        painter = QPainter(shot)
        for dialog_widget in (pair_dialog, new_dialog):
            where = dialog_widget.geometry().translated(-area.x(), -area.y())
            painter.drawPixmap(where.topLeft(), dialog_widget.grab())
            painter.setPen(QColor("#7a828e"))
            painter.drawRect(where.adjusted(-1, -1, 0, 0))
        painter.end()
        save(
            "pair_dialog.png",
            shot,
            visible_texts(pair_dialog) + visible_texts(new_dialog),
            (area.width(), area.height()),
        )
        new_dialog.reject()
        pair_dialog.reject()
        settle(app, 0.2)

        # 2c. what syncs: the selective-sync tree, the patterns editor, the path picker
        shoot_filters(
            app, azurite, controller, window, home, save, visible_texts, wait_until, manifest
        )

        # 3. progress mid-sync: big uploads held at half way by the gate
        write_files(docs, {f"scans/scan-{i:02d}.pdf": 6 * MiB + i * 1000 for i in range(3)})
        write_files(docs, {f"mail/{i:03d}.eml": 2000 + i * 37 for i in range(40)})
        GATE.armed = True
        window.tabs.setCurrentWidget(window.progress_view)
        controller.sync_now(pair_ids[0])
        wait_until(app, lambda: GATE.waiting >= 3, "three uploads held at half way")
        settle(app, 1.5)  # let the 10 Hz progress refresh catch up
        save("progress.png", window.grab(), visible_texts(window), WINDOW_SIZE)
        GATE.armed = False
        GATE.release.set()
        wait_until(app, lambda: not controller.status(pair_ids[0]).syncing, "the held sync")

        # 4. the issues list with a conflict: both sides changed notes.txt and budget.csv,
        # theirs on another machine running BlobSync (its writer in the blob's metadata)
        sdk = BlobServiceClient.from_connection_string(azurite.connection_string)
        office = metadata_for(time.time_ns(), Writer("office-pc", "c" * 32))
        sdk.get_blob_client("documents", "notes.txt").upload_blob(
            b"Edited on the office PC\n", overwrite=True, metadata=office
        )
        (docs / "notes.txt").write_bytes(b"Edited on this laptop, with more words\n")
        sdk.get_blob_client("documents", "budget.csv").upload_blob(
            b"month,category,amount\n2026-01,rent,1200\n2026-01,power,80\n"
            b"2026-02,rent,1200\n2026-02,power,91\n2026-02,internet,35\n2026-03,rent,1250\n",
            overwrite=True,
            metadata=office,
        )
        (docs / "budget.csv").write_bytes(
            b"month,category,amount\n2026-01,rent,1200\n2026-01,power,84\n"
            b"2026-02,rent,1200\n2026-02,power,91\n2026-03,rent,1250\n2026-03,power,77\n"
        )
        sdk.close()
        run(pair_ids[0])
        issues_view = window.issues_view
        assert isinstance(issues_view, IssuesView)
        wait_until(app, lambda: issues_view.model.rowCount() >= 2, "the conflicts in the list")
        window.tabs.setCurrentWidget(issues_view)
        issues_view.select_rel_paths(["notes.txt"])
        settle(app)
        save("issues.png", window.grab(), visible_texts(window), WINDOW_SIZE)

        # 4-. the conflict center: both versions of budget.csv side by side, the diff
        issues_view.select_rel_paths(["budget.csv"])
        [budget] = issues_view.selected_rows()
        center = issues_view.open_conflict_center(budget)
        center.move(70, 70)
        wait_until(app, center.isVisible, "the conflict center")
        settle(app, 0.6)
        save(
            "conflict_center.png",
            center.grab(),
            visible_texts(center) + center.diff_view.toPlainText().splitlines(),
            (center.width(), center.height()),
        )
        center.close()
        issues_view.select_rel_paths(["notes.txt"])

        # 4a. blobs archived in the container: a state of their own, with Rehydrate
        sdk = BlobServiceClient.from_connection_string(azurite.connection_string)
        docs_container = sdk.get_container_client("documents")
        for name, size in (
            ("archive/2019-tax-return.pdf", 48_000),
            ("archive/scans-2018.zip", 2_400_000),
        ):
            docs_container.upload_blob(name, b"x" * size)
            docs_container.get_blob_client(name).set_standard_blob_tier("Archive")
        sdk.close()
        run(pair_ids[0])
        panel = window.item_actions.archived
        wait_until(app, lambda: len(panel.rows()) == 2, "the archived blobs")
        panel.select_rel_paths(["archive/scans-2018.zip"])
        issues_view.table.clearSelection()
        settle(app)
        save("archived.png", window.grab(), visible_texts(window), WINDOW_SIZE)

        # 4a'. Preview: the plan, and what each filter rule leaves out
        write_files(docs, {"~$budget.xlsx": 160, ".DS_Store": 6148, "draft.txt": 700})
        window.pairs_view.select_pair(pair_ids[0])
        controller.preview(pair_ids[0])
        wait_until(app, lambda: window.preview_dialog is not None, "the preview")
        preview = window.preview_dialog
        assert preview is not None
        preview.move(60, 60)
        settle(app)
        save(
            "preview.png",
            preview.grab(),
            visible_texts(preview),
            (preview.width(), preview.height()),
        )
        preview.reject()
        for name in ("~$budget.xlsx", ".DS_Store", "draft.txt"):
            (docs / name).unlink()
        settle(app)

        # 4b. a sync cancelled mid-upload: "Not finished — N changes waiting"
        GATE.release = threading.Event()
        GATE.waiting = 0
        write_files(photos, {f"video/clip-{i}.mp4": 4 * MiB + i for i in range(2)})
        write_files(photos, {f"holiday/IMG_{i:04d}.jpg": 30_000 + i for i in range(24, 44)})
        GATE.armed = True
        controller.sync_now(pair_ids[1])
        wait_until(app, lambda: GATE.waiting >= 1, "an upload held half way")
        controller.cancel(pair_ids[1])
        GATE.armed = False
        GATE.release.set()
        wait_until(app, lambda: not controller.status(pair_ids[1]).syncing, "the cancel")
        window.pairs_view.select_pair(pair_ids[1])
        window.tabs.setCurrentWidget(window.progress_view)
        settle(app)
        save("not_finished.png", window.grab(), visible_texts(window), WINDOW_SIZE)
        run(pair_ids[1])

        # 4c. the folder emptied by mistake: the deletion review instead of a mass delete
        photo_files = sorted(p for p in photos.rglob("*") if p.is_file())
        for path in photo_files:
            path.unlink()
        controller.sync_now(pair_ids[1])
        wait_until(
            app,
            lambda: (controller.status(pair_ids[1]).failure or None) is not None,
            "the safety stop",
        )
        settle(app)
        window.review_deletions(pair_ids[1])
        review = window.review_dialog
        assert review is not None
        review.move(60, 60)
        wait_until(app, review.isVisible, "the deletion review")
        settle(app, 0.6)
        save(
            "deletion_review.png",
            review.grab(),
            visible_texts(review),
            (review.width(), review.height()),
        )
        from blobsync.gui.widgets.deletion_review import DeletionReview

        assert isinstance(review, DeletionReview)
        review.restore_button.click()
        wait_until(app, lambda: all(p.exists() for p in photo_files), "the restore", 120)
        wait_until(app, lambda: not controller.status(pair_ids[1]).syncing, "the restore's end")

        # 4d. the folder moved away: "Folder missing" with Locate… and Remove pair
        moved = home / "Documents (old)"
        docs.rename(moved)
        controller.sync_now(pair_ids[0])
        wait_until(
            app, lambda: (controller.status(pair_ids[0]).failure or None) is not None, "missing"
        )
        window.pairs_view.select_pair(pair_ids[0])
        window.tabs.setCurrentWidget(window.issues_view)
        settle(app)
        save("folder_missing.png", window.grab(), visible_texts(window), WINDOW_SIZE)
        moved.rename(docs)
        run(pair_ids[0])
        window.tabs.setCurrentWidget(window.progress_view)

        # 4e. the Accounts view, the emulator selected (its connection string to copy)
        accounts = window.show_accounts()
        accounts.move(80, 80)
        from blobsync.gui.widgets.accounts_dialog import AccountsDialog

        assert isinstance(accounts, AccountsDialog)
        accounts.select(DEMO_ACCOUNT_NAME)
        accounts.test()
        wait_until(app, lambda: not accounts.is_testing(), "the account test")
        wait_until(app, accounts.isVisible, "the accounts view")
        settle(app, 0.6)
        save(
            "accounts.png",
            accounts.grab(),
            visible_texts(accounts),
            (accounts.width(), accounts.height()),
        )
        accounts.close()
        run(pair_ids[0])  # the issues again, for the tray below

        # 4f. Activity: another machine ("office-pc") edits, adds and deletes; this one
        # syncs, and the list says who did what. Its own state and history, as on a
        # machine of its own.
        shoot_activity(app, config, controller, window, home, save, pair_ids[0], run)

        # 5. the tray menu, open, on the whole screen
        screen = QGuiApplication.primaryScreen()
        size = screen.size()
        geometry = tray.icon.geometry()
        anchor = geometry.bottomLeft() if geometry.isValid() else QPoint(size.width() - 40, 30)
        for widget in QApplication.topLevelWidgets():  # Qt's fallback notification balloon
            if widget.metaObject().className() == "QBalloonTip":
                widget.hide()
        tray.menu.popup(anchor)
        wait_until(app, tray.menu.isVisible, "the tray menu")
        settle(app, 0.8)
        texts = [a.text() for a in tray.menu.actions() if a.text()] + [tray.icon.toolTip()]
        shot = screen.grabWindow(0)
        save("tray_menu.png", shot, texts, (size.width(), size.height()))
        manifest["tray_menu.png"]["icon_geometry"] = [
            geometry.x(),
            geometry.y(),
            geometry.width(),
            geometry.height(),
        ]
        QTimer.singleShot(0, tray.menu.close)
        settle(app, 0.2)

        tray.hide()
        controller.shutdown()
        window.close()
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    sys.exit(main())
