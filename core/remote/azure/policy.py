"""Transport policy for every Azure request: bounded retries, short timeouts, size cut-offs,
and SAS signatures masked in third-party logs.

The SDK's defaults (22-hour read timeout, ~15 s backoff, no 429 retry) are replaced by
:class:`BoundedRetryPolicy` and the timeouts below.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import re
import time
from collections.abc import Callable

from azure.core.exceptions import (
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy

from ...credentials import Credentials, sas_times, utc_now
from ...errors import AuthReason, SignInExpired
from ..blobmeta import (
    MiB,
)
from .errors import sign_in_expired_sentence

#: Contents up to this size go in one Put Blob, their MD5 computed first; larger ones
#: are staged in blocks, UPLOAD_THREADS at a time, and their MD5 is computed while the
#: blocks are read and sent (HashWhileSending, when the file has not changed in the
#: last seconds), then set at Put Block List. Each block carries its own Content-MD5:
#: Azurite stages a 4 MiB block in ~60 ms with it against ~90 ms without (it hashes an
#: unchecked block again itself). So measured here, 256 MiB went up in 1.2-2.2 s as
#: 8 MiB blocks 8-16 at a time against 1.7-4.2 s hashed first and sent as one Put Blob
#: (which rclone 1.75 does not do either: 4 MiB blocks, 16 at a time); at 32 and
#: 64 MiB the two were even. The storage SDK's own single-put limit is 64 MiB too.
SINGLE_SHOT_MAX = 64 * MiB
#: Single-shot contents up to this size are read into memory and checked against their
#: MD5 before sending; larger ones are streamed from the file and the service checks
#: the Content-MD5 (400 Md5Mismatch if the file changed while it was read).
IN_MEMORY_MAX = 4 * MiB
#: Blobs larger than SINGLE_SHOT_MAX go in blocks of at least 8 MiB (grown so that no
#: blob needs more than 50,000), this many staged at a time (8 MiB x 8 and x 16 were the
#: fastest of 4-16 MiB x 4-16 for 256 MiB on Azurite; on Azure parallel blocks are
#: what lifts one connection's limit).
UPLOAD_THREADS = 8
#: Downloads of at least PARALLEL_DOWNLOAD_MIN bytes are read as RANGE_SIZE ranges,
#: DOWNLOAD_THREADS at a time (per store), each pinned to the ETag. Below it, one
#: streamed Get Blob: on Azurite a 256 MiB blob came down in 1.2-2.8 s (0.8-1.3 s client
#: CPU) as one stream against 2.9-3.6 s (1.6 s CPU) as 8 MiB ranges, 4 at a time: the
#: server is single-threaded and the ranges only add client work (bench/RESULTS.md,
#: W4d; again 1.0-1.3 s against 1.2-2.0 s for 8-64 MiB ranges x 2-4 in this round).
#: So one request up to 256 MiB, ranges above.
RANGE_SIZE = 8 * MiB
PARALLEL_DOWNLOAD_MIN = 256 * MiB + 1
DOWNLOAD_THREADS = 4
#: The sizes of a listing's first pages (then the store's page size, 5,000). The next
#: page is asked for before this one is parsed, so the parse overlaps the service's
#: preparing the next; small first pages make that overlap start early. Azurite needs
#: about as long per blob whatever the page size (5,000 blobs: 0.33-0.52 s as pages of
#: 500, 1,000, 2,500 or 5,000 here), and a 5,000-blob page took it 0.35-0.48 s before
#: its first byte, against 0.06-0.09 s for 1,000.
LIST_PAGE_RAMP = (500, 1000, 2000)
CONNECTION_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0
#: Waits before each retry of a retryable status / a dropped connection (plus jitter).
STATUS_BACKOFFS = (0.2, 0.8, 2.0, 4.0)
#: Waits before each retry when the connection could not even be opened: a refused
#: port or unknown host should fail within about a second.
CONNECT_BACKOFFS = (0.2, 0.8)
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Options the storage SDK leaves on a request for its own retry policy.
_STORAGE_RETRY_OPTIONS = (
    "retry_total",
    "retry_connect",
    "retry_read",
    "retry_status",
    "retry_to_secondary",
    "location_mode",
    "hosts",
    "retry_hook",
)
COPY_WAIT_S = 300.0


class BoundedRetryPolicy(HTTPPolicy):  # type: ignore[type-arg]
    """Retries 408/429/500/502/503/504 and dropped connections with short exponential
    backoff + jitter (~7 s in all); never 4xx conflicts or auth failures.

    ``sleep`` is injectable for tests; ``attempts`` counts every try (for tests too).
    """

    def __init__(
        self,
        status_backoffs: tuple[float, ...] = STATUS_BACKOFFS,
        connect_backoffs: tuple[float, ...] = CONNECT_BACKOFFS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        self.status_backoffs = status_backoffs
        self.connect_backoffs = connect_backoffs
        self._sleep = sleep
        self.attempts = 0

    def _wait(self, base: float, retry_after: str | None = None) -> None:
        delay = base * random.uniform(0.8, 1.2)
        if retry_after is not None:
            try:  # honour the service's hint, but never wait longer than our last step
                delay = max(delay, min(float(retry_after), self.status_backoffs[-1]))
            except ValueError:
                pass
        self._sleep(delay)

    def send(self, request: PipelineRequest) -> PipelineResponse:  # type: ignore[type-arg]
        return self.run(request, self.next)

    def run(self, request: PipelineRequest, next_node: HTTPPolicy) -> PipelineResponse:  # type: ignore[type-arg]
        """:meth:`send` with the pipeline's next node given: one policy (its counters,
        its sleep) can serve two pipelines (:class:`RetryVia`)."""
        for option in _STORAGE_RETRY_OPTIONS:
            request.context.options.pop(option, None)
        body = request.http_request.body
        position: int | None = None
        if hasattr(body, "seek") and hasattr(body, "tell"):
            position = body.tell()
        # bytes can be sent again as they are; a stream only if we can rewind it
        resendable = not hasattr(body, "read") or position is not None
        status_tries = 0
        connect_tries = 0
        while True:
            self.attempts += 1
            try:
                response = next_node.send(request)
            except ServiceRequestError:  # never reached the server
                if connect_tries >= len(self.connect_backoffs):
                    raise
                self._wait(self.connect_backoffs[connect_tries])
                connect_tries += 1
            except ServiceResponseError:  # connection reset / timeout while waiting
                if status_tries >= len(self.status_backoffs) or not resendable:
                    raise
                self._wait(self.status_backoffs[status_tries])
                status_tries += 1
            else:
                status = response.http_response.status_code
                # The storage SDK's response handlers read this (its own policy sets it).
                response.http_response.location_mode = "primary"
                if status not in RETRY_STATUSES or status_tries >= len(self.status_backoffs):
                    return response
                if not resendable:
                    return response  # cannot rewind a stream: let the caller see it
                self._wait(
                    self.status_backoffs[status_tries],
                    response.http_response.headers.get("Retry-After"),
                )
                status_tries += 1
            if position is not None:
                body.seek(position)


class SasExpiryCheck:
    """Called before every request, retries included (the SDK's ``raw_request_hook``,
    the lean pipeline's headers policy): refuses to send once the SAS's ``se`` has
    passed, so an expired SAS never looks like a connection failure."""

    def __init__(self, creds: Credentials, expires: dt.datetime) -> None:
        self._creds = creds
        self._expires = expires

    def __call__(self, request: object = None) -> None:
        if utc_now() >= self._expires:
            raise SignInExpired(
                sign_in_expired_sentence(self._creds),
                AuthReason.SAS_EXPIRED,
                expired_at=self._expires,
            )


def sas_expiry_check(creds: Credentials) -> SasExpiryCheck | None:
    """The check for ``creds``' SAS, or None when they carry no SAS with an expiry."""
    times = sas_times(creds)
    if times is None or times.expires is None:
        return None
    return SasExpiryCheck(creds, times.expires)


class RetryVia(HTTPPolicy):  # type: ignore[type-arg]
    """A pipeline's place for a :class:`BoundedRetryPolicy` that another pipeline holds
    too (a policy's ``next`` belongs to one pipeline)."""

    def __init__(self, policy: BoundedRetryPolicy) -> None:
        super().__init__()
        self.policy = policy

    def send(self, request: PipelineRequest) -> PipelineResponse:  # type: ignore[type-arg]
        return self.policy.run(request, self.next)


class RedactSignatures(logging.Filter):
    """Masks SAS signatures in log records: urllib3 logs every request URL, query
    string included, at DEBUG (azure-core's own logging policy already redacts)."""

    _SIG_RE = re.compile(r"(?i)(sig=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "sig=" in message.lower():
            record.msg = self._SIG_RE.sub(r"\1REDACTED", message)
            record.args = ()
        return True


def redact(text: str) -> str:
    """``text`` with any SAS signature masked (for our own log lines)."""
    return RedactSignatures._SIG_RE.sub(r"\1REDACTED", text)


_redactor = RedactSignatures()
for _logger_name in ("urllib3.connectionpool", "urllib3.connection", "requests"):
    if _redactor not in logging.getLogger(_logger_name).filters:
        logging.getLogger(_logger_name).addFilter(_redactor)
