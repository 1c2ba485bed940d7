"""Shapes of the server's answers (src/server/routes/**), as TypedDicts and small dataclasses."""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional, Union

from typing import TypedDict

__all__ = [
    "Health",
    "Ready",
    "ConnectorSummary",
    "Connector",
    "Endpoint",
    "EndpointParam",
    "EndpointList",
    "Host",
    "Connection",
    "LastError",
    "ConnectionPage",
    "ConnectionDeleted",
    "Authorization",
    "CallbackResult",
    "OAuthApp",
    "OAuthAppDeleted",
    "Token",
    "ExecuteResult",
    "Webhook",
    "WebhookWithSecret",
    "WebhookDeleted",
    "QueuedEvent",
    "WebhookDelivery",
    "EndUser",
    "ConnectSession",
    "ConnectSettings",
]

Scalar = Union[str, int, float, bool]


class Health(TypedDict):
    status: str
    version: str


class Ready(TypedDict):
    status: str


class _EndpointParamBase(TypedDict):
    name: str
    type: str
    required: bool
    location: str
    secret: bool


class EndpointParam(_EndpointParamBase, total=False):
    items: str
    description: str
    enum: List[Scalar]
    default: Any
    minimum: float
    maximum: float


class _EndpointBase(TypedDict):
    name: str
    method: str
    host: str
    path: str
    summary: str
    deprecated: bool
    scopes: List[str]
    params: List[EndpointParam]
    pagination: Optional[Dict[str, str]]
    response_kind: str


class Endpoint(_EndpointBase, total=False):
    description: str
    docs_url: str


class ConnectorSummary(TypedDict):
    name: str
    display_name: str
    description: str
    version: str
    docs_url: str
    auth_type: str
    scopes: List[str]
    endpoint_count: int


class Host(TypedDict):
    name: str
    url: str


class Connector(ConnectorSummary):
    auth: Dict[str, Any]
    hosts: List[Host]
    endpoints: List[Endpoint]


class EndpointList(TypedDict):
    connector: str
    endpoints: List[Endpoint]


class LastError(TypedDict):
    """Why a connection last failed."""

    code: str
    message: str


class Connection(TypedDict):
    id: str
    connector_type: str
    #: The connector version its calls use (set at creation, moved by PATCH).
    connector_version: int
    name: str
    user_id: Optional[str]
    status: str
    account_identity: Optional[str]
    scopes: List[str]
    created_at: str
    updated_at: str
    last_refresh_at: Optional[str]
    #: The last call through the connection, and its last health check.
    last_used_at: Optional[str]
    last_checked_at: Optional[str]
    #: Why it last failed (a refused refresh, a failed health check); never a secret.
    last_error: Optional[LastError]


class ConnectionPage(TypedDict):
    connections: List[Connection]
    next_cursor: Optional[str]


class Webhook(TypedDict):
    """An endpoint of the project's outgoing webhooks (no secret: it is shown once). ``events``
    are the connection events it receives (all when it was given none); ``webhook.test`` always
    reaches it. ``disabled`` once the receiver answered 410 Gone, or an update disabled it."""

    id: str
    url: str
    events: List[str]
    description: Optional[str]
    disabled: bool
    disabled_reason: Optional[str]
    created_at: str
    updated_at: str


class WebhookWithSecret(Webhook):
    """create_webhook's and rotate_webhook_secret's answer: the endpoint and its signing secret
    (``whsec_...``), shown this once."""

    secret: str


class WebhookDeleted(TypedDict):
    deleted: bool


class QueuedEvent(TypedDict):
    """test_webhook's answer: the ``webhook.test`` event queued (``msg_...``, its webhook-id)."""

    event_id: str


class WebhookDelivery(TypedDict):
    """One event's delivery to the endpoint, with its last attempt. ``state``: pending (a next
    attempt is due), delivered, or failed (retries ran out)."""

    event_id: str
    type: str
    state: str
    attempts: int
    next_attempt_at: Optional[str]
    last_attempt_at: Optional[str]
    last_status: Optional[int]
    last_latency_ms: Optional[int]
    last_error: Optional[str]
    created_at: str


class _ConnectionDeletedBase(TypedDict):
    deleted: bool
    revoked: bool


class ConnectionDeleted(_ConnectionDeletedBase, total=False):
    revoke_error: str


class Authorization(TypedDict):
    authorization_url: str
    state: str
    # None for a sign-in started with connector_type: it belongs to no connection until completed.
    connection_id: Optional[str]
    redirect_uri: str
    expires_at: str


class CallbackResult(TypedDict):
    connection_id: str
    connector_type: str
    status: str
    account_identity: Optional[str]
    scopes: List[str]


class OAuthApp(TypedDict):
    connector: str
    client_id: str
    has_client_secret: bool
    created_at: str
    updated_at: str


class OAuthAppDeleted(TypedDict):
    connector: str
    deleted: bool


class _EndUserBase(TypedDict):
    id: str


class EndUser(_EndUserBase, total=False):
    """The end user a Connect session is for: ``id`` (your id of them) becomes the connection's
    ``user_id``; ``email`` and ``display_name`` are shown on the page."""

    email: str
    display_name: str


class ConnectSettings(TypedDict):
    """The project's Connect settings: the exact origins (``https://app.example.com``) the Connect
    page may return to, post its outcome to and be framed by."""

    allowed_origins: List[str]


@dataclasses.dataclass(frozen=True)
class ConnectSession:
    """A Connect page for one end user (POST /api/v1/connect/sessions): give the browser
    ``connect_url`` as it is (the token is in its fragment). The token opens the page for 30
    minutes, once, and no API route; it and the URL holding it are left out of the repr."""

    token: str = dataclasses.field(repr=False)
    connect_url: str = dataclasses.field(repr=False)
    expires_at: str


@dataclasses.dataclass(frozen=True)
class Token:
    """A connection's access token (GET /connections/{id}/token). The token is left out of the repr."""

    access_token: str = dataclasses.field(repr=False)
    token_type: str
    expires_at: Optional[str]


@dataclasses.dataclass(frozen=True)
class ExecuteResult:
    """What POST /api/v1/proxy/execute answered: the upstream API's own status, headers and body.

    ``body`` is the parsed JSON (``encoding == "json"``), a ``str`` (``"text"``), ``bytes``
    (``"base64"``, decoded here) or ``None`` (``"none"``). ``result`` is the JSON some APIs put
    in a header (Dropbox-API-Result), when the endpoint declares one.
    """

    status: int
    headers: Dict[str, str]
    content_type: Optional[str]
    encoding: str
    body: Any
    result: Any = None
    request_id: Optional[str] = None

    @property
    def ok(self) -> bool:
        """Whether the upstream status is 2xx."""
        return 200 <= self.status < 300

    @property
    def content(self) -> bytes:
        """The body as bytes, whatever its encoding (JSON re-encoded compactly)."""
        if isinstance(self.body, bytes):
            return self.body
        if self.body is None:
            return b""
        if isinstance(self.body, str) and self.encoding == "text":
            return self.body.encode("utf-8")
        import json

        return json.dumps(self.body, separators=(",", ":")).encode("utf-8")
