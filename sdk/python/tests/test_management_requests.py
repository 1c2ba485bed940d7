"""What each webhook management call sends (method, path, query, body), against the fake server:
the daemon's routes are checked end to end in test_webhooks.py."""

from __future__ import annotations

import json
from typing import Any, List

import pytest

import connectr

from .fakeserver import Answer, FakeServer

HOOK = {
    "id": "wh_1",
    "url": "https://example.com/h",
    "events": ["connection.deleted"],
    "description": None,
    "disabled": False,
    "disabled_reason": None,
    "created_at": "t",
    "updated_at": "t",
}
DELIVERY = {
    "event_id": "msg_1",
    "type": "webhook.test",
    "state": "delivered",
    "attempts": 1,
    "next_attempt_at": None,
    "last_attempt_at": "t",
    "last_status": 204,
    "last_latency_ms": 3,
    "last_error": None,
    "created_at": "t",
}


def answers() -> List[Answer]:
    def ok(value: Any, status: int = 200) -> Answer:
        return Answer(status, json.dumps(value).encode())

    return [
        ok({**HOOK, "secret": "whsec_AAAA"}, 201),
        ok({"webhooks": [HOOK]}),
        ok(HOOK),
        ok(HOOK),
        ok({**HOOK, "secret": "whsec_BBBB"}),
        ok({"event_id": "msg_1"}, 202),
        ok({"deliveries": [DELIVERY]}),
        ok({**DELIVERY, "state": "pending"}, 202),
        ok({"deleted": True}),
    ]


EXPECTED = [
    ("POST", "/api/v1/webhooks", {"url": "https://example.com/h", "events": ["connection.deleted"]}),
    ("GET", "/api/v1/webhooks", None),
    ("GET", "/api/v1/webhooks/wh%2F1", None),
    ("PATCH", "/api/v1/webhooks/wh_1", {"description": None, "disabled": False}),
    ("POST", "/api/v1/webhooks/wh_1/rotate-secret", None),
    ("POST", "/api/v1/webhooks/wh_1/test", None),
    ("GET", "/api/v1/webhooks/wh_1/deliveries?limit=10", None),
    ("POST", "/api/v1/webhooks/wh_1/deliveries/msg_1/redeliver", None),
    ("DELETE", "/api/v1/webhooks/wh_1", None),
]


def sent(fake: FakeServer) -> List[Any]:
    return [(r.method, r.path, json.loads(r.body) if r.body else None) for r in fake.requests]


def test_sync_requests(fake: FakeServer) -> None:
    fake.add(*answers())
    with connectr.Client(fake.url, "cnr_test_key") as c:
        assert c.create_webhook("https://example.com/h", events=["connection.deleted"])["secret"] == "whsec_AAAA"
        assert [w["id"] for w in c.list_webhooks()] == ["wh_1"]
        c.get_webhook("wh/1")
        c.update_webhook("wh_1", description=None, disabled=False)
        assert c.rotate_webhook_secret("wh_1")["secret"] == "whsec_BBBB"
        assert c.test_webhook("wh_1")["event_id"] == "msg_1"
        assert c.list_webhook_deliveries("wh_1", limit=10) == [DELIVERY]
        assert c.redeliver_webhook("wh_1", "msg_1")["state"] == "pending"
        assert c.delete_webhook("wh_1")["deleted"] is True
        for bad in ("", ".", ".."):
            with pytest.raises(ValueError):
                c.get_webhook(bad)
            with pytest.raises(ValueError):
                c.redeliver_webhook("wh_1", bad)
    assert sent(fake) == EXPECTED


@pytest.mark.anyio
async def test_async_requests(fake: FakeServer) -> None:
    fake.add(*answers())
    async with connectr.AsyncClient(fake.url, "cnr_test_key") as c:
        await c.create_webhook("https://example.com/h", events=["connection.deleted"])
        await c.list_webhooks()
        await c.get_webhook("wh/1")
        await c.update_webhook("wh_1", description=None, disabled=False)
        await c.rotate_webhook_secret("wh_1")
        await c.test_webhook("wh_1")
        await c.list_webhook_deliveries("wh_1", limit=10)
        await c.redeliver_webhook("wh_1", "msg_1")
        await c.delete_webhook("wh_1")
    assert sent(fake) == EXPECTED


CONNECTION = {"id": "conn_1", "connector_type": "gmail", "connector_version": 1, "name": "n"}


def test_create_connection_sends_connector_version_only_when_given(fake: FakeServer) -> None:
    ok = Answer(201, json.dumps(CONNECTION).encode())
    fake.add(ok, ok)
    with connectr.Client(fake.url, "cnr_test_key") as c:
        assert c.create_connection("gmail", "n", connector_version=1)["connector_version"] == 1
        c.create_connection("gmail", "n")
    assert sent(fake) == [
        ("POST", "/api/v1/connections", {"connector_type": "gmail", "name": "n", "connector_version": 1}),
        ("POST", "/api/v1/connections", {"connector_type": "gmail", "name": "n"}),
    ]


@pytest.mark.anyio
async def test_async_create_connection_sends_connector_version(fake: FakeServer) -> None:
    fake.add(Answer(201, json.dumps(CONNECTION).encode()))
    async with connectr.AsyncClient(fake.url, "cnr_test_key") as c:
        await c.create_connection("gmail", "n", connector_version=2)
    assert sent(fake) == [
        ("POST", "/api/v1/connections", {"connector_type": "gmail", "name": "n", "connector_version": 2}),
    ]
