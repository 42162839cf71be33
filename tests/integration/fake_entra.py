"""A stand-in for Microsoft Entra ID on 127.0.0.1 (HTTPS): just enough OpenID Connect for
azure-identity/MSAL to run a real device-code sign-in, a real browser sign-in (auth code
+ PKCE, with a scripted "browser"), and refresh-token renewal.

The access tokens it issues are the unsigned JWTs Azurite's ``--oauth basic`` accepts,
so a sign-in here can sync against Azurite. Everything else about Entra ID (the real
sign-in pages, MFA, conditional access, consent, token signatures) is not imitated.
"""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
import threading
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from .conftest import STORAGE_AUDIENCE, unsigned_jwt

TENANT = "11111111-2222-3333-4444-555555555555"
USER_OID = "99999999-8888-7777-6666-555555555555"
USERNAME = "ada@contoso.example"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class FakeEntra:
    """The server; ``grants`` counts token requests by grant type."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.grants: Counter[str] = Counter()
        self.approved = threading.Event()  # the user "entered the code"
        self.pending_polls = 0
        self.codes: dict[str, tuple[str, str]] = {}  # auth code -> (nonce, code_challenge)
        self.refresh_tokens: set[str] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def authority(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeEntra:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ---- what a token answer holds -------------------------------------------------

    def token_answer(self, client_id: str, nonce: str | None = None) -> dict[str, Any]:
        access, _expires = unsigned_jwt(STORAGE_AUDIENCE, 3600, tenant=TENANT, oid=USER_OID)
        claims: dict[str, Any] = {
            "iss": f"{self.authority}/{TENANT}/v2.0",
            "aud": client_id,
            "sub": USER_OID,
            "oid": USER_OID,
            "tid": TENANT,
            "preferred_username": USERNAME,
            "name": "Ada",
            "iat": 0,
            "exp": 4102444800,
        }
        if nonce:
            claims["nonce"] = nonce
        refresh = f"rt-{uuid.uuid4().hex}"
        with self._lock:
            self.refresh_tokens.add(refresh)
        return {
            "token_type": "Bearer",
            "scope": "https://storage.azure.com/.default openid profile offline_access",
            "expires_in": 3600,
            "access_token": access,
            "refresh_token": refresh,
            "id_token": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
            "client_info": _b64({"uid": USER_OID, "utid": TENANT}),
        }

    # ---- the scripted browser -----------------------------------------------------

    def browser(self, url: str, *args: object, **kwargs: object) -> bool:
        """``webbrowser.open`` for tests: the user signs in at once; the redirect is
        posted back (response_mode=form_post) from a thread, as a browser would."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        code = f"code-{uuid.uuid4().hex}"
        with self._lock:
            self.codes[code] = (query.get("nonce", ""), query["code_challenge"])
        form = {"code": code, "state": query["state"]}

        def post() -> None:
            requests.post(query["redirect_uri"], data=form, timeout=30)

        threading.Thread(target=post, daemon=True).start()
        return True


def _handler(entra: FakeEntra) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.endswith("/v2.0/.well-known/openid-configuration"):
                base = f"{entra.authority}/{TENANT}"
                self._json(
                    200,
                    {
                        "issuer": f"{base}/v2.0",
                        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                        "token_endpoint": f"{base}/oauth2/v2.0/token",
                        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                    },
                )
                return
            self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self.path.endswith("/devicecode"):
                self._json(
                    200,
                    {
                        "device_code": "device-code-1",
                        "user_code": "BLOB-SYNC",
                        "verification_uri": f"{entra.authority}/device",
                        "expires_in": 900,
                        "interval": 1,
                        "message": "To sign in, enter BLOB-SYNC",
                    },
                )
                return
            if not self.path.endswith("/token"):
                self._json(404, {"error": "not_found"})
                return
            grant = form.get("grant_type", "")
            entra.grants[grant] += 1
            client_id = form.get("client_id", "")
            if grant == "urn:ietf:params:oauth:grant-type:device_code":
                if not entra.approved.is_set():
                    entra.pending_polls += 1
                    self._json(400, {"error": "authorization_pending"})
                    return
                self._json(200, entra.token_answer(client_id))
            elif grant == "authorization_code":
                nonce, challenge = entra.codes.pop(form.get("code", ""), ("", "?"))
                verifier = form.get("code_verifier", "")
                digest = hashlib.sha256(verifier.encode()).digest()
                if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != challenge:
                    self._json(400, {"error": "invalid_grant", "error_description": "PKCE"})
                    return
                self._json(200, entra.token_answer(client_id, nonce))
            elif grant == "refresh_token":
                if form.get("refresh_token") not in entra.refresh_tokens:
                    self._json(400, {"error": "invalid_grant"})
                    return
                self._json(200, entra.token_answer(client_id))
            else:
                self._json(400, {"error": "unsupported_grant_type"})

    return Handler
