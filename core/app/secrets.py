"""Account secrets (keys, SAS tokens, connection strings): only in the OS keyring.

The keyring entry is service ``blobsync``, username = the account's label. When no
keyring is usable, a plaintext file (``INSECURE-secrets.json``, mode 0600, in the
config dir) is used ONLY if the caller opts in explicitly (``allow_plaintext=True``);
the account's config then records ``plaintext_secret_file=True`` so every UI can badge
it. There is never a silent plaintext default (the pitfall of backup tools whose keyring fallback stores plaintext by default).

Every keyring failure (no backend, locked collection, D-Bus errors) is turned into a
:class:`~blobsync.core.errors.ConfigError` whose message says in words what is wrong.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigError
from .settings import config_dir, write_json_atomically

SERVICE = "blobsync"
PLAINTEXT_FILE_NAME = "INSECURE-secrets.json"
_PROBE_USER = "__blobsync_probe__"
_PROBE_TIMEOUT_S = 5.0
_CALL_TIMEOUT_S = 120.0  # a real unlock prompt needs time for a human
_NO_ANSWER = "The OS keyring did not answer in time (is it waiting for an unlock prompt?)."
T = TypeVar("T")
_plaintext_lock = threading.Lock()


class NoUsableKeyring(ConfigError):
    """No OS keyring works and the plaintext file was not opted in to; ``reason`` says
    why in words. Each client names its own way to opt in."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"{reason} The secret was not saved.")
        self.reason = reason


def plaintext_file() -> Path:
    """Where opted-in plaintext secrets live (mode 0600)."""
    return config_dir() / PLAINTEXT_FILE_NAME


def _keyring() -> Any:
    """The ``keyring`` package with the backends and errors used here, imported on
    first use: it cost ~30 ms of every ``blobsync`` start, also when the environment
    gives the connection string and no keyring is ever asked."""
    import keyring
    import keyring.backends.fail
    import keyring.backends.null
    import keyring.errors

    return keyring


def backend_name() -> str:
    """Short name of the active keyring backend, e.g. ``SecretService.Keyring``."""
    kind = type(_keyring().get_keyring())
    module = kind.__module__.removeprefix("keyring.backends.")
    return f"{module}.{kind.__qualname__}"


def _explain(exc: BaseException) -> str:
    """One sentence about why the keyring failed (never includes a secret)."""
    errors = _keyring().errors
    if isinstance(exc, errors.KeyringLocked):
        return "The OS keyring is locked; unlock it (log in to the desktop session) and retry."
    if isinstance(exc, errors.NoKeyringError):
        return (
            "No OS keyring is available (no Secret Service, KWallet, macOS Keychain or "
            "Windows Credential Locker was found)."
        )
    if isinstance(exc, errors.InitError):
        return "The OS keyring could not be initialised."
    name = type(exc).__name__
    module = type(exc).__module__
    if "dbus" in name.lower() or "dbus" in module.lower() or "jeepney" in module:
        return "The OS keyring cannot be reached over D-Bus (is a desktop session running?)."
    if "secretstorage" in module:
        return f"The Secret Service keyring refused the request ({name})."
    return f"The OS keyring failed ({name})."


class _NoAnswer(Exception):
    """The keyring call did not return in time."""


def _bounded(func: Callable[..., T], *args: str, timeout: float | None = None) -> T:
    """Run one keyring call in a helper thread and wait at most ``timeout`` seconds.

    A locked Secret Service with a display opens an unlock prompt that may be
    invisible, and the call then blocks forever (seen with gnome-keyring when DISPLAY is set); a run must not.
    Raises _NoAnswer on timeout, else whatever the call raised.
    """
    answers: queue.Queue[tuple[bool, Any]] = queue.Queue()

    def call() -> None:
        try:
            answers.put((True, func(*args)))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            answers.put((False, exc))

    threading.Thread(target=call, name="keyring-call", daemon=True).start()
    try:
        ok, value = answers.get(timeout=_CALL_TIMEOUT_S if timeout is None else timeout)
    except queue.Empty:
        raise _NoAnswer from None
    if not ok:
        raise value
    result: T = value
    return result


def keyring_status() -> tuple[bool, str, str]:
    """``(usable, backend_name, reason)``: whether secrets can go to the OS keyring.

    ``reason`` is empty when usable, otherwise one sentence for the user. The probe
    runs in a helper thread with a timeout because a locked Secret Service with a
    display opens an (often invisible) unlock prompt and blocks.
    """
    try:
        keyring = _keyring()
        backend = keyring.get_keyring()
    except Exception as exc:  # noqa: BLE001 - any backend bug means "not usable"
        return False, "unknown", _explain(exc)
    name = backend_name()
    if isinstance(backend, keyring.backends.fail.Keyring):
        return False, name, _explain(keyring.errors.NoKeyringError())
    if isinstance(backend, keyring.backends.null.Keyring):
        return (
            False,
            name,
            "The OS keyring is disabled (PYTHON_KEYRING_BACKEND selects the null backend).",
        )

    try:
        _bounded(backend.get_password, SERVICE, _PROBE_USER, timeout=_PROBE_TIMEOUT_S)
    except _NoAnswer:
        return (
            False,
            name,
            "The OS keyring did not answer (it may be waiting for an unlock prompt).",
        )
    except Exception as exc:  # noqa: BLE001 - reported in words
        return False, name, _explain(exc)
    return True, name, ""


# ---- plaintext opt-in ----------------------------------------------------------------


def _read_plaintext() -> dict[str, str]:
    try:
        raw = json.loads(plaintext_file().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Cannot read {plaintext_file()}: {type(exc).__name__}.") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{plaintext_file()} is not a JSON object.")
    return {str(k): str(v) for k, v in raw.items()}


def _write_plaintext(secrets: dict[str, str]) -> None:
    path = plaintext_file()
    if not secrets:
        path.unlink(missing_ok=True)
        return
    write_json_atomically(path, secrets)  # mode 0600 from the start: never world-readable


# ---- public API ----------------------------------------------------------------------


def store_secret(label: str, secret: str, *, allow_plaintext: bool = False) -> bool:
    """Keep ``secret`` for account ``label``.

    Returns False when it went to the OS keyring, True when it went to the plaintext
    file (only possible with ``allow_plaintext=True`` and no usable keyring). Raises
    ConfigError when no keyring is usable and plaintext was not allowed.
    """
    if not label:
        raise ConfigError("An account needs a name.")
    usable, name, reason = keyring_status()
    if usable:
        try:
            _bounded(_keyring().set_password, SERVICE, label, secret)
        except _NoAnswer:
            raise ConfigError(
                f"Could not save the secret in the OS keyring ({name}): {_NO_ANSWER}"
            ) from None
        except Exception as exc:  # noqa: BLE001 - converted to words
            raise ConfigError(
                f"Could not save the secret in the OS keyring ({name}): {_explain(exc)}"
            ) from None
        with _plaintext_lock:  # an old plaintext copy must not linger
            stored = _read_plaintext()
            if stored.pop(label, None) is not None:
                _write_plaintext(stored)
        return False
    if not allow_plaintext:
        raise NoUsableKeyring(reason)
    with _plaintext_lock:
        stored = _read_plaintext()
        stored[label] = secret
        _write_plaintext(stored)
    return True


def load_secret(label: str) -> str:
    """The secret of account ``label`` (plaintext file first if opted in, else keyring).

    Raises ConfigError when none is stored or the keyring fails.
    """
    with _plaintext_lock:
        stored = _read_plaintext()
    if label in stored:
        return stored[label]
    try:
        secret = _bounded(_keyring().get_password, SERVICE, label)
    except _NoAnswer:
        raise ConfigError(f"Cannot read the secret of account {label}: {_NO_ANSWER}") from None
    except Exception as exc:  # noqa: BLE001 - converted to words
        raise ConfigError(
            f"Cannot read the secret of account {label} from the OS keyring: {_explain(exc)}"
        ) from None
    if not secret:
        raise ConfigError(
            f"No secret stored for account {label}; run 'blobsync account add {label}' again."
        )
    return str(secret)


def delete_secret(label: str) -> None:
    """Forget the secret of account ``label`` everywhere (missing is fine)."""
    with _plaintext_lock:
        stored = _read_plaintext()
        if stored.pop(label, None) is not None:
            _write_plaintext(stored)
    errors = _keyring().errors
    try:
        _bounded(_keyring().delete_password, SERVICE, label)
    except _NoAnswer:
        raise ConfigError(f"Could not delete the secret of account {label}: {_NO_ANSWER}") from None
    except errors.PasswordDeleteError:
        pass  # nothing stored
    except errors.NoKeyringError:
        pass  # no keyring: nothing can be stored there either
    except Exception as exc:  # noqa: BLE001 - converted to words
        raise ConfigError(
            f"Could not delete the secret of account {label} from the OS keyring: {_explain(exc)}"
        ) from None
