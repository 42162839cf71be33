"""The log file never receives a secret: patterns and registered secrets are masked.

Each case logs the secret through the real handler that ``setup_logging`` installs and
reads the file back, so a filter that stopped working would leave the secret there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from blobsync.core.app import logs

KEY = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwMTIzNDU2Nzg5MA=="
SIG = "Zm9vYmFyLXNpZ25hdHVyZS12YWx1ZQ%3D%3D"
OPAQUE = "hunter2-opaque-token-123"


@pytest.fixture
def log_path(tmp_path: Path) -> Iterator[Path]:
    path = logs.setup_logging(verbose=True, path=tmp_path / "t.log")
    logs.clear_registered_secrets()
    yield path
    logs.clear_registered_secrets()
    logs.shutdown_logging()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    logs.shutdown_logging()


def flushed(path: Path) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "message",
    [
        f"DefaultEndpointsProtocol=https;AccountName=a;AccountKey={KEY};EndpointSuffix=x",
        f"BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=2024&sig={SIG}",
        f"Request URL: 'https://a.blob.core.windows.net/c/b?sv=2024&sp=r&sig={SIG}&se=2030'",
        f"    'Authorization': 'SharedKey a:{KEY}'",
        f"Authorization: SharedKey a:{KEY}",
        f'{{"authorization": "Bearer {KEY}"}}',
    ],
)
def test_patterns_are_masked_in_the_file(log_path: Path, message: str) -> None:
    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").debug(message)
    text = flushed(log_path)
    assert KEY not in text and SIG not in text
    assert logs.MASK in text


def test_registered_secret_is_masked_in_args_and_tracebacks(log_path: Path) -> None:
    logs.register_secret(OPAQUE)
    log = logging.getLogger("blobsync.test")
    log.info("token is %s", OPAQUE)
    try:
        raise ValueError(f"bad token {OPAQUE}")
    except ValueError:
        log.exception("failed")
    text = flushed(log_path)
    assert OPAQUE not in text
    assert "token is ***" in text
    assert "ValueError: bad token ***" in text


def test_connection_string_registration_masks_the_key_alone(log_path: Path) -> None:
    logs.register_secret(f"AccountName=a;AccountKey={KEY}")
    logging.getLogger("blobsync.test").warning("key by itself: %s", KEY)
    assert KEY not in flushed(log_path)


def test_info_level_by_default_and_debug_from_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BLOBSYNC_DEBUG", raising=False)
    path = logs.setup_logging(path=tmp_path / "a.log")
    logging.getLogger("blobsync.test").debug("hidden-debug-line")
    logging.getLogger("blobsync.test").info("shown-info-line")
    text = flushed(path)
    assert "shown-info-line" in text and "hidden-debug-line" not in text
    monkeypatch.setenv("BLOBSYNC_DEBUG", "1")
    path = logs.setup_logging(path=tmp_path / "b.log")
    logging.getLogger("blobsync.test").debug("visible-debug-line")
    assert "visible-debug-line" in flushed(path)


def test_default_log_file_is_under_the_isolated_state_dir(tmp_path: Path) -> None:
    assert logs.log_file().is_relative_to(tmp_path / "xdg-state")
