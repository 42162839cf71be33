"""An in-memory keyring backend for tests (no D-Bus needed), shared by every suite.

Importable as ``memkeyring`` because ``tests/`` is on ``sys.path`` (the root conftest
lives there). Its priority is below zero: ``keyring`` registers every backend subclass,
and a positive priority would make auto-detection chain this test backend in for the
whole pytest process (the real Secret Service test would then see a ChainerBackend).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keyring
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """A keyring in a dict."""

    priority = -1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.items:
            raise PasswordDeleteError("not found")
        del self.items[(service, username)]


@contextlib.contextmanager
def installed(backend: KeyringBackend | None = None) -> Iterator[KeyringBackend]:
    """Use ``backend`` (default: a fresh MemoryKeyring) as the keyring, then restore."""
    previous = keyring.get_keyring()
    backend = backend or MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)
