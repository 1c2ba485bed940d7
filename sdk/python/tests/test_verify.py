"""verify_webhook against deliveries signed by the official Standard Webhooks library (PyPI
``standardwebhooks``), as connectr's daemon signs them."""

from __future__ import annotations

import base64
import email.message
import json
import os
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

import connectr


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode("ascii")


SECRET = new_secret()
OLD = new_secret()
BODY = json.dumps(
    {
        "type": "connection.needs_reauth",
        "timestamp": "2026-12-07T20:00:00.000Z",
        "data": {
            "id": "conn_1",
            "connector_type": "gmail",
            "name": "Work mail",
            "user_id": "user-1",
            "status": "needs_reauth",
            "reason": {"code": "refresh_rejected", "message": "the provider refused the refresh token"},
        },
    },
    separators=(",", ":"),
)


def signed(
    body: str,
    secrets: Optional[List[str]] = None,
    at: Optional[datetime] = None,
    msg_id: str = "evt_2KWPBgLlAfxdpx2AI54pPJ85f4W",
) -> Dict[str, str]:
    """The headers of a delivery of ``body``, signed by each secret with the official library."""
    when = at or datetime.now(tz=timezone.utc)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": " ".join(
            Webhook(s).sign(msg_id=msg_id, timestamp=when, data=body) for s in (secrets or [SECRET])
        ),
    }


def refused(body: "str | bytes", headers: Dict[str, str], secret: "str | List[str]") -> str:
    with pytest.raises(connectr.WebhookVerificationError) as caught:
        connectr.verify_webhook(body, headers, secret)
    text = str(caught.value)
    for s in (SECRET, OLD):
        assert s[len("whsec_") :] not in text
    return text


def test_a_signed_delivery_verifies_and_returns_its_event() -> None:
    event = connectr.verify_webhook(BODY, signed(BODY), SECRET)
    assert event["type"] == "connection.needs_reauth"
    if event["type"] == "connection.needs_reauth":
        assert event["data"]["id"] == "conn_1"
        assert event["data"].get("reason") == {
            "code": "refresh_rejected",
            "message": "the provider refused the refresh token",
        }


def test_bytes_and_any_header_container() -> None:
    headers = signed(BODY)
    assert connectr.verify_webhook(BODY.encode(), httpx.Headers(headers), SECRET)["type"] == "connection.needs_reauth"
    shouting = {k.upper(): v for k, v in headers.items()}
    assert connectr.verify_webhook(BODY, shouting, SECRET)["type"] == "connection.needs_reauth"
    pairs = [("Content-Type", "application/json")] + [(k.title(), v) for k, v in headers.items()]
    assert connectr.verify_webhook(BODY, pairs, SECRET)["type"] == "connection.needs_reauth"
    message = email.message.Message()  # http.server's self.headers
    for name, value in pairs:
        message[name] = value
    assert connectr.verify_webhook(BODY, message, SECRET)["type"] == "connection.needs_reauth"


def test_tampered_reserialised_and_moved_deliveries_are_refused() -> None:
    headers = signed(BODY)
    assert "No matching signature" in refused(BODY.replace("user-1", "user-2"), headers, SECRET)
    refused(json.dumps(json.loads(BODY), indent=2), headers, SECRET)
    refused(BODY, {**headers, "webhook-id": "evt_other"}, SECRET)
    refused(BODY, {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 1)}, SECRET)


def test_a_wrong_secret_is_refused() -> None:
    assert "No matching signature" in refused(BODY, signed(BODY), new_secret())
    refused(BODY, signed(BODY), [OLD, new_secret()])


def test_stale_and_future_timestamps_are_refused_within_five_minutes_accepted() -> None:
    now = datetime.now(tz=timezone.utc)
    assert "too old" in refused(BODY, signed(BODY, at=now - timedelta(minutes=6)), SECRET)
    assert "too new" in refused(BODY, signed(BODY, at=now + timedelta(minutes=6)), SECRET)
    event = connectr.verify_webhook(BODY, signed(BODY, at=now - timedelta(minutes=4)), SECRET)
    assert event["type"] == "connection.needs_reauth"


def test_two_signatures_during_a_rotation_verify_with_either_secret() -> None:
    headers = signed(BODY, [OLD, SECRET])
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secrets in (OLD, SECRET, [new_secret(), SECRET]):
        assert connectr.verify_webhook(BODY, headers, secrets)["type"] == "connection.needs_reauth"
    # The receiver holds both while the sender signs with the new one only.
    assert connectr.verify_webhook(BODY, signed(BODY), [OLD, SECRET])["type"] == "connection.needs_reauth"


def test_missing_and_garbage_headers_are_refused() -> None:
    headers = signed(BODY)
    for name in headers:
        without = {k: v for k, v in headers.items() if k != name}
        assert "Missing required headers" in refused(BODY, without, SECRET)
    refused(BODY, {}, SECRET)
    refused(BODY, {**headers, "webhook-timestamp": "soon"}, SECRET)
    signature = headers["webhook-signature"].split(",", 1)[1]
    for value in ("v1,", "v1", "v1a," + signature, "v2," + signature, "v1,%%%", "v1,a,b"):
        refused(BODY, {**headers, "webhook-signature": value}, SECRET)


def test_a_signed_body_that_is_not_an_event_is_refused() -> None:
    for body in ("not json", "[1, 2]", '{"data": {}}'):
        refused(body, signed(body), SECRET)
    refused(b"\xff\xfe", signed("x"), SECRET)


def test_a_malformed_secret_is_the_callers_error() -> None:
    for bad in ("", "cnr_apikey", "whsec_", "whsec_not base64!", SECRET[len("whsec_") :]):
        with pytest.raises(connectr.InvalidInputError):
            connectr.verify_webhook(BODY, signed(BODY), bad)
    with pytest.raises(connectr.InvalidInputError):
        connectr.verify_webhook(BODY, signed(BODY), [])
