"""
The two clients: :class:`SyncApiClient` (requests) for workers and :class:`AsyncApiClient` (aiohttp)
for triggers. Both send a call's first try directly and hand the tries after it to tenacity
(:class:`~.client_base.ClientBase`), and both send the exact URL of :func:`~.urls.wire_url`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from airflow_provider_pipelines.core.auth import Auth, OutgoingRequest
from airflow_provider_pipelines.core.client_base import ClientBase
from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.core.plans import ApiCall
from airflow_provider_pipelines.core.transport import never_connected
from airflow_provider_pipelines.core.urls import BoundedCache, joined_url, query_string, wire_url

if TYPE_CHECKING:
    import aiohttp
    import requests
    import yarl


class SyncApiClient(ClientBase):
    """The worker's client: one ``requests.Session`` for the life of the hook."""

    _session: requests.Session

    def _init_session(self) -> None:
        import requests

        self._session = requests.Session()
        self._session.verify = self.settings.verify

    def close(self) -> None:
        self._session.close()

    def send(self, call: ApiCall) -> Any:
        try:
            return self._send_once(call)
        except PipelineApiError as error:
            wait = self.first_retry_wait(call, error)
        time.sleep(wait)
        from tenacity import Retrying

        return Retrying(**self.retry_kwargs(call))(self._send_once, call)

    def _send_once(self, call: ApiCall) -> Any:
        import requests

        request = self.outgoing(call)
        for refreshed in (False, True):
            headers = self.request_headers(call, self.auth.headers(request))
            try:
                with self._request(call, request.body, headers) as response:
                    content = self._read(call, response)
            except requests.exceptions.ConnectTimeout as exc:
                raise self.transport_error(call, exc, "connect timeout") from None
            except requests.exceptions.Timeout as exc:
                raise self.transport_error(call, exc, "read timeout") from None
            except requests.exceptions.ConnectionError as exc:
                # requests' SSLError is a failed handshake: no byte of the request went out.
                sent = not isinstance(exc, requests.exceptions.SSLError) and not never_connected(exc)
                raise self.transport_error(call, exc, sent=sent) from None
            except (
                requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema,
                requests.exceptions.InvalidURL,
            ) as exc:
                raise self.transport_error(call, exc, "url") from None
            if response.status_code == 401 and not refreshed and self.auth.invalidate():
                continue
            return self.decode(call, response.status_code, response.headers, content)
        raise AssertionError("unreachable")

    def _request(self, call: ApiCall, body: bytes | None, headers: Mapping[str, str]) -> requests.Response:
        """``Session.request``, but to the exact URL of :func:`wire_url`: requests re-quotes a URL it
        prepares (``%2E`` becomes ``.``), so the prepared request gets that URL back before sending."""
        import requests

        url = wire_url(self.settings.base_url, call.path, call.query())
        session = self._session
        prepared = session.prepare_request(requests.Request(call.method, url, data=body, headers=headers))
        prepared.url = url
        return session.send(
            prepared,
            timeout=(self.settings.connect_timeout, self.settings.read_timeout),
            allow_redirects=False,
            # stream=True: the read is capped. The connection's TLS setting is passed, or requests would
            # let REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace its ca_bundle and verify=false.
            **session.merge_environment_settings(url, {}, True, self.settings.verify, None),
        )

    def _read(self, call: ApiCall, response: requests.Response) -> bytes:
        import requests

        limit = self.settings.max_reply_bytes
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise self.too_large(call, response.status_code)
                chunks.append(chunk)
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            # Cut off in transit, or a Content-Encoding the body does not have (aiohttp: ClientPayloadError).
            raise self.error(call, None, f"the reply could not be read: {exc}", retryable=True) from None
        return b"".join(chunks)


class AsyncApiClient(ClientBase):
    """The triggerer's client: one ``aiohttp.ClientSession`` (a connection pool) while it is open."""

    _session: aiohttp.ClientSession | None

    def _init_session(self) -> None:
        self._session = None  # opened by open()
        # Prepared bodyless requests, polled again and again (core/urls.py; OutgoingRequest is immutable).
        self._request_cache: BoundedCache[tuple[str, str, str], tuple[yarl.URL, OutgoingRequest]] = (
            BoundedCache()
        )

    async def __aenter__(self) -> AsyncApiClient:
        return await self.open()

    async def open(self) -> AsyncApiClient:
        """Open the session (``async with`` does it); :meth:`close` closes it."""
        import aiohttp

        ssl: Any = True
        if self.settings.verify is False:
            ssl = False
        elif isinstance(self.settings.verify, str):
            import ssl as ssl_module

            ssl = ssl_module.create_default_context(cafile=self.settings.verify)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ssl, limit=self.settings.max_connections),
            timeout=aiohttp.ClientTimeout(
                sock_connect=self.settings.connect_timeout, sock_read=self.settings.read_timeout
            ),
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, call: ApiCall) -> Any:
        try:
            return await self._send_once(call)
        except PipelineApiError as error:
            wait = self.first_retry_wait(call, error)
        await asyncio.sleep(wait)
        from tenacity import AsyncRetrying

        return await AsyncRetrying(**self.retry_kwargs(call))(self._send_once, call)

    async def _send_once(self, call: ApiCall) -> Any:

        import aiohttp

        if self._session is None:
            raise RuntimeError("AsyncApiClient must be used inside 'async with'")
        url, request = self._prepared(call)
        auth = self.auth
        # Auth's own aheaders only calls headers: called directly, a poll awaits one coroutine less.
        sync_auth = type(auth).aheaders is Auth.aheaders
        for refreshed in (False, True):
            auth_headers = auth.headers(request) if sync_auth else await auth.aheaders(request)
            headers = self.request_headers(call, auth_headers)
            try:
                async with self._session.request(
                    call.method,
                    url,
                    data=request.body,
                    headers=headers,
                    allow_redirects=False,
                ) as response:
                    length = response.content_length
                    if length is not None and length <= self.settings.max_reply_bytes:
                        content = await response.read()  # the common case, in one read
                    else:
                        content = await self._read(call, response)
                    status, reply_headers = response.status, response.headers
            except aiohttp.ClientConnectorError as exc:
                raise self.transport_error(call, exc, sent=False) from None
            except TimeoutError as exc:
                # aiohttp < 3.10 has no ConnectionTimeoutError: there a timeout counts as possibly sent.
                connect_timeout = getattr(aiohttp, "ConnectionTimeoutError", ())
                kind = "connect timeout" if isinstance(exc, connect_timeout) else "read timeout"
                raise self.transport_error(call, exc, kind) from None
            except (aiohttp.InvalidURL, getattr(aiohttp, "NonHttpUrlClientError", aiohttp.InvalidURL)) as exc:
                raise self.transport_error(call, exc, "url") from None
            except aiohttp.ClientError as exc:
                raise self.transport_error(call, exc) from None
            if status == 401 and not refreshed and self.auth.invalidate():
                continue
            return self.decode(call, status, reply_headers, content)
        raise AssertionError("unreachable")

    def _prepared(self, call: ApiCall) -> tuple[yarl.URL, OutgoingRequest]:
        """The call's URL and what auth may sign; kept for calls without a body, which triggers repeat."""
        key = (call.method, call.path, query_string(call.query()) if call.params else "")
        has_body = call.data is not None or call.json is not None
        prepared = None if has_body else self._request_cache.get(key)
        if prepared is None:
            from yarl import URL

            # encoded=True: yarl would otherwise decode %2E and drop dot segments (see wire_url).
            url = URL(joined_url(self.settings.base_url, call.path, key[2]), encoded=True)
            prepared = (url, self.outgoing(call))
            if not has_body:
                self._request_cache.keep(key, prepared)
        return prepared

    async def _read(self, call: ApiCall, response: aiohttp.ClientResponse) -> bytes:
        limit = self.settings.max_reply_bytes
        # StreamReader.read(n) returns what has arrived so far, not n bytes: read to the end.
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_any():
            size += len(chunk)
            if size > limit:
                raise self.too_large(call, response.status)
            chunks.append(chunk)
        return b"".join(chunks)
