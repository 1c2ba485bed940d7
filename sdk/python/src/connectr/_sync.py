"""The synchronous client. Request building, retries and error mapping live in _core.py."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Type, TypeVar

import httpx

from . import _core as c
from . import _types as t

T = TypeVar("T")

__all__ = ["Client", "ProxyResponse"]


class ProxyResponse:
    """The upstream API's answer through the raw proxy, streamed: read it with :meth:`iter_bytes`
    (or :meth:`read`), and close it (``with client.proxy(...) as r:``)."""

    def __init__(self, response: httpx.Response, call: c.Call[Any], prefix: bytes, rest: Optional[Iterator[bytes]]):
        self._response = response
        self._call = call
        self._prefix = prefix
        self._rest = rest

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self._response.headers

    @property
    def request_id(self) -> Optional[str]:
        value: Optional[str] = self._response.headers.get("x-request-id")
        return value

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def iter_bytes(self, chunk_size: Optional[int] = None) -> Iterator[bytes]:
        """The body as it arrives (content-encoding undone). A cut connection raises ConnectrConnectionError."""
        if self._prefix:
            prefix, self._prefix = self._prefix, b""
            yield prefix
        rest = self._rest if self._rest is not None else self._response.iter_bytes(chunk_size)
        self._rest = iter(())
        try:
            yield from rest
        except httpx.RequestError as exc:
            raise c.transport_error(exc, self._call) from exc
        finally:
            self._response.close()

    def read(self) -> bytes:
        """The whole body in memory (for small answers; stream large ones with iter_bytes)."""
        return b"".join(self.iter_bytes())

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> "ProxyResponse":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ProxyResponse {self.status_code}>"


def _execute_stream(head: bytes, tail: bytes, source: Any) -> Iterator[bytes]:
    yield head
    encoder = c.Base64Stream()
    for chunk in c.file_chunks(source):
        piece = encoder.feed(chunk)
        if piece:
            yield piece
    yield encoder.end()
    yield tail


class Client:
    """A client of a ``connectr serve`` REST API.

    ``base_url`` defaults to ``$CONNECTR_URL``, else http://127.0.0.1:5000; ``api_key`` to
    ``$CONNECTR_API_KEY``. ``timeout`` (seconds, or an ``httpx.Timeout``) bounds each network
    operation; ``max_retries`` / ``retry_policy`` say how often and how long to retry; ``sleep``
    is what waits between attempts (tests pass a fake).
    """

    def __init__(
        self,
        base_url: Optional[str] = None,
        api_key: Optional[str] = None,
        *,
        timeout: c.TimeoutTypes = None,
        max_retries: Optional[int] = None,
        retry_policy: Optional[c.RetryPolicy] = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: Optional[httpx.BaseTransport] = None,
        trust_env: bool = True,
    ) -> None:
        self._config = c.Config(base_url, api_key, timeout, retry_policy, max_retries)
        self._sleep = sleep
        self._http = httpx.Client(transport=transport, follow_redirects=False, trust_env=trust_env)

    @property
    def base_url(self) -> str:
        return self._config.base_url

    def __repr__(self) -> str:
        return self._config.describe("Client")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()

    # --- sending ---------------------------------------------------------------------------

    def _send(self, call: c.Call[Any]) -> httpx.Response:
        """Sends with retries; returns the (streamed, open) answer of the last attempt."""
        attempt = 0
        while True:
            request = self._config.build(self._http, call)
            try:
                response = self._http.send(request, stream=True)
            except httpx.RequestError as exc:
                delay = self._config.retry_delay(call, attempt, None)
                if delay is None:
                    raise c.transport_error(exc, call) from exc
            else:
                delay = self._config.retry_delay(call, attempt, response)
                if delay is None:
                    return response
                response.close()
            self._sleep(delay)
            attempt += 1

    def _read(self, response: httpx.Response, call: c.Call[Any], limit: int, cut: bool = False) -> bytes:
        body = bytearray()
        try:
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limit:
                    if cut:
                        break
                    raise c.too_large(call, limit)
        except httpx.RequestError as exc:
            raise c.transport_error(exc, call) from exc
        finally:
            response.close()
        return bytes(body)

    def _raise_for_status(self, response: httpx.Response, call: c.Call[Any]) -> None:
        if response.status_code >= 400:
            raise c.status_error(response, self._read(response, call, c.MAX_ERROR_BYTES, cut=True))

    def _request(self, call: c.Call[T]) -> T:
        response = self._send(call)
        self._raise_for_status(response, call)
        body = self._read(response, call, c.MAX_JSON_BYTES)
        if call.kind == "text":
            return call.decode(body.decode("utf-8", "replace"))
        return call.decode(c.decode_json(response, body, call))

    # --- operations --------------------------------------------------------------------------

    def health(self, *, timeout: c.TimeoutTypes = None) -> t.Health:
        """GET /health (no key needed): ``{"status": "ok", "version"}``."""
        return self._request(c.health(timeout))

    def ready(self, *, timeout: c.TimeoutTypes = None) -> t.Ready:
        """GET /ready (no key needed): ``{"status": "ready"}``, else UnavailableError."""
        return self._request(c.ready(timeout))

    def openapi(self, *, timeout: c.TimeoutTypes = None) -> Dict[str, Any]:
        """GET /openapi.json: the server's OpenAPI 3 document."""
        return self._request(c.openapi(timeout))

    def metrics(self, *, timeout: c.TimeoutTypes = None) -> str:
        """GET /metrics: Prometheus text."""
        return self._request(c.metrics(timeout))

    # --- connectors -----------------------------------------------------------------------------

    def list_connectors(self, *, timeout: c.TimeoutTypes = None) -> List[t.ConnectorSummary]:
        return self._request(c.list_connectors(timeout))

    def get_connector(self, name: str, *, timeout: c.TimeoutTypes = None) -> t.Connector:
        return self._request(c.get_connector(name, timeout))

    def list_endpoints(self, name: str, *, timeout: c.TimeoutTypes = None) -> List[t.Endpoint]:
        return self._request(c.list_endpoints(name, timeout))

    # --- connections -----------------------------------------------------------------------------

    def create_connection(
        self,
        connector_type: str,
        name: str,
        *,
        user_id: Optional[str] = None,
        connector_version: Optional[int] = None,
        retry: Optional[bool] = None,
        timeout: c.TimeoutTypes = None,
    ) -> t.Connection:
        """POST /api/v1/connections (201, status ``pending``). A POST: not retried unless ``retry=True``.

        ``connector_version`` pins the connection to that connector version (default: the newest).
        """
        return self._request(
            c.create_connection(connector_type, name, user_id, retry, timeout, connector_version)
        )

    def get_connection(self, connection_id: str, *, timeout: c.TimeoutTypes = None) -> t.Connection:
        return self._request(c.get_connection(connection_id, timeout))

    def list_connections(
        self,
        *,
        user_id: Optional[str] = None,
        connector_type: Optional[str] = None,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
        timeout: c.TimeoutTypes = None,
    ) -> t.ConnectionPage:
        """One page: ``{"connections": [...], "next_cursor": ...}``; see :meth:`iter_connections`."""
        return self._request(c.list_connections(user_id, connector_type, limit, cursor, timeout))

    def iter_connections(
        self,
        *,
        user_id: Optional[str] = None,
        connector_type: Optional[str] = None,
        page_size: Optional[int] = None,
        timeout: c.TimeoutTypes = None,
    ) -> Iterator[t.Connection]:
        """Every connection, following ``next_cursor`` page after page."""
        cursor: Optional[str] = None
        seen = set()
        for _ in range(c.MAX_PAGES):
            page = self.list_connections(
                user_id=user_id, connector_type=connector_type, limit=page_size, cursor=cursor, timeout=timeout
            )
            yield from page["connections"]
            cursor = page.get("next_cursor")
            if cursor is None or cursor in seen:
                return
            seen.add(cursor)

    def delete_connection(
        self, connection_id: str, *, retry: Optional[bool] = None, timeout: c.TimeoutTypes = None
    ) -> t.ConnectionDeleted:
        """DELETE: revokes the grant at the provider when it can, then deletes."""
        return self._request(c.delete_connection(connection_id, retry, timeout))

    def put_credentials(
        self,
        connection_id: str,
        *,
        api_key: Optional[str] = None,
        username: Optional[str] = None,
        password: Optional[str] = None,
        access_token: Optional[str] = None,
        refresh_token: Optional[str] = None,
        token_type: Optional[str] = None,
        expires_at: Optional[str] = None,
        expires_in: Optional[int] = None,
        scopes: Optional[List[str]] = None,
        account: Optional[str] = None,
        retry: Optional[bool] = None,
        timeout: c.TimeoutTypes = None,
    ) -> t.Connection:
        """PUT /connections/{id}/credentials: an API key, a user name and password, or an OAuth token set."""
        fields = dict(
            api_key=api_key,
            username=username,
            password=password,
            access_token=access_token,
            refresh_token=refresh_token,
            token_type=token_type,
            expires_at=expires_at,
            expires_in=expires_in,
            scopes=scopes,
            account=account,
        )
        return self._request(c.put_credentials(connection_id, fields, retry, timeout))

    def get_token(self, connection_id: str, *, timeout: c.TimeoutTypes = None) -> t.Token:
        """GET /connections/{id}/token (keys created with --allow-token only; else ForbiddenError)."""
        return self._request(c.get_token(connection_id, timeout))

    # --- OAuth -------------------------------------------------------------------------------------

    def authorize(
        self,
        connection_id: Optional[str] = None,
        *,
        connector_type: Optional[str] = None,
        redirect_uri: Optional[str] = None,
        return_url: Optional[str] = None,
        retry: Optional[bool] = None,
        timeout: c.TimeoutTypes = None,
    ) -> t.Authorization:
        """POST /oauth/authorize: give ``connection_id``, or ``connector_type`` (the old form: a
        sign-in that belongs to no connection until :meth:`oauth_callback` completes it into one)."""
        return self._request(c.authorize(connection_id, connector_type, redirect_uri, return_url, retry, timeout))

    def oauth_callback(
        self,
        connection_id: str,
        code: str,
        redirect_uri: str,
        *,
        state: Optional[str] = None,
        timeout: c.TimeoutTypes = None,
    ) -> t.CallbackResult:
        """POST /oauth/callback (the code-only flow). Never retried: a code is good once."""
        return self._request(c.oauth_callback(connection_id, code, redirect_uri, state, timeout))

    # The old platform's names and signatures, so that moving to connectr is a change of import.

    def initiate_oauth(self, connector_type: str, redirect_uri: str, *, timeout: c.TimeoutTypes = None) -> str:
        """The old platform's name: starts a sign-in of ``connector_type`` that belongs to no
        connection yet and returns the provider's URL to send the user's browser to. The app's
        ``redirect_uri`` receives the code; :meth:`complete_oauth` hands it over.
        ``authorize(connector_type=..., redirect_uri=...)["authorization_url"]``."""
        started = self.authorize(connector_type=connector_type, redirect_uri=redirect_uri, timeout=timeout)
        return started["authorization_url"]

    def complete_oauth(
        self,
        connection_id: str,
        code: str,
        redirect_uri: str,
        *,
        state: Optional[str] = None,
        timeout: c.TimeoutTypes = None,
    ) -> t.CallbackResult:
        """The old platform's name for :meth:`oauth_callback`: completes the one sign-in pending
        for this connection's connector and ``redirect_uri`` into ``connection_id`` (with
        several pending, give ``state``)."""
        return self.oauth_callback(connection_id, code, redirect_uri, state=state, timeout=timeout)

    def put_oauth_app(
        self,
        connector: str,
        client_id: str,
        client_secret: Optional[str] = None,
        *,
        retry: Optional[bool] = None,
        timeout: c.TimeoutTypes = None,
    ) -> t.OAuthApp:
        return self._request(c.put_oauth_app(connector, client_id, client_secret, retry, timeout))

    def list_oauth_apps(self, *, timeout: c.TimeoutTypes = None) -> List[t.OAuthApp]:
        return self._request(c.list_oauth_apps(timeout))

    def delete_oauth_app(
        self, connector: str, *, retry: Optional[bool] = None, timeout: c.TimeoutTypes = None
    ) -> t.OAuthAppDeleted:
        return self._request(c.delete_oauth_app(connector, retry, timeout))

    # --- webhooks -----------------------------------------------------------------------------------

    def create_webhook(
        self,
        url: str,
        *,
        events: Optional[List[str]] = None,
        description: Optional[str] = None,
        retry: Optional[bool] = None,
        timeout: c.TimeoutTypes = None,
    ) -> t.WebhookWithSecret:
        """POST /api/v1/webhooks (201): ``url`` is https, or http to a loopback address; ``events``
        default to all. The answer's ``secret`` (``whsec_...``) is shown this once. A POST: not
        retried unless ``retry=True``."""
        return self._request(c.create_webhook(url, events, description, retry, timeout))

    def list_webhooks(self, *, timeout: c.TimeoutTypes = None) -> List[t.Webhook]:
        return self._request(c.list_webhooks(timeout))

    def get_webhook(self, webhook_id: str, *, timeout: c.TimeoutTypes = None) -> t.Webhook:
        return self._request(c.get_webhook(webhook_id, timeout))

    def update_webhook(
        self,
        webhook_id: str,
        *,
        url: str = c.UNSET,
        events: List[str] = c.UNSET,
        description: Optional[str] = c.UNSET,
        disabled: bool = c.UNSET,
        retry: Optional[bool] = None,
        timeout: c.TimeoutTypes = None,
    ) -> t.Webhook:
        """PATCH /api/v1/webhooks/{id}: changes the fields given (``description=None`` clears it;
        ``disabled=False`` re-enables an endpoint a 410 disabled)."""
        changes = dict(url=url, events=events, description=description, disabled=disabled)
        return self._request(c.update_webhook(webhook_id, changes, retry, timeout))

    def delete_webhook(
        self, webhook_id: str, *, retry: Optional[bool] = None, timeout: c.TimeoutTypes = None
    ) -> t.WebhookDeleted:
        return self._request(c.delete_webhook(webhook_id, retry, timeout))

    def rotate_webhook_secret(self, webhook_id: str, *, timeout: c.TimeoutTypes = None) -> t.WebhookWithSecret:
        """POST /webhooks/{id}/rotate-secret: the endpoint with a new ``secret``, shown this once;
        for 24 h the old one keeps signing beside it (two signatures per delivery). Never retried."""
        return self._request(c.rotate_webhook_secret(webhook_id, timeout))

    def test_webhook(
        self, webhook_id: str, *, retry: Optional[bool] = None, timeout: c.TimeoutTypes = None
    ) -> t.QueuedEvent:
        """POST /webhooks/{id}/test: queues a ``webhook.test`` event for the endpoint."""
        return self._request(c.test_webhook(webhook_id, retry, timeout))

    def list_webhook_deliveries(
        self,
        webhook_id: str,
        *,
        limit: Optional[int] = None,
        timeout: c.TimeoutTypes = None,
    ) -> List[t.WebhookDelivery]:
        """The endpoint's deliveries, newest first (``limit``: 1 to 200, default 50), each with its last attempt."""
        return self._request(c.list_webhook_deliveries(webhook_id, limit, timeout))

    def redeliver_webhook(
        self, webhook_id: str, event_id: str, *, retry: Optional[bool] = None, timeout: c.TimeoutTypes = None
    ) -> t.WebhookDelivery:
        """POST /webhooks/{id}/deliveries/{event_id}/redeliver: that event is due again, with the
        same webhook-id (a receiver that keeps ids sees a duplicate); returns its delivery."""
        return self._request(c.redeliver_webhook(webhook_id, event_id, retry, timeout))

    # --- Connect ------------------------------------------------------------------------------------

    def create_connect_session(
        self,
        end_user: t.EndUser,
        *,
        allowed_connectors: Optional[List[str]] = None,
        connection_id: Optional[str] = None,
        return_url: Optional[str] = None,
        tags: Optional[Mapping[str, str]] = None,
        retry: Optional[bool] = None,
        timeout: c.TimeoutTypes = None,
    ) -> t.ConnectSession:
        """POST /api/v1/connect/sessions: a Connect page for one end user (``{"id": ...}``, with
        ``email`` and ``display_name`` optional). ``allowed_connectors`` default to every one the
        page can connect; ``connection_id`` signs that connection in again; ``return_url``'s origin
        must be allowed (:meth:`put_connect_settings`); ``tags`` go to the new connection. Give
        the browser ``connect_url``. A POST: not retried unless ``retry=True``."""
        return self._request(
            c.create_connect_session(end_user, allowed_connectors, connection_id, return_url, tags, retry, timeout)
        )

    def get_connect_settings(self, *, timeout: c.TimeoutTypes = None) -> t.ConnectSettings:
        """GET /api/v1/connect/settings: ``{"allowed_origins": [...]}``."""
        return self._request(c.get_connect_settings(timeout))

    def put_connect_settings(
        self, allowed_origins: List[str], *, retry: Optional[bool] = None, timeout: c.TimeoutTypes = None
    ) -> t.ConnectSettings:
        """PUT /api/v1/connect/settings: replaces the exact origins (``https://app.example.com``;
        http on 127.0.0.1, localhost or [::1] only) the Connect page may return to, post its
        outcome to and be framed by."""
        return self._request(c.put_connect_settings(allowed_origins, retry, timeout))

    # --- execute ------------------------------------------------------------------------------------

    def _execute_call(
        self, payload: Dict[str, Any], upload: Any, retry: Optional[bool], timeout: c.TimeoutTypes
    ) -> c.Call[Any]:
        content = None
        if upload is not None:
            head, tail = c.payload_head_tail(payload)
            content = _execute_stream(head, tail, upload)
        return c.execute_call(payload, content, retry, timeout)

    def execute(
        self,
        connection_id: str,
        endpoint: str,
        params: Optional[Mapping[str, Any]] = None,
        *,
        body: Any = c.UNSET,
        data: Any = None,
        retry: bool = False,
        timeout: c.TimeoutTypes = None,
    ) -> t.ExecuteResult:
        """POST /api/v1/proxy/execute: runs one endpoint. ``body`` replaces the body params (a str
        as it is, anything else as JSON); ``data`` is a binary upload (bytes, a file opened
        ``rb`` or an iterable of bytes, streamed as ``body_base64``). A POST: retried only with
        ``retry=True`` (never with a streamed upload)."""
        payload, upload = c.execute_payload(connection_id, endpoint, params, body, data, False, None, None)
        call = self._execute_call(payload, upload, retry, timeout)
        response = self._send(call)
        self._raise_for_status(response, call)
        raw = self._read(response, call, c.MAX_JSON_BYTES)
        return c.execute_result(c.decode_json(response, raw, call), response.headers.get("x-request-id"))

    def execute_all(
        self,
        connection_id: str,
        endpoint: str,
        params: Optional[Mapping[str, Any]] = None,
        *,
        max_pages: Optional[int] = None,
        limit: Optional[int] = None,
        body: Any = c.UNSET,
        retry: bool = False,
        timeout: c.TimeoutTypes = None,
    ) -> Iterator[Any]:
        """Every item of every page (``"all": true``), as the server streams them. An error
        after the first item raises the typed error when it is reached. Close the iterator
        (or exhaust it) to end the request."""
        payload, _ = c.execute_payload(connection_id, endpoint, params, body, None, True, max_pages, limit)
        return self._items(self._execute_call(payload, None, retry, timeout))

    def _items(self, call: c.Call[Any]) -> Iterator[Any]:
        response = self._send(call)
        try:
            self._raise_for_status(response, call)
            request_id = response.headers.get("x-request-id")
            decoder = c.NdjsonDecoder(request_id)
            try:
                for chunk in response.iter_bytes():
                    yield from decoder.feed(chunk)
            except httpx.RequestError as exc:
                raise c.transport_error(exc, call) from exc
            decoder.end()
        finally:
            response.close()

    # --- raw proxy ----------------------------------------------------------------------------------

    def proxy(
        self,
        connection_id: str,
        path: str,
        method: str = "GET",
        *,
        params: Optional[Mapping[str, Any]] = None,
        headers: Optional[Mapping[str, str]] = None,
        content: Any = None,
        host: Optional[str] = None,
        retry: Optional[bool] = None,
        timeout: c.TimeoutTypes = None,
        raise_for_connectr_errors: bool = True,
    ) -> ProxyResponse:
        """A raw request to the connection's API (``/connections/{id}/proxy/{path}``), credential
        added by the server. ``content``: bytes, str, a file opened ``rb`` or an iterable of
        bytes (streamed). ``host`` picks a connector host (``x-connectr-host``). Returns the
        upstream answer, whatever its status, streamed; the server's own errors (an envelope:
        unknown connection, bad path, needs_reauth...) raise their typed error unless
        ``raise_for_connectr_errors=False``."""
        sent = dict(headers or {})
        if content is not None and not c.is_bytes(content) and not isinstance(content, str):
            length = c.file_length(content)
            if length is not None and not any(k.lower() == "content-length" for k in sent):
                sent["content-length"] = str(length)
            content = c.file_chunks(content)
        call = c.proxy_call(connection_id, method, path, params, sent, content, host, retry, timeout)
        response = self._send(call)
        prefix = b""
        rest: Optional[Iterator[bytes]] = None
        if raise_for_connectr_errors and response.status_code in c.PROXY_ERROR_STATUSES:
            if response.headers.get("content-type", "").startswith("application/json"):
                rest = response.iter_bytes()
                buffered = bytearray()
                try:
                    for chunk in rest:
                        buffered += chunk
                        if len(buffered) > c.MAX_ERROR_BYTES:
                            break
                    else:
                        envelope = c.envelope_of(bytes(buffered), known_code=True)
                        if envelope is not None:
                            response.close()
                            raise c.status_error(response, bytes(buffered))
                except httpx.RequestError as exc:
                    response.close()
                    raise c.transport_error(exc, call) from exc
                prefix = bytes(buffered)
        return ProxyResponse(response, call, prefix, rest)

