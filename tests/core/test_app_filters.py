"""The application layer's face of issue 11: a pair's container path and filter rules in
the settings, in its identity, in the rules for new pairs, in its engine and options,
and in the live loop (the watcher's filter, a re-sync when the ignore file changed).
Against the in-memory store; tests/integration/test_filters_azurite.py has Azurite."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from blobsync.core.app.live import LivePair, LiveSync
from blobsync.core.app.pairs import new_pair_problem, pair_key, state_path
from blobsync.core.app.schedule import SyncReason
from blobsync.core.app.service import AppService
from blobsync.core.app.settings import (
    AccountConfig,
    AppConfig,
    PairConfig,
    SettingsStore,
    load_config,
    save_config,
    settings_path,
)
from blobsync.core.credentials import SecretKind
from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.filters import IGNORE_FILE, FilterRules
from blobsync.core.local.watcher import ChangeWatcher
from blobsync.core.remote.memory import MemoryStore

EMU_URL = "http://127.0.0.1:10000/devstoreaccount1"
MTIME = 1_700_000_000_000_000_000


def write(root: Path, rel: str, data: str, mtime_ns: int = MTIME) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def emulator_account(label: str = "emu") -> AccountConfig:
    return AccountConfig(
        label, EMU_URL, "devstoreaccount1", SecretKind.ACCOUNT_KEY, has_secret=False
    )


def service_with(*pairs: PairConfig) -> AppService:
    config = AppConfig(accounts={"emu": emulator_account()}, pairs=list(pairs))
    return AppService(SettingsStore(config, save=lambda _c: None))


def test_old_settings_load_with_defaults_and_the_new_fields_round_trip(tmp_path: Path) -> None:
    old = {
        "version": 2,
        "accounts": {},
        "pairs": [{"local_root": str(tmp_path / "a"), "account": "x", "container": "docs",
                   "mode": "two-way", "interval_s": 300, "name": "a"}],
    }  # fmt: skip
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text(json.dumps(old))
    [pair] = load_config().pairs
    assert (pair.prefix, pair.patterns, pair.use_defaults, pair.excluded_folders) == (
        "",
        [],
        True,
        [],
    )
    assert pair.filter_rules() == FilterRules()
    # the id a pair had before paths existed is kept (its pause flag and issues go with it)
    before = f"{os.path.abspath(pair.local_root)}\0x\0docs"
    assert pair.pair_id == hashlib.sha256(before.encode()).hexdigest()[:16]

    pair.prefix = "/projects/x"  # normalised when saved and loaded
    pair.patterns = ["*.log", "!keep.log"]
    pair.use_defaults = False
    pair.excluded_folders = ["photos/2019"]
    save_config(AppConfig(pairs=[pair]))
    [again] = load_config().pairs
    assert again.prefix == "projects/x/" and again.remote_label == "docs/projects/x"
    assert again.filter_rules() == FilterRules(
        patterns=("*.log", "!keep.log"), use_defaults=False, excluded_folders={"photos/2019"}
    )
    assert again.pair_id != pair_id_without_prefix(again)


def pair_id_without_prefix(pair: PairConfig) -> str:
    return PairConfig(pair.local_root, pair.account, pair.container).pair_id


def test_the_path_is_part_of_the_pairs_identity(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    whole = pair_key(folder, EMU_URL, "devstoreaccount1", "docs")
    assert pair_key(folder, EMU_URL, "devstoreaccount1", "docs", "") == whole  # unchanged
    x = pair_key(folder, EMU_URL, "devstoreaccount1", "docs", "projects/x")
    xy = pair_key(folder, EMU_URL, "devstoreaccount1", "docs", "projects/xy/")
    assert len({whole, x, xy}) == 3
    assert pair_key(folder, EMU_URL, "devstoreaccount1", "docs", "/projects/x/") == x
    assert state_path(folder, EMU_URL, "devstoreaccount1", "docs", "projects/x").name == (
        f"{x}.sqlite3"
    )
    service = service_with()
    a = PairConfig(str(folder), "emu", "docs", prefix="projects/x")
    assert service.key(a) == x and service.key(PairConfig(str(folder), "emu", "docs")) == whole


def test_pairs_share_a_container_on_separate_paths_and_overlaps_are_refused(
    tmp_path: Path,
) -> None:
    config = AppConfig(accounts={"emu": emulator_account(), "emu-2": emulator_account("emu-2")})
    config.pairs.append(PairConfig(str(tmp_path / "x"), "emu", "docs", prefix="projects/x"))

    def problem(folder: str, prefix: str, account: str = "emu", container: str = "docs") -> str:
        return (
            new_pair_problem(
                config, PairConfig(str(tmp_path / folder), account, container, prefix=prefix)
            )
            or ""
        )

    assert problem("xy", "projects/xy") == ""  # a sibling path: independent
    assert problem("y", "projects/y") == ""
    assert problem("z", "", container="other") == ""
    assert "lies inside 'docs/projects/x'" in problem("in", "projects/x/inner")
    assert "contains 'docs/projects/x'" in problem("up", "projects")
    assert "the whole container 'docs' contains" in problem("all", "")
    assert "Another folder already syncs with 'docs/projects/x'" in problem("same", "projects/x")
    # another label for the same storage account is the same account
    assert "lies inside" in problem("in2", "projects/x/inner", account="emu-2")
    assert "'..'" in problem("bad", "projects/../x")
    assert "BlobSync's own space" in problem("res", ".blobsync/x")
    # editing a pair does not collide with itself
    existing = config.pairs[0]
    assert new_pair_problem(config, existing, replacing=existing) is None


def test_a_pair_with_a_path_and_rules_syncs_only_its_part_through_the_service(
    tmp_path: Path,
) -> None:
    root = tmp_path / "x"
    write(root, "a.txt", "a")
    write(root, "debug.log", "log")
    write(root, "Thumbs.db", "junk")
    write(root, "photos/2019/old.jpg", "jpg")
    write(root, "photos/2024/new.jpg", "jpg2")
    store = MemoryStore("docs")
    store.put_raw("projects/xy/theirs.txt", b"sibling")  # another pair's blobs
    store.put_raw("projects/x/remote.txt", b"r")
    pair = PairConfig(
        str(root),
        "emu",
        "docs",
        prefix="projects/x",
        patterns=["*.log"],
        excluded_folders=["photos/2019"],
    )
    service = service_with(pair)
    options = service.options(pair, workers=2)
    assert options.filters == pair.filter_rules() and options.workers == 2
    engine = service.open_engine(pair, store=store)
    try:
        result = engine.sync(options)
    finally:
        engine.state.close()
    assert sorted(store.synced_names()) == [
        "projects/x/a.txt",
        "projects/x/photos/2024/new.jpg",
        "projects/x/remote.txt",
        "projects/xy/theirs.txt",
    ]
    assert (root / "remote.txt").read_text() == "r" and not (root / "theirs.txt").exists()
    assert (result.excluded.pattern, result.excluded.defaults, result.excluded.folder) == (1, 1, 1)
    # the engine's state database is the one the CLI finds for FOLDER docs/projects/x
    assert state_path(root, EMU_URL, "devstoreaccount1", "docs", "projects/x").exists()
    assert service.summary(pair).synced_before


class _Started:
    """A watcher starter that records the watcher instead of starting watchdog."""

    def __init__(self) -> None:
        self.watchers: list[ChangeWatcher] = []

    def __call__(self, watcher: ChangeWatcher) -> None:
        self.watchers.append(watcher)


def test_the_live_watcher_skips_excluded_items_and_follows_the_ignore_file(
    tmp_path: Path,
) -> None:
    root = tmp_path / "f"
    write(root, IGNORE_FILE, "build/\n")
    started = _Started()
    clock = [0.0]
    live = LivePair(
        root,
        start_watcher=started,
        clock=lambda: clock[0],
        rules=FilterRules(patterns=("*.log",), excluded_folders={"private"}),
    )
    live.poll()
    [watcher] = started.watchers
    assert watcher.skip == live.skips
    for rel, is_dir in (("x.log", False), ("build", True), ("private/a.txt", False)):
        assert live.skips(rel, is_dir), rel
    assert not live.skips("notes.txt", False) and not live.skips("new.tmpl", False)
    # the ignore file's own changes count, and its new rules apply to the watcher next
    write(root, IGNORE_FILE, "build/\n*.tmpl\n")
    assert not live.skips(IGNORE_FILE, False)
    live.poll()
    assert live.skips("new.tmpl", False)
    # edited rules apply at once
    live.set_rules(FilterRules(use_ignore_file=False))
    assert not live.skips("x.log", False) and live.skips("Thumbs.db", False)
    # rules that do not compile filter nothing here (the sync says what is wrong)
    live.set_rules(FilterRules(patterns=("!",)))
    assert live.path_filter is None and not live.skips("Thumbs.db", False)
    live.close()


def test_the_live_watcher_follows_nested_ignore_files(tmp_path: Path) -> None:
    root = tmp_path / "f"
    write(root, "web/" + IGNORE_FILE, "*.log\n")
    started = _Started()
    live = LivePair(root, start_watcher=started, clock=lambda: 0.0, rules=FilterRules())
    live.poll()
    assert live.skips("web/x.log", False) and live.skips("web/deep/y.log", False)
    assert not live.skips("x.log", False) and not live.skips("web/x.txt", False)
    # a nested file's own changes count, and its new rules apply to the watcher next
    write(root, "web/" + IGNORE_FILE, "*.txt\n")
    assert not live.skips("web/" + IGNORE_FILE, False)
    live.poll()
    assert live.skips("web/x.txt", False) and not live.skips("web/x.log", False)
    write(root, "new/" + IGNORE_FILE, "tmp/\n")  # a new one anywhere counts too
    assert not live.skips("new/" + IGNORE_FILE, False)
    live.poll()
    assert live.skips("new/tmp", True)
    live.close()


def test_a_run_that_changed_the_ignore_file_is_followed_by_another_at_once(
    tmp_path: Path,
) -> None:
    clock = [0.0]
    root = tmp_path / "f"
    root.mkdir()
    live = LivePair(root, watch=False, clock=lambda: clock[0], rules=FilterRules(), interval_s=300)
    assert live.poll().run is SyncReason.POLL  # the first sync
    live.started()
    write(root, IGNORE_FILE, "*.tmpl\n")  # downloaded by that run
    live.finished(True, ignore_file_changed=True)
    step = live.poll()
    assert step.run is SyncReason.REQUEST and live.skips("a.tmpl", False)
    live.started()
    live.finished(True)
    assert live.poll().run is None  # then the usual interval


def test_blobsync_watch_loop_syncs_again_under_the_new_ignore_file(tmp_path: Path) -> None:
    store = MemoryStore("docs")
    a_root, b_root = tmp_path / "a", tmp_path / "b"
    write(a_root, "notes.txt", "n")
    b_root.mkdir()
    engines = [
        SyncEngine(a_root, store, tmp_path / "a.sqlite3"),
        SyncEngine(b_root, store, tmp_path / "b.sqlite3"),
    ]
    a, b = engines
    a.sync(SyncOptions())
    b.sync(SyncOptions())
    write(b_root, IGNORE_FILE, "*.log\n")
    b.sync(SyncOptions())  # B's new rules reach the container
    write(a_root, "build.log", "log")  # A has not seen them yet
    loop = LiveSync(a, SyncOptions(), watch=False, interval_s=3600)
    loop.start()
    try:
        deadline = time.monotonic() + 30
        while loop.stats.syncs < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert loop.stats.syncs >= 2, loop.stats
        last = loop.stats.last_result
        assert last is not None and not last.ignore_file_changed
        # the first run still uploaded build.log (its rules were fixed when it began);
        # the second applies *.log: the blob stays (excluding never deletes), is counted
        assert last.excluded.by_pattern == {"*.log": 1} and last.excluded.ignore_file == 1
        assert last.writes == 0
        assert (a_root / IGNORE_FILE).read_text() == "*.log\n"
        assert loop.live.skips("other.log", False)  # the watcher follows the new rules
    finally:
        loop.stop()
        for engine in engines:
            engine.state.close()
