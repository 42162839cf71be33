"""What the app says once and then shows as a state: a SAS about to end, an ended SAS,
blobs archived in the container.

:class:`Notices` sits beside the :class:`~.controller.Controller` (which creates it)
and only uses its public signals and statuses:

- **SAS expiry.** Every minute (and when pairs or accounts change) it asks the
  application layer for each pair's account expiry
  (:meth:`~blobsync.core.app.service.AppService.account_expiry`, from the settings:
  no keyring, no network) and puts it in the pair's
  :class:`~blobsync.core.app.status.PairStatus`, which turns it into the pair's state
  ("SAS expires soon", "Sign-in expired — update the SAS"). The tray notification
  comes once per account and state. ``clock`` is injectable (tests use a fake one).
- **Archived blobs.** After each sync the run's archived blobs go to the pair's status
  and to ``archived_changed``; the blobs a run saw first are announced once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from blobsync.core.app.expiry import expiry_words
from blobsync.core.credentials import ExpiryState, utc_now
from blobsync.core.errors import ConfigError
from blobsync.core.models import SyncResult

if TYPE_CHECKING:
    from .controller import Controller

CHECK_INTERVAL_MS = 60_000
_WARNED_STATES = (ExpiryState.EXPIRES_SOON, ExpiryState.EXPIRED)


class Notices(QObject):
    """SAS expiry and archived blobs for every pair (see the module docstring)."""

    #: (pair_id, list[ArchivedBlob]) after a sync of that pair.
    archived_changed = Signal(str, object)

    def __init__(self, controller: Controller, clock: Callable[[], dt.datetime] = utc_now) -> None:
        super().__init__(controller)
        self.controller = controller
        self.clock = clock
        self._warned: set[tuple[str, ExpiryState]] = set()
        self._seen_results: dict[str, SyncResult] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(CHECK_INTERVAL_MS)
        self._timer.timeout.connect(self.check_expiry)
        self._timer.start()
        controller.pairs_changed.connect(self.check_expiry)
        controller.accounts_changed.connect(self.check_expiry)
        controller.pair_updated.connect(self._on_pair_updated)
        # After the controller has attached its pairs (it creates us last); a child
        # timer, so it dies with us.
        self._first = QTimer(self)
        self._first.setSingleShot(True)
        self._first.setInterval(0)
        self._first.timeout.connect(self.check_expiry)
        self._first.start()

    def stop(self) -> None:
        """No more checks (the controller is shutting down)."""
        self._timer.stop()
        self._first.stop()

    @Slot()
    def check_expiry(self) -> None:
        """Refresh every pair's expiry state; warn once per account about a change."""
        ctl = self.controller
        now = self.clock()
        changed = False
        for pair in ctl.pairs():
            try:
                expiry = ctl.service.account_expiry(pair.account, now)
            except ConfigError:
                continue  # its account is gone
            status = ctl.status(pair.pair_id)
            if status.expiry != expiry:
                before = status.expiry.state if status.expiry else ExpiryState.UNKNOWN
                status.expiry = expiry
                if before is not expiry.state or expiry.state is ExpiryState.EXPIRES_SOON:
                    # (the days left change the words shown for EXPIRES_SOON)
                    changed = changed or before is not expiry.state
                    ctl.pair_updated.emit(pair.pair_id)
            key = (pair.account, expiry.state)
            if expiry.state not in _WARNED_STATES:  # renewed: warn again next time
                self._warned = {k for k in self._warned if k[0] != pair.account}
            elif key not in self._warned:
                self._warned.add(key)
                title = (
                    "Sign-in expired"
                    if expiry.state is ExpiryState.EXPIRED
                    else "A SAS expires soon"
                )
                ctl.notify.emit(
                    title,
                    expiry_words(expiry, pair.account),
                    expiry.state is ExpiryState.EXPIRED,
                )
        if changed:
            ctl.overview_changed.emit(ctl.overview())

    @Slot(str)
    def _on_pair_updated(self, pair_id: str) -> None:
        status = self.controller.status(pair_id)
        result = status.last_result
        if result is None or self._seen_results.get(pair_id) is result:
            return
        self._seen_results[pair_id] = result
        self._take_archived(pair_id, result)

    def _take_archived(self, pair_id: str, result: SyncResult) -> None:
        status = self.controller.status(pair_id)
        status.archived = list(result.archived)
        self.archived_changed.emit(pair_id, list(result.archived))
        if result.archived_new:
            pair = self.controller.pair(pair_id)
            n = result.archived_new
            where = f" ({pair.container})" if pair else ""
            self.controller.notify.emit(
                f"Archived in the container — not synced{where}",
                f"{n} blob{'s are' if n != 1 else ' is'} in the Archive tier and will not be "
                "synced until rehydrated (see the issues list).",
                False,
            )
