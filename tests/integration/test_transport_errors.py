"""
Transport errors (issue #14 item 9): a failure below HTTP names the platform, the host and port and
the cause in one sentence, the same from the worker's client (requests) and the triggerer's
(aiohttp), in tasks and in "Test connection". Over real loopback sockets: a TLS server with a
self-signed certificate made here, ``https://`` to the plain-HTTP emulator, a closed port, a host
without a scheme, a slow reply.
"""

from __future__ import annotations

import asyncio
import datetime
import http.server
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.emulators.cdap import CdapEmulatorHandle
from airflow_provider_pipelines.hooks.cdap import CdapHook
from tests.integration.conftest import FAST_RETRIES

SECRET = "transport-secret-7f3a9c"  # the connection's password: never in a message
RUN = CdapHook.run_ref("sales", "run-1")
RECORD = {"runid": "run-1", "status": "RUNNING", "name": "default"}


class _Handler(http.server.BaseHTTPRequestHandler):
    timeout = 5

    def do_GET(self) -> None:
        body = json.dumps(RECORD).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class TlsServer:
    """A JSON server on 127.0.0.1 behind a self-signed certificate (for 127.0.0.1), its own CA."""

    def __init__(self, directory: Path) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "transport-errors test")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self.ca_bundle = directory / "ca.pem"
        self.ca_bundle.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file = directory / "key.pem"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_bundle, key_file)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        # Handshakes happen in accept(): a client that rejects the certificate is an OSError there,
        # which socketserver drops quietly.
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    server = TlsServer(tmp_path_factory.mktemp("tls"))
    yield server
    server.close()


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:  # bound, never listening: a connect is refused
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# requests lets these override a session's verify (so the connection's ca_bundle and verify=false):
# see test_ca_bundle_beats_requests_ca_bundle_in_the_environment.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def connect(monkeypatch: pytest.MonkeyPatch, host: str, **extras: Any) -> CdapHook:
    """``cdap_default`` at ``host`` (one try: these failures are about the message), and a hook on it."""
    for variable in CA_BUNDLE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    conn = {
        "conn_type": "cdap",
        "host": host,
        "password": SECRET,
        "extra": {**FAST_RETRIES, "retry_attempts": 1, **extras},
    }
    monkeypatch.setenv("AIRFLOW_CONN_CDAP_DEFAULT", json.dumps(conn))
    return CdapHook()


def assert_works(hook: CdapHook) -> None:
    works, message = hook.test_connection()
    assert works, message
    assert message.startswith("CDAP connection works")


def sync_error(hook: CdapHook) -> PipelineApiError:
    """The worker's error, checked to be what "Test connection" shows too."""
    with pytest.raises(PipelineApiError) as info:
        hook.check_connection()
    assert hook.test_connection() == (False, str(info.value))
    return info.value


def async_error(hook: CdapHook) -> PipelineApiError:
    async def poll() -> None:
        async with hook.async_client() as client:
            await hook.aget_run_status(RUN, client)

    with pytest.raises(PipelineApiError) as info:
        asyncio.run(poll())
    return info.value


def both(hook: CdapHook) -> list[PipelineApiError]:
    """The same failure from both clients: same message (but the call's name), same flags."""
    errors = [sync_error(hook), async_error(hook)]
    sync, trigger = errors
    assert str(sync).startswith("CDAP get namespace failed (no reply): ")
    assert str(trigger).startswith("CDAP get run failed (no reply): ")
    assert sync.message == trigger.message
    assert (sync.status, sync.sent, sync.retryable) == (trigger.status, trigger.sent, trigger.retryable)
    for error in errors:
        text = str(error)
        assert SECRET not in text
        assert "\n" not in text
        assert "object has no attribute" not in text
    return errors


def test_self_signed_certificate(monkeypatch: pytest.MonkeyPatch, tls_server: TlsServer) -> None:
    where = f"127.0.0.1:{tls_server.port}"
    for error in both(connect(monkeypatch, f"https://{where}")):
        assert error.message == (
            f"cannot verify the TLS certificate of {where} (self-signed certificate): "
            "set the connection's ca_bundle extra, or verify=false for testing"
        )
        assert (error.sent, error.retryable) == (False, False)


def test_ca_bundle_trusts_the_self_signed_certificate(
    monkeypatch: pytest.MonkeyPatch, tls_server: TlsServer
) -> None:
    hook = connect(monkeypatch, f"https://127.0.0.1:{tls_server.port}", ca_bundle=str(tls_server.ca_bundle))
    assert_works(hook)

    async def poll() -> str:
        async with hook.async_client() as client:
            return (await hook.aget_run_status(RUN, client)).raw_state

    assert asyncio.run(poll()) == "RUNNING"


def test_ca_bundle_beats_requests_ca_bundle_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, tls_server: TlsServer
) -> None:
    hook = connect(monkeypatch, f"https://127.0.0.1:{tls_server.port}", ca_bundle=str(tls_server.ca_bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ssl.get_default_verify_paths().openssl_cafile)
    assert_works(hook)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verify_false_skips_the_check(monkeypatch: pytest.MonkeyPatch, tls_server: TlsServer) -> None:
    hook = connect(monkeypatch, f"https://127.0.0.1:{tls_server.port}", verify="false")
    assert_works(hook)


def test_certificate_for_another_host_name(monkeypatch: pytest.MonkeyPatch, tls_server: TlsServer) -> None:
    # Trusted, but issued for 127.0.0.1, not for "localhost".
    hook = connect(monkeypatch, f"https://localhost:{tls_server.port}", ca_bundle=str(tls_server.ca_bundle))
    for error in both(hook):
        assert error.message.startswith(f"cannot verify the TLS certificate of localhost:{tls_server.port} (")
        assert "mismatch" in error.message
        assert error.message.endswith(
            "use a host name the certificate is issued for, or verify=false for testing"
        )
        assert (error.sent, error.retryable) == (False, False)


def test_https_to_a_plain_http_port(
    monkeypatch: pytest.MonkeyPatch, cdap_emulator: CdapEmulatorHandle
) -> None:
    where = cdap_emulator.url.split("://", 1)[1].rstrip("/")
    for error in both(connect(monkeypatch, f"https://{where}")):
        assert error.message.startswith(f"{where} does not answer in TLS (")
        assert "wrong version number" in error.message or "record layer failure" in error.message
        assert "start the connection's host with http://" in error.message
        assert (error.sent, error.retryable) == (False, False)


def test_host_without_a_scheme_is_https(
    monkeypatch: pytest.MonkeyPatch, cdap_emulator: CdapEmulatorHandle
) -> None:
    where = cdap_emulator.url.split("://", 1)[1].rstrip("/")
    for error in both(connect(monkeypatch, where)):
        assert error.message.startswith(f"{where} does not answer in TLS (")
        assert "(a host without a scheme is taken as https://)" in error.message


def test_connection_refused(monkeypatch: pytest.MonkeyPatch, closed_port: int) -> None:
    where = f"127.0.0.1:{closed_port}"
    for error in both(connect(monkeypatch, f"http://{where}")):
        assert error.message == (
            f"cannot connect to {where} (connection refused): "
            "check the connection's host and port, and that the platform is up"
        )
        assert (error.sent, error.retryable) == (False, True)


def test_unknown_host_name(monkeypatch: pytest.MonkeyPatch) -> None:
    # .invalid never resolves (RFC 6761).
    for error in both(connect(monkeypatch, "http://no-such-host.invalid:8080")):
        assert error.message.startswith("cannot resolve the host name of no-such-host.invalid:8080 (")
        assert error.message.endswith("): check the connection's host")
        assert (error.sent, error.retryable) == (False, True)


def test_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    # A listener whose accept queue is full: Linux drops further SYNs, so a connect hangs.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):  # fills the queue
            for error in both(connect(monkeypatch, f"http://127.0.0.1:{port}", connect_timeout=0.3)):
                assert error.message == (
                    f"cannot connect to 127.0.0.1:{port} (connect timed out after 0.3s): check the host, "
                    "port and firewalls, or raise the connection's connect_timeout extra"
                )
                assert (error.sent, error.retryable) == (False, True)


def test_read_timeout(monkeypatch: pytest.MonkeyPatch, cdap_emulator: CdapEmulatorHandle) -> None:
    cdap_emulator.add_fault("GET", r"/namespaces/default$", "slow", times=2, seconds=0.5)
    cdap_emulator.add_fault("GET", r"/runs/run-1$", "slow", seconds=0.5)
    where = cdap_emulator.url.split("://", 1)[1].rstrip("/")
    sync = sync_error(connect(monkeypatch, cdap_emulator.url, timeout=0.2))
    trigger = async_error(connect(monkeypatch, cdap_emulator.url, timeout=0.2))
    for error in (sync, trigger):
        assert error.message.startswith(f"{where} did not reply (read timed out after 0.2s): ")
        assert (error.status, error.sent, error.retryable) == (None, True, True)


def test_url_without_a_scheme(closed_port: int) -> None:
    """A base URL with no scheme (the connection form always adds one; a hand-made one may not)."""
    from airflow_provider_pipelines.core.clients import AsyncApiClient, SyncApiClient
    from airflow_provider_pipelines.core.plans import ApiCall
    from airflow_provider_pipelines.core.settings import HttpSettings

    settings = HttpSettings(base_url=f"127.0.0.1:{closed_port}/api")
    call = ApiCall("get namespace", "GET", "/v3/namespaces/default")
    expected = (
        f"the URL of 127.0.0.1:{closed_port} has no scheme: "
        "set the connection's host to a URL that starts with https:// or http://"
    )
    with pytest.raises(PipelineApiError) as sync:
        SyncApiClient("CDAP", settings).send(call)

    async def send() -> None:
        async with AsyncApiClient("CDAP", settings) as client:
            await client.send(call)

    with pytest.raises(PipelineApiError) as trigger:
        asyncio.run(send())
    for error in (sync.value, trigger.value):
        assert error.message == expected
        assert (error.sent, error.retryable) == (False, False)
