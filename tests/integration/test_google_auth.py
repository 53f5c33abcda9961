"""Google auth for Data Fusion: a real service-account key, real google-auth, a local token endpoint.

Google's token endpoint is the one thing that cannot be real here: a small local HTTP server plays it.
It checks the signed JWT assertion google-auth sends (signature with the key's public half, issuer,
audience, scope) and issues numbered access tokens; the CDAP emulator is told which token to accept.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from airflow_provider_pipelines.core.errors import PipelineApiError, PipelineError
from airflow_provider_pipelines.core.google_auth import CLOUD_PLATFORM_SCOPE, GoogleCredentialsAuth
from airflow_provider_pipelines.emulators.cdap import CdapEmulatorHandle
from airflow_provider_pipelines.hooks.cdap import CdapHook
from airflow_provider_pipelines.triggers.cdap import CdapPipelineRunTrigger

CLIENT_EMAIL = "airflow@test-project.iam.gserviceaccount.com"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"  # google-auth's audience, whatever token_uri


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenEndpoint:
    """Plays https://oauth2.googleapis.com/token for one service account."""

    def __init__(self, public_key: rsa.RSAPublicKey) -> None:
        self.public_key = public_key
        self.expires_in = 3600
        self.reject_with: str | None = None
        self.issued: list[str] = []
        self._lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                status, reply = endpoint.answer(form)
                body = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def answer(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if self.reject_with:
            return 400, {"error": "invalid_grant", "error_description": self.reject_with}
        problem = self.check(form)
        if problem:
            return 400, {"error": "invalid_grant", "error_description": problem}
        with self._lock:
            token = f"ya29.stand-in-token-{len(self.issued) + 1}"
            self.issued.append(token)
        return 200, {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}

    def check(self, form: dict[str, str]) -> str | None:
        if form.get("grant_type") != JWT_GRANT:
            return "unsupported grant_type"
        try:
            header, payload, signature = form["assertion"].split(".")
            self.public_key.verify(
                _unb64(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
            claims = json.loads(_unb64(payload))
        except Exception as exc:
            return f"Invalid JWT Signature ({type(exc).__name__})"
        if claims.get("iss") != CLIENT_EMAIL or claims.get("aud") != GOOGLE_TOKEN_AUDIENCE:
            return "Invalid JWT: wrong issuer or audience"
        if CLOUD_PLATFORM_SCOPE not in str(claims.get("scope", "")).split():
            return "Invalid JWT: missing scope"
        if not claims.get("iat", 0) <= time.time() + 5 < claims.get("exp", 0):
            return "Invalid JWT: expired"
        return None

    def next_token(self) -> str:
        return f"ya29.stand-in-token-{len(self.issued) + 1}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def token_endpoint(private_key: rsa.RSAPrivateKey) -> Iterator[TokenEndpoint]:
    endpoint = TokenEndpoint(private_key.public_key())
    yield endpoint
    endpoint.stop()


@pytest.fixture
def keyfile(private_key: rsa.RSAPrivateKey, token_endpoint: TokenEndpoint) -> dict[str, str]:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": CLIENT_EMAIL,
        "client_id": "1234567890",
        "token_uri": token_endpoint.url,
    }


def connect(
    monkeypatch: pytest.MonkeyPatch,
    host: str,
    keyfile: dict[str, str] | str,
    conn_id: str = "cdap_google",
    **extras: Any,
) -> CdapHook:
    conn = {
        "conn_type": "cdap",
        "host": host,
        "extra": {"keyfile_dict": keyfile, "retry_initial_wait": 0.01, "retry_max_wait": 0.02, **extras},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return CdapHook(cdap_conn_id=conn_id)


def assert_no_key(text: str, keyfile: dict[str, str]) -> None:
    body = keyfile["private_key"].splitlines()[1:-1]  # the base64 lines of the PEM
    assert "PRIVATE KEY" not in text
    assert not any(line in text for line in body)


def test_hook_sends_the_google_token_and_caches_it(
    cdap: CdapEmulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
    token_endpoint: TokenEndpoint,
    keyfile: dict[str, str],
) -> None:
    cdap.config.token = token_endpoint.next_token()
    hook = connect(monkeypatch, cdap.api_url, keyfile, auth_type="google")
    assert isinstance(hook.client.auth, GoogleCredentialsAuth)

    ok, message = hook.test_connection()
    assert ok and message.startswith("CDAP connection works: read namespace default"), message
    run_id = hook.start_pipeline("sales")
    assert hook.get_run("sales", run_id)["runid"] == run_id
    assert token_endpoint.issued == ["ya29.stand-in-token-1"]  # an hour-long token is reused
    assert "GET get_namespace" in cdap.stats()["requests"]


def test_a_revoked_token_is_replaced_after_one_401(
    cdap: CdapEmulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
    token_endpoint: TokenEndpoint,
    keyfile: dict[str, str],
) -> None:
    cdap.config.token = token_endpoint.next_token()
    hook = connect(monkeypatch, cdap.url, keyfile)  # auth_type inferred from keyfile_dict
    hook.check_connection()
    cdap.config.token = token_endpoint.next_token()  # the server no longer takes the first token
    hook.check_connection()
    assert token_endpoint.issued == ["ya29.stand-in-token-1", "ya29.stand-in-token-2"]
    assert cdap.stats()["requests"]["GET get_namespace"] == 3  # one 401, then the new token


def test_token_near_expiry_is_refreshed_before_each_call(
    cdap: CdapEmulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
    token_endpoint: TokenEndpoint,
    keyfile: dict[str, str],
) -> None:
    token_endpoint.expires_in = 300  # already within the 300 s refresh margin when issued
    hook = connect(monkeypatch, cdap.url, json.dumps(keyfile))  # the key as a JSON string
    for call in range(1, 4):
        cdap.config.token = token_endpoint.next_token()
        hook.check_connection()
        assert len(token_endpoint.issued) == call
    # Refreshed before sending, never after a 401: one request per call.
    assert cdap.stats()["requests"]["GET get_namespace"] == 3


def test_async_path_and_trigger_use_the_google_token(
    cdap: CdapEmulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
    token_endpoint: TokenEndpoint,
    keyfile: dict[str, str],
) -> None:
    cdap.config.token = token_endpoint.next_token()
    hook = connect(monkeypatch, cdap.url, keyfile)
    run_id = hook.start_pipeline("sales")
    cdap.config.token = token_endpoint.next_token()  # the trigger's hook gets a token of its own
    trigger = CdapPipelineRunTrigger(
        "cdap_google", hook.run_ref("sales", run_id), poll_interval=0.02, deadline=time.time() + 10
    )

    async def first_event() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("no event")

    event = asyncio.run(first_event())
    assert event["status"] == "success", event
    assert token_endpoint.issued == ["ya29.stand-in-token-1", "ya29.stand-in-token-2"]  # hook + trigger
    assert cdap.stats()["requests"]["GET get_run"] >= 2

    async def refreshed_each_call() -> None:
        token_endpoint.expires_in = 300
        async with hook.async_client() as client:
            for _ in range(2):
                cdap.config.token = token_endpoint.next_token()
                await hook.aget_run_status(hook.run_ref("sales", run_id), client)

    asyncio.run(refreshed_each_call())
    assert len(token_endpoint.issued) == 4


def test_private_key_never_shown(
    cdap: CdapEmulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
    token_endpoint: TokenEndpoint,
    keyfile: dict[str, str],
) -> None:
    hook = connect(monkeypatch, cdap.url, keyfile)
    for shown in (repr(hook), repr(hook.client), repr(hook.client.auth)):
        assert_no_key(shown, keyfile)
    assert repr(hook.client.auth) == "GoogleCredentialsAuth(service-account key)"

    token_endpoint.reject_with = "Invalid JWT Signature."
    with pytest.raises(PipelineError) as info:
        hook.check_connection()
    assert not isinstance(info.value, PipelineApiError)
    assert str(info.value).startswith("could not get a Google access token: RefreshError")
    assert "invalid_grant" in str(info.value)
    assert_no_key(str(info.value), keyfile)
    assert "GET get_namespace" not in cdap.stats()["requests"]  # nothing sent without a token


def test_broken_key_is_a_clear_error_without_the_key(
    cdap: CdapEmulatorHandle, monkeypatch: pytest.MonkeyPatch, keyfile: dict[str, str]
) -> None:
    lines = keyfile["private_key"].splitlines()
    broken = {**keyfile, "private_key": "\n".join([lines[0], lines[1], lines[-1]]) + "\n"}  # cut short
    hook = connect(monkeypatch, cdap.url, broken)
    with pytest.raises(PipelineError) as info:
        hook.check_connection()
    assert str(info.value).startswith("could not get a Google access token: ValueError")
    assert_no_key(str(info.value), keyfile)

    # The trigger turns it into an error event instead of dying.
    trigger = CdapPipelineRunTrigger("cdap_google", CdapHook.run_ref("sales", "r1"), poll_interval=0.02)

    async def first_event() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("no event")

    event = asyncio.run(first_event())
    assert event["status"] == "error"
    assert "could not get a Google access token" in event["message"]
    assert_no_key(json.dumps(event), keyfile)


def test_missing_google_auth_says_to_install_the_extra(
    cdap: CdapEmulatorHandle, monkeypatch: pytest.MonkeyPatch, keyfile: dict[str, str]
) -> None:
    # As if google-auth were not installed: every google.* import fails.
    for name in [n for n in sys.modules if n == "google" or n.startswith("google.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "google", None)

    hook = connect(monkeypatch, cdap.url, keyfile)
    with pytest.raises(PipelineError) as info:
        hook.check_connection()
    assert "pip install 'airflow-provider-pipelines[google]'" in str(info.value)

    ok, message = hook.test_connection()
    assert not ok
    assert "airflow-provider-pipelines[google]" in message
