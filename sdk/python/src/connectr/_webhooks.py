"""Verifying a delivery of connectr's outgoing webhooks (docs/webhooks.md).

Deliveries follow the Standard Webhooks specification, so the check is the official
``standardwebhooks`` library's: this module only picks the three ``webhook-*`` headers out of
whatever a framework hands over, tries each secret (two during a rotation) and turns the
library's failures into one typed error."""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Literal, Optional, Protocol, Sequence, Tuple, TypedDict, Union, cast

from standardwebhooks.webhooks import Webhook as _StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError as _StandardError

from ._errors import ConnectrError, InvalidInputError
from ._types import Connection

__all__ = [
    "WebhookVerificationError",
    "verify_webhook",
    "WebhookEvent",
    "ConnectionWebhookEvent",
    "WebhookTestEvent",
    "ProviderWebhookEvent",
    "ProviderEventData",
    "ConnectionEventData",
    "NeedsReauthReason",
]

ConnectionEventType = Literal[
    "connection.created",
    "connection.signed_in",
    "connection.needs_reauth",
    "connection.restored",
    "connection.deleted",
]


class NeedsReauthReason(TypedDict):
    """Why a connection needs a new sign-in: ``refresh_rejected`` or ``health_check_failed``."""

    code: str
    message: str


class ConnectionEventData(Connection, total=False):
    """The connection as GET /api/v1/connections/{id} shows it, after the change."""

    reason: NeedsReauthReason


class ConnectionWebhookEvent(TypedDict):
    type: ConnectionEventType
    timestamp: str
    data: ConnectionEventData


class TestEventData(TypedDict):
    webhook_id: str
    message: str


class WebhookTestEvent(TypedDict):
    """What POST /api/v1/webhooks/{id}/test sends."""

    type: Literal["webhook.test"]
    timestamp: str
    data: TestEventData


class ProviderEventData(TypedDict):
    """A provider's push as the daemon verified it: ``connection_id`` is None when it concerns
    no connection the daemon knows; ``payload`` is the provider's, as received."""

    connector: str
    connection_id: Optional[str]
    event_type: str
    payload: Any


class ProviderWebhookEvent(TypedDict):
    """A provider's push, forwarded (docs/webhooks.md, "Provider events")."""

    type: Literal["provider.event"]
    timestamp: str
    data: ProviderEventData


#: A verified delivery's body; check ``event["type"]``. Newer servers may send types not listed here.
WebhookEvent = Union[ConnectionWebhookEvent, ProviderWebhookEvent, WebhookTestEvent]


class WebhookVerificationError(ConnectrError):
    """A delivery that is not connectr's, or not now: a missing ``webhook-*`` header, no
    signature made with any of the secrets (a tampered body, a wrong secret), or a timestamp
    more than five minutes from this machine's clock (a replay). Answer it with a 4xx and do not
    act on it. The message never holds a secret."""

    code = "webhook_verification_failed"


_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
_SECRET = re.compile(r"whsec_[A-Za-z0-9+/]+=*\Z")

class _HasItems(Protocol):
    def items(self) -> Iterable[Tuple[str, str]]: ...


#: A dict, or any headers object with ``items()`` (httpx, starlette, werkzeug, django,
#: http.server's ``self.headers``), or (name, value) pairs.
Headers = Union[_HasItems, Iterable[Tuple[str, str]]]


def _pick(headers: Headers) -> Dict[str, str]:
    """The three webhook-* headers, names in any case; no other header is read or copied."""
    items = headers.items() if hasattr(headers, "items") else headers
    picked: Dict[str, str] = {}
    for name, value in items:
        lowered = str(name).lower()
        if lowered in _HEADERS and lowered not in picked:
            picked[lowered] = str(value)
    return picked


def _verifier(secret: str) -> _StandardWebhook:
    if not isinstance(secret, str) or not _SECRET.match(secret):
        raise InvalidInputError('a webhook secret is "whsec_" followed by base64', code="invalid_input")
    return _StandardWebhook(secret)


def verify_webhook(
    payload: Union[bytes, str], headers: Headers, secret: Union[str, Sequence[str]]
) -> WebhookEvent:
    """Checks a delivery of connectr's webhooks with the official Standard Webhooks library and
    returns its event.

    ``payload`` is the request body exactly as received (``request.get_data()``,
    ``await request.body()``), never a re-serialised object; ``headers`` the request's headers;
    ``secret`` the endpoint's ``whsec_...`` secret, or a list of them (while you migrate to a
    rotated one). Raises :class:`WebhookVerificationError` when the delivery does not verify,
    :class:`InvalidInputError` when a secret is malformed.
    """
    secrets: List[str] = [secret] if isinstance(secret, str) else list(secret)
    if not secrets:
        raise InvalidInputError("give at least one webhook secret", code="invalid_input")
    verifiers = [_verifier(s) for s in secrets]
    picked = _pick(headers)
    failure: Optional[Exception] = None
    for verifier in verifiers:
        try:
            event = verifier.verify(payload, picked)
        # The library's own error, and the ValueErrors it lets through: a signature without a
        # comma, a body that is not UTF-8 or not JSON.
        except (_StandardError, ValueError) as exc:
            failure = exc
            continue
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise WebhookVerificationError("the delivery verified but its body is not a webhook event")
        return cast(WebhookEvent, event)
    if isinstance(failure, _StandardError):
        raise WebhookVerificationError(f"webhook verification failed: {failure}") from failure
    raise WebhookVerificationError("webhook verification failed: a malformed header or body") from failure
