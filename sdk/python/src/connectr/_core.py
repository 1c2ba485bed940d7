"""What the sync and async clients share: configuration, request building, the retry policy,
error mapping and the decoding of answers (JSON, NDJSON, execute results). No I/O here: the
clients in _sync.py and _async.py only send, sleep and read."""

from __future__ import annotations

import base64
import dataclasses
import email.utils
import json
import math
import os
import random
import time
from typing import (
    Any,
    Callable,
    Dict,
    Generic,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
    TypeVar,
    Union,
    cast,
)
from urllib.parse import quote

import httpx

from . import _types as t
from ._errors import (
    ConnectrConnectionError,
    ConnectrError,
    ConnectrTimeoutError,
    InvalidResponseError,
    error_class_for,
    from_envelope,
    is_envelope,
)

T = TypeVar("T")

DEFAULT_BASE_URL = "http://127.0.0.1:5000"
#: Per network operation (connect, each read, each write), not for the whole call: the server
#: gives an upstream 120 s, so a read waits a little longer than that.
DEFAULT_TIMEOUT = httpx.Timeout(130.0, connect=10.0, pool=30.0)
USER_AGENT = "connectr-python/0.1.0"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
#: Largest error body or JSON answer read into memory (execute answers hold up to 16 MiB of base64).
MAX_JSON_BYTES = 32 * 1024 * 1024
MAX_ERROR_BYTES = 1024 * 1024
#: Largest NDJSON line.
MAX_LINE_BYTES = 32 * 1024 * 1024
#: At most this many pages when iter_connections follows cursors.
MAX_PAGES = 100_000
CHUNK = 64 * 1024

TimeoutTypes = Union[None, float, httpx.Timeout]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before trying a request again.

    A request is retried on 429, 502, 503 and 504 answers and on connection errors and
    time-outs, at most ``max_retries`` times, and only when it may be sent twice: GET, HEAD,
    PUT, DELETE and OPTIONS, or any method when the call says ``retry=True``; never with a
    streamed body (it cannot be sent again). The wait is the answer's ``Retry-After`` (seconds
    or an HTTP date) capped at ``max_retry_after``, else exponential backoff with jitter:
    between half and all of ``min(backoff_max, backoff_base * 2**attempt)``.
    """

    max_retries: int = 2
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    max_retry_after: float = 60.0
    retry_statuses: frozenset = frozenset({429, 502, 503, 504})  # type: ignore[type-arg]
    #: A number in [0, 1) for the jitter (tests pin it).
    jitter: Callable[[], float] = random.random
    #: The wall clock, for a Retry-After given as an HTTP date.
    now: Callable[[], float] = time.time

    def backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * (2**attempt))
        return float(ceiling / 2 + self.jitter() * ceiling / 2)

    def retry_after(self, value: Optional[str]) -> Optional[float]:
        """Seconds to wait for a Retry-After header value, capped; None when absent or unreadable."""
        if value is None:
            return None
        value = value.strip()
        seconds: Optional[float] = None
        if value.isascii() and value.isdigit():
            seconds = float(int(value[:12]))
        else:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError, OverflowError):
                return None
            if when is None:  # older Pythons return None for garbage
                return None
            seconds = when.timestamp() - self.now()
        if math.isnan(seconds):
            return None
        return max(0.0, min(seconds, self.max_retry_after))

    def delay(self, attempt: int, response: Optional[httpx.Response]) -> float:
        if response is not None:
            waited = self.retry_after(response.headers.get("retry-after"))
            if waited is not None:
                return waited
        return self.backoff(attempt)


@dataclasses.dataclass
class Call(Generic[T]):
    """One API call, built once and sent by either client."""

    method: str
    path: str
    decode: Callable[[Any], T]
    params: Optional[Mapping[str, Any]] = None
    json: Any = UNSET
    #: bytes, or a streamed body (iterable / async iterable of bytes).
    content: Any = None
    headers: Optional[Mapping[str, str]] = None
    auth: bool = True
    retry: Optional[bool] = None
    timeout: TimeoutTypes = None
    #: False when the body is streamed: it cannot be sent twice.
    replayable: bool = True
    #: "json" (decode gets the parsed JSON) or "text" (decode gets the text).
    kind: str = "json"

    def may_retry(self) -> bool:
        if not self.replayable:
            return False
        if self.retry is not None:
            return self.retry
        return self.method in IDEMPOTENT_METHODS


def seg(value: str, what: str) -> str:
    """A path segment, percent-encoded (so ``..`` or ``/`` in an id cannot change the route)."""
    if not isinstance(value, str) or value == "":
        raise ValueError(f"{what} must be a non-empty string")
    if value in (".", ".."):
        raise ValueError(f"{what} must not be {value!r}")
    return quote(value, safe="")


def proxy_path(path: str) -> str:
    """The raw proxy's {path}: kept as the caller wrote it (already-encoded parts stay encoded),
    other characters percent-encoded. The server refuses dot segments, backslashes and the like."""
    if not isinstance(path, str):
        raise TypeError("path must be a string")
    if "?" in path or "#" in path:
        raise ValueError("pass the query as params=..., not in path (and no # fragment)")
    return quote(path.lstrip("/"), safe="/:@!$&'()*+,;=-._~%")


def clean_params(params: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None}


def header_value(name: str, value: str) -> str:
    if any(c in value for c in "\r\n\0"):
        raise ValueError(f"the {name} value must not contain CR, LF or NUL")
    return value


class Config:
    """The settings both clients hold."""

    def __init__(
        self,
        base_url: Optional[str],
        api_key: Optional[str],
        timeout: TimeoutTypes,
        retry_policy: Optional[RetryPolicy],
        max_retries: Optional[int],
    ) -> None:
        url = base_url if base_url is not None else os.environ.get("CONNECTR_URL") or DEFAULT_BASE_URL
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError("base_url must be an absolute http(s) URL, e.g. http://127.0.0.1:5000")
        if parsed.query or parsed.fragment:
            raise ValueError("base_url must not hold a query or a fragment")
        self.base_url = str(parsed).rstrip("/")
        key = api_key if api_key is not None else os.environ.get("CONNECTR_API_KEY") or None
        if key is not None:
            header_value("API key", key)
        self._api_key = key
        self.timeout: Union[float, httpx.Timeout] = DEFAULT_TIMEOUT if timeout is None else timeout
        policy = retry_policy or RetryPolicy()
        if max_retries is not None:
            policy = dataclasses.replace(policy, max_retries=max_retries)
        self.retry_policy = policy

    def retry_delay(self, call: Call[Any], attempt: int, response: Optional[httpx.Response]) -> Optional[float]:
        """Seconds to wait before attempt ``attempt + 1``, or None when the call is not to be retried.
        ``response`` is the answer, or None after a transport fault."""
        policy = self.retry_policy
        if attempt >= policy.max_retries or not call.may_retry():
            return None
        if response is not None and response.status_code not in policy.retry_statuses:
            return None
        return policy.delay(attempt, response)

    @property
    def api_key(self) -> Optional[str]:
        return self._api_key

    def describe(self, cls: str) -> str:
        return f"{cls}(base_url={self.base_url!r}, api_key={'set' if self._api_key else 'unset'})"

    def build(self, http: Union[httpx.Client, httpx.AsyncClient], call: Call[Any]) -> httpx.Request:
        headers: Dict[str, str] = {"user-agent": USER_AGENT, "accept": "application/json"}
        for name, value in (call.headers or {}).items():
            headers[name.lower()] = header_value(f"header {name}", value)
        if call.auth and self._api_key is not None:
            headers["authorization"] = f"Bearer {self._api_key}"
        timeout = self.timeout if call.timeout is None else call.timeout
        url = self.base_url + call.path
        params = clean_params(call.params)
        if call.json is not UNSET:
            return http.build_request(
                call.method, url, params=params, json=call.json, headers=headers, timeout=timeout
            )
        return http.build_request(
            call.method, url, params=params, content=call.content, headers=headers, timeout=timeout
        )


# --- Errors ------------------------------------------------------------------------------------


def where(call: Call[Any]) -> str:
    """``METHOD /path`` without the query (a query may hold something secret)."""
    return f"{call.method} {call.path}"


def transport_error(exc: Exception, call: Call[Any]) -> ConnectrError:
    """A typed error for an httpx transport fault; its message names no header and no query."""
    kind = type(exc).__name__
    if isinstance(exc, httpx.DecodingError):
        return InvalidResponseError(f"{where(call)}: the answer could not be decoded ({kind})")
    if isinstance(exc, httpx.TimeoutException):
        return ConnectrTimeoutError(f"{where(call)}: no answer within the time-out ({kind})")
    return ConnectrConnectionError(f"{where(call)}: could not reach the connectr server or the connection broke ({kind})")


_STATUS_CODES = {
    400: "invalid_input",
    401: "auth_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal",
    502: "upstream",
    503: "unavailable",
    504: "timeout",
}


def envelope_of(body: bytes, known_code: bool = False) -> Optional[Dict[str, Any]]:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return cast(Dict[str, Any], value) if is_envelope(value, known_code) else None


def status_error(response: httpx.Response, body: bytes) -> ConnectrError:
    """The typed error for an error answer: from its envelope, else from its status alone."""
    request_id = response.headers.get("x-request-id")
    value = envelope_of(body)
    if value is not None:
        return from_envelope(value, response.status_code, request_id)
    code = _STATUS_CODES.get(response.status_code, "http_error")
    cls = error_class_for(code)
    return cls(
        f"HTTP {response.status_code} {response.reason_phrase} (the answer is not a connectr error envelope)",
        code=code,
        status=response.status_code,
        request_id=request_id,
    )


def decode_json(response: httpx.Response, body: bytes, call: Call[Any]) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise InvalidResponseError(
            f"{where(call)}: the answer is not JSON",
            status=response.status_code,
            request_id=response.headers.get("x-request-id"),
        ) from None


def too_large(call: Call[Any], limit: int) -> InvalidResponseError:
    return InvalidResponseError(f"{where(call)}: the answer is larger than {limit} bytes")


# --- NDJSON --------------------------------------------------------------------------------------


class NdjsonDecoder:
    """Splits an NDJSON byte stream into values; the server's error line becomes a raised error."""

    def __init__(self, request_id: Optional[str], max_line: int = MAX_LINE_BYTES) -> None:
        self._buffer = bytearray()
        self._request_id = request_id
        self._max_line = max_line

    def feed(self, chunk: bytes) -> Iterator[Any]:
        """The values completed by this chunk, in order; the error line raises when it is reached."""
        self._buffer += chunk
        while True:
            end = self._buffer.find(b"\n")
            if end == -1:
                break
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if line.strip():
                yield self._decode(line)
        if len(self._buffer) > self._max_line:
            raise InvalidResponseError(f"an NDJSON line is longer than {self._max_line} bytes")

    def end(self) -> None:
        if bytes(self._buffer).strip():
            raise InvalidResponseError(
                "the NDJSON stream ended in the middle of a line (the connection was cut)",
                request_id=self._request_id,
            )

    def _decode(self, line: bytes) -> Any:
        try:
            value = json.loads(line)
        except ValueError:
            raise InvalidResponseError(
                "the NDJSON stream holds a line that is not JSON", request_id=self._request_id
            ) from None
        if is_envelope(value):
            raise from_envelope(value, None, self._request_id)
        return value


# --- Execute -------------------------------------------------------------------------------------


def execute_result(value: Any, request_id: Optional[str]) -> t.ExecuteResult:
    if not isinstance(value, dict) or not isinstance(value.get("status"), int):
        raise InvalidResponseError("execute answered something that is not an execute result", request_id=request_id)
    encoding = str(value.get("encoding", "none"))
    body = value.get("body")
    if encoding == "base64":
        if not isinstance(body, str):
            raise InvalidResponseError("execute answered a base64 body that is not a string", request_id=request_id)
        try:
            body = base64.b64decode(body, validate=True)
        except ValueError:
            raise InvalidResponseError("execute answered a body that is not base64", request_id=request_id) from None
    headers = value.get("headers")
    content_type = value.get("content_type")
    return t.ExecuteResult(
        status=value["status"],
        headers={str(k): str(v) for k, v in headers.items()} if isinstance(headers, dict) else {},
        content_type=content_type if isinstance(content_type, str) else None,
        encoding=encoding,
        body=body,
        result=value.get("result"),
        request_id=request_id,
    )


class Base64Stream:
    """Base64 of a byte stream, in pieces: whole 3-byte groups as they come, the rest at the end."""

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._rest + bytes(chunk)
        cut = len(data) - len(data) % 3
        self._rest = data[cut:]
        return base64.b64encode(data[:cut])

    def end(self) -> bytes:
        rest, self._rest = self._rest, b""
        return base64.b64encode(rest)


def is_bytes(value: Any) -> bool:
    return isinstance(value, (bytes, bytearray, memoryview))


def execute_payload(
    connection_id: str,
    endpoint: str,
    params: Optional[Mapping[str, Any]],
    body: Any,
    data: Any,
    all_items: bool,
    max_pages: Optional[int],
    limit: Optional[int],
) -> Tuple[Dict[str, Any], Any]:
    """The JSON body of an execute call, and the upload to stream into its ``body_base64`` (or None)."""
    payload: Dict[str, Any] = {"connection_id": connection_id, "endpoint": endpoint}
    if params is not None:
        payload["params"] = dict(params)
    if body is not UNSET:
        payload["body"] = body
    if all_items:
        payload["all"] = True
        if max_pages is not None:
            payload["max_pages"] = max_pages
        if limit is not None:
            payload["limit"] = limit
    if data is None:
        return payload, None
    if isinstance(data, str):
        raise TypeError("data is bytes, a file opened 'rb' or an iterable of bytes; encode a str first")
    if body is not UNSET:
        raise ValueError("give body or data, not both")
    if is_bytes(data):
        payload["body_base64"] = base64.b64encode(bytes(data)).decode("ascii")
        return payload, None
    return payload, data


def payload_head_tail(payload: Dict[str, Any]) -> Tuple[bytes, bytes]:
    """The JSON text around a streamed ``body_base64`` value: ``{...,"body_base64":"`` and ``"}``."""
    text = json.dumps(payload, separators=(",", ":"))
    return (text[:-1] + (',' if len(payload) else '') + '"body_base64":"').encode("ascii"), b'"}'


def file_chunks(source: Any) -> Iterable[bytes]:
    """Chunks of a binary file object or of an iterable of bytes."""
    read = getattr(source, "read", None)
    if callable(read):
        while True:
            chunk = read(CHUNK)
            if not chunk:
                return
            if isinstance(chunk, str):
                raise TypeError("open the file in binary mode ('rb')")
            yield bytes(chunk)
    elif isinstance(source, str):
        raise TypeError("a str body must be given as content=..., encoded; data wants bytes")
    else:
        for chunk in source:
            if not is_bytes(chunk):
                raise TypeError("an iterable body must yield bytes")
            yield bytes(chunk)


def file_length(source: Any) -> Optional[int]:
    """The bytes left in a regular file, for Content-Length; None when unknown."""
    try:
        fileno = source.fileno()
        size = os.fstat(fileno).st_size
        position = source.tell()
    except (AttributeError, OSError, ValueError):
        return None
    import stat

    if not stat.S_ISREG(os.fstat(fileno).st_mode):
        return None
    return max(0, int(size) - int(position))


# --- Decoders of answers ---------------------------------------------------------------------


def as_dict(value: Any) -> Any:
    if not isinstance(value, dict):
        raise InvalidResponseError("the server answered JSON that is not an object")
    return value


def as_token(value: Any) -> t.Token:
    value = as_dict(value)
    token = value.get("access_token")
    if not isinstance(token, str):
        raise InvalidResponseError("the token answer has no access_token")
    expires = value.get("expires_at")
    return t.Token(
        access_token=token,
        token_type=str(value.get("token_type", "Bearer")),
        expires_at=expires if isinstance(expires, str) else None,
    )


def as_connect_session(value: Any) -> t.ConnectSession:
    value = as_dict(value)
    fields = {name: value.get(name) for name in ("token", "connect_url", "expires_at")}
    for name, field in fields.items():
        if not isinstance(field, str):
            raise InvalidResponseError(f"the Connect session answer has no {name}")
    return t.ConnectSession(**fields)


def text_body(value: Any) -> str:
    return cast(str, value)


# --- Calls ----------------------------------------------------------------------------------------
# One function per route: method, path, body and how to read the answer. Both clients send these.

API = "/api/v1"


def health(timeout: TimeoutTypes) -> Call[t.Health]:
    return Call("GET", "/health", as_dict, auth=False, timeout=timeout)


def ready(timeout: TimeoutTypes) -> Call[t.Ready]:
    return Call("GET", "/ready", as_dict, auth=False, timeout=timeout)


def openapi(timeout: TimeoutTypes) -> Call[Dict[str, Any]]:
    return Call("GET", "/openapi.json", as_dict, auth=False, timeout=timeout)


def metrics(timeout: TimeoutTypes) -> Call[str]:
    return Call("GET", "/metrics", text_body, timeout=timeout, headers={"accept": "text/plain"}, kind="text")


def list_connectors(timeout: TimeoutTypes) -> Call[List[t.ConnectorSummary]]:
    return Call("GET", f"{API}/connectors", lambda v: list(as_dict(v)["connectors"]), timeout=timeout)


def get_connector(name: str, timeout: TimeoutTypes) -> Call[t.Connector]:
    return Call("GET", f"{API}/connectors/{seg(name, 'name')}", as_dict, timeout=timeout)


def list_endpoints(name: str, timeout: TimeoutTypes) -> Call[List[t.Endpoint]]:
    return Call(
        "GET",
        f"{API}/connectors/{seg(name, 'name')}/endpoints",
        lambda v: list(as_dict(v)["endpoints"]),
        timeout=timeout,
    )


def create_connection(
    connector_type: str,
    name: str,
    user_id: Optional[str],
    retry: Optional[bool],
    timeout: TimeoutTypes,
    connector_version: Optional[int] = None,
) -> Call[t.Connection]:
    body: Dict[str, Any] = {"connector_type": connector_type, "name": name}
    if user_id is not None:
        body["user_id"] = user_id
    if connector_version is not None:
        body["connector_version"] = connector_version
    return Call("POST", f"{API}/connections", as_dict, json=body, retry=retry, timeout=timeout)


def get_connection(connection_id: str, timeout: TimeoutTypes) -> Call[t.Connection]:
    return Call("GET", f"{API}/connections/{seg(connection_id, 'connection_id')}", as_dict, timeout=timeout)


def list_connections(
    user_id: Optional[str],
    connector_type: Optional[str],
    limit: Optional[int],
    cursor: Optional[str],
    timeout: TimeoutTypes,
) -> Call[t.ConnectionPage]:
    params = {"user_id": user_id, "connector_type": connector_type, "limit": limit, "cursor": cursor}
    return Call("GET", f"{API}/connections", as_dict, params=params, timeout=timeout)


def delete_connection(connection_id: str, retry: Optional[bool], timeout: TimeoutTypes) -> Call[t.ConnectionDeleted]:
    return Call(
        "DELETE", f"{API}/connections/{seg(connection_id, 'connection_id')}", as_dict, retry=retry, timeout=timeout
    )


def put_credentials(
    connection_id: str, fields: Mapping[str, Any], retry: Optional[bool], timeout: TimeoutTypes
) -> Call[t.Connection]:
    body = {k: v for k, v in fields.items() if v is not None}
    return Call(
        "PUT",
        f"{API}/connections/{seg(connection_id, 'connection_id')}/credentials",
        as_dict,
        json=body,
        retry=retry,
        timeout=timeout,
    )


def get_token(connection_id: str, timeout: TimeoutTypes) -> Call[t.Token]:
    return Call("GET", f"{API}/connections/{seg(connection_id, 'connection_id')}/token", as_token, timeout=timeout)


def authorize(
    connection_id: Optional[str],
    connector_type: Optional[str],
    redirect_uri: Optional[str],
    return_url: Optional[str],
    retry: Optional[bool],
    timeout: TimeoutTypes,
) -> Call[t.Authorization]:
    body = {
        "connection_id": connection_id,
        "connector_type": connector_type,
        "redirect_uri": redirect_uri,
        "return_url": return_url,
    }
    return Call(
        "POST",
        f"{API}/oauth/authorize",
        as_dict,
        json={k: v for k, v in body.items() if v is not None},
        retry=retry,
        timeout=timeout,
    )


def oauth_callback(
    connection_id: str, code: str, redirect_uri: str, state: Optional[str], timeout: TimeoutTypes
) -> Call[t.CallbackResult]:
    body = {"connection_id": connection_id, "code": code, "redirect_uri": redirect_uri}
    if state is not None:
        body["state"] = state
    # A code is good once: never sent twice.
    return Call("POST", f"{API}/oauth/callback", as_dict, json=body, retry=False, timeout=timeout)


def put_oauth_app(
    connector: str, client_id: str, client_secret: Optional[str], retry: Optional[bool], timeout: TimeoutTypes
) -> Call[t.OAuthApp]:
    body = {"client_id": client_id}
    if client_secret is not None:
        body["client_secret"] = client_secret
    return Call(
        "PUT", f"{API}/oauth-apps/{seg(connector, 'connector')}", as_dict, json=body, retry=retry, timeout=timeout
    )


def list_oauth_apps(timeout: TimeoutTypes) -> Call[List[t.OAuthApp]]:
    return Call("GET", f"{API}/oauth-apps", lambda v: list(as_dict(v)["oauth_apps"]), timeout=timeout)


def delete_oauth_app(connector: str, retry: Optional[bool], timeout: TimeoutTypes) -> Call[t.OAuthAppDeleted]:
    return Call("DELETE", f"{API}/oauth-apps/{seg(connector, 'connector')}", as_dict, retry=retry, timeout=timeout)


def webhook_path(webhook_id: str) -> str:
    return f"{API}/webhooks/{seg(webhook_id, 'webhook_id')}"


def create_webhook(
    url: str,
    events: Optional[List[str]],
    description: Optional[str],
    retry: Optional[bool],
    timeout: TimeoutTypes,
) -> Call[t.WebhookWithSecret]:
    body: Dict[str, Any] = {"url": url}
    if events is not None:
        body["events"] = list(events)
    if description is not None:
        body["description"] = description
    return Call("POST", f"{API}/webhooks", as_dict, json=body, retry=retry, timeout=timeout)


def list_webhooks(timeout: TimeoutTypes) -> Call[List[t.Webhook]]:
    return Call("GET", f"{API}/webhooks", lambda v: list(as_dict(v)["webhooks"]), timeout=timeout)


def get_webhook(webhook_id: str, timeout: TimeoutTypes) -> Call[t.Webhook]:
    return Call("GET", webhook_path(webhook_id), as_dict, timeout=timeout)


def update_webhook(
    webhook_id: str, changes: Mapping[str, Any], retry: Optional[bool], timeout: TimeoutTypes
) -> Call[t.Webhook]:
    body = {k: v for k, v in changes.items() if v is not UNSET}
    return Call("PATCH", webhook_path(webhook_id), as_dict, json=body, retry=retry, timeout=timeout)


def delete_webhook(webhook_id: str, retry: Optional[bool], timeout: TimeoutTypes) -> Call[t.WebhookDeleted]:
    return Call("DELETE", webhook_path(webhook_id), as_dict, retry=retry, timeout=timeout)


def rotate_webhook_secret(webhook_id: str, timeout: TimeoutTypes) -> Call[t.WebhookWithSecret]:
    # Never sent twice: a second rotation would replace the secret the first one answered.
    return Call("POST", f"{webhook_path(webhook_id)}/rotate-secret", as_dict, retry=False, timeout=timeout)


def test_webhook(webhook_id: str, retry: Optional[bool], timeout: TimeoutTypes) -> Call[t.QueuedEvent]:
    return Call("POST", f"{webhook_path(webhook_id)}/test", as_dict, retry=retry, timeout=timeout)


def list_webhook_deliveries(
    webhook_id: str, limit: Optional[int], timeout: TimeoutTypes
) -> Call[List[t.WebhookDelivery]]:
    return Call(
        "GET",
        f"{webhook_path(webhook_id)}/deliveries",
        lambda v: list(as_dict(v)["deliveries"]),
        params={"limit": limit},
        timeout=timeout,
    )


def redeliver_webhook(
    webhook_id: str, event_id: str, retry: Optional[bool], timeout: TimeoutTypes
) -> Call[t.WebhookDelivery]:
    path = f"{webhook_path(webhook_id)}/deliveries/{seg(event_id, 'event_id')}/redeliver"
    return Call("POST", path, as_dict, retry=retry, timeout=timeout)


def create_connect_session(
    end_user: t.EndUser,
    allowed_connectors: Optional[List[str]],
    connection_id: Optional[str],
    return_url: Optional[str],
    tags: Optional[Mapping[str, str]],
    retry: Optional[bool],
    timeout: TimeoutTypes,
) -> Call[t.ConnectSession]:
    body: Dict[str, Any] = {"end_user": dict(end_user)}
    if allowed_connectors is not None:
        body["allowed_connectors"] = list(allowed_connectors)
    if connection_id is not None:
        body["connection_id"] = connection_id
    if return_url is not None:
        body["return_url"] = return_url
    if tags is not None:
        body["tags"] = dict(tags)
    return Call("POST", f"{API}/connect/sessions", as_connect_session, json=body, retry=retry, timeout=timeout)


def get_connect_settings(timeout: TimeoutTypes) -> Call[t.ConnectSettings]:
    return Call("GET", f"{API}/connect/settings", as_dict, timeout=timeout)


def put_connect_settings(
    allowed_origins: List[str], retry: Optional[bool], timeout: TimeoutTypes
) -> Call[t.ConnectSettings]:
    if isinstance(allowed_origins, str):
        raise TypeError("allowed_origins is a list of origins, not one string")
    body = {"allowed_origins": list(allowed_origins)}
    return Call("PUT", f"{API}/connect/settings", as_dict, json=body, retry=retry, timeout=timeout)


def execute_call(
    payload: Dict[str, Any], content: Any, retry: Optional[bool], timeout: TimeoutTypes
) -> Call[Any]:
    """execute (or execute_all): a POST, retried only with ``retry=True``; a streamed upload never."""
    headers = {"accept": "application/x-ndjson" if payload.get("all") else "application/json"}
    if content is None:
        return Call("POST", f"{API}/proxy/execute", lambda v: v, json=payload, retry=bool(retry), timeout=timeout, headers=headers)
    headers["content-type"] = "application/json"
    return Call(
        "POST",
        f"{API}/proxy/execute",
        lambda v: v,
        content=content,
        retry=False,
        replayable=False,
        timeout=timeout,
        headers=headers,
    )


PROXY_ERROR_STATUSES = frozenset({400, 401, 403, 404, 405, 409, 413, 415, 500, 502, 503, 504})


def proxy_call(
    connection_id: str,
    method: str,
    path: str,
    params: Optional[Mapping[str, Any]],
    headers: Optional[Mapping[str, str]],
    content: Any,
    host: Optional[str],
    retry: Optional[bool],
    timeout: TimeoutTypes,
) -> Call[Any]:
    method = method.upper()
    if method not in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        raise ValueError(f"the raw proxy takes GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS, not {method!r}")
    sent: Dict[str, str] = {"accept": "*/*"}
    for name, value in (headers or {}).items():
        sent[name.lower()] = value
    if host is not None:
        sent["x-connectr-host"] = host
    replayable = content is None or is_bytes(content) or isinstance(content, str)
    if isinstance(content, str):
        content = content.encode("utf-8")
    elif is_bytes(content):
        content = bytes(content)
    return Call(
        method,
        f"{API}/connections/{seg(connection_id, 'connection_id')}/proxy/{proxy_path(path)}",
        lambda v: v,
        params=params,
        headers=sent,
        content=content,
        retry=retry,
        replayable=replayable,
        timeout=timeout,
    )
