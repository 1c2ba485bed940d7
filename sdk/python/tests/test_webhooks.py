"""Webhook management through Client and AsyncClient against the harness's real daemon, with a
receiver on 127.0.0.1 that checks every delivery with verify_webhook."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, Iterator, List, Tuple

import pytest

import connectr

from .conftest import Harness

Delivery = Tuple[Dict[str, str], bytes]


class Receiver:
    """Records every POST it gets and answers 204."""

    def __init__(self) -> None:
        self.got: List[Delivery] = []
        lock = self.lock = threading.Lock()
        got = self.got

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with lock:
                    got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_port}/hooks"

    def count(self) -> int:
        with self.lock:
            return len(self.got)

    def wait(self, start: int, match: Callable[[Delivery], bool]) -> Delivery:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with self.lock:
                found = [d for d in self.got[start:] if match(d)]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError("no such delivery within 30 s")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


@pytest.fixture
def client(harness: Harness) -> Iterator[connectr.Client]:
    with connectr.Client(harness.url, harness.api_key, timeout=60.0) as c:
        yield c


def test_lifecycle(client: connectr.Client, receiver: Receiver) -> None:
    made = client.create_webhook(receiver.url, description="python sdk test")
    assert made["secret"].startswith("whsec_")
    assert made["url"] == receiver.url and made["description"] == "python sdk test"
    assert "connection.created" in made["events"]
    listed = client.list_webhooks()
    assert made["id"] in [w["id"] for w in listed]
    shown = client.get_webhook(made["id"])
    assert shown["url"] == receiver.url
    assert made["secret"] not in repr([listed, shown])  # shown once
    assert client.update_webhook(made["id"], description="renamed")["description"] == "renamed"

    start = receiver.count()
    connection = client.create_connection("gmail", "python webhook test")
    headers, body = receiver.wait(start, lambda d: connection["id"].encode() in d[1])
    event = connectr.verify_webhook(body, headers, made["secret"])
    assert event["type"] == "connection.created"
    assert event["data"]["id"] == connection["id"]

    rotated = client.rotate_webhook_secret(made["id"])
    assert rotated["id"] == made["id"]
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != made["secret"]
    start = receiver.count()
    queued = client.test_webhook(made["id"])
    headers, body = receiver.wait(start, lambda d: b"webhook.test" in d[1])
    for secret in (made["secret"], rotated["secret"]):
        assert connectr.verify_webhook(body, headers, secret)["type"] == "webhook.test"
    assert headers["webhook-id"] == queued["event_id"]

    deadline = time.monotonic() + 30
    while True:
        deliveries = client.list_webhook_deliveries(made["id"])
        done = [d for d in deliveries if d["event_id"] == queued["event_id"] and d["state"] == "delivered"]
        if done:
            assert done[0]["last_status"] == 204 and done[0]["type"] == "webhook.test"
            break
        assert time.monotonic() < deadline, deliveries
        time.sleep(0.1)
    assert len(client.list_webhook_deliveries(made["id"], limit=1)) == 1

    start = receiver.count()
    assert client.redeliver_webhook(made["id"], queued["event_id"])["event_id"] == queued["event_id"]
    headers, body = receiver.wait(start, lambda d: d[0].get("webhook-id") == queued["event_id"])
    assert connectr.verify_webhook(body, headers, rotated["secret"])["type"] == "webhook.test"

    client.delete_webhook(made["id"])
    with pytest.raises(connectr.NotFoundError):
        client.get_webhook(made["id"])
    client.delete_connection(connection["id"])


def test_hostile_input(client: connectr.Client, receiver: Receiver, harness: Harness) -> None:
    for url in ("http://example.com/hook", "ftp://127.0.0.1/hook", "not a url"):
        with pytest.raises(connectr.InvalidInputError):
            client.create_webhook(url)
    with pytest.raises(connectr.InvalidInputError):
        client.create_webhook(receiver.url, events=["connection.nope"])
    made = client.create_webhook(receiver.url)
    try:
        with connectr.Client(harness.url, harness.other_key, timeout=60.0) as other:
            for call in (other.get_webhook, other.delete_webhook, other.rotate_webhook_secret):
                with pytest.raises(connectr.NotFoundError):
                    call(made["id"])
            assert made["id"] not in [w["id"] for w in other.list_webhooks()]
        with pytest.raises(connectr.NotFoundError):
            client.get_webhook("wh_unknown0")
        with pytest.raises(connectr.NotFoundError):
            client.redeliver_webhook(made["id"], "msg_unknown0")
        with pytest.raises(ValueError):
            client.get_webhook("..")
    finally:
        client.delete_webhook(made["id"])


@pytest.mark.anyio
async def test_async_lifecycle(harness: Harness, receiver: Receiver) -> None:
    async with connectr.AsyncClient(harness.url, harness.api_key) as client:
        made = await client.create_webhook(receiver.url, events=["connection.deleted"])
        assert made["events"] == ["connection.deleted"]
        assert made["id"] in [w["id"] for w in await client.list_webhooks()]
        updated = await client.update_webhook(made["id"], events=["connection.deleted", "connection.restored"])
        assert sorted(updated["events"]) == ["connection.deleted", "connection.restored"]
        rotated = await client.rotate_webhook_secret(made["id"])
        start = receiver.count()
        queued = await client.test_webhook(made["id"])
        headers, body = receiver.wait(start, lambda d: d[0].get("webhook-id") == queued["event_id"])
        assert connectr.verify_webhook(body, headers, [made["secret"], rotated["secret"]])["type"] == "webhook.test"
        deliveries = await client.list_webhook_deliveries(made["id"], limit=10)
        assert queued["event_id"] in [d["event_id"] for d in deliveries]
        start = receiver.count()
        await client.redeliver_webhook(made["id"], queued["event_id"])
        receiver.wait(start, lambda d: d[0].get("webhook-id") == queued["event_id"])
        assert (await client.get_webhook(made["id"]))["id"] == made["id"]
        await client.delete_webhook(made["id"])
        with pytest.raises(connectr.NotFoundError):
            await client.get_webhook(made["id"])
