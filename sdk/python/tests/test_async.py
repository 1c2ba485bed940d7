"""AsyncClient: the same calls, awaited, against the harness and the fake server."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any, AsyncIterator, List

import pytest

import connectr
from connectr import RetryPolicy

from .conftest import Harness
from .fakeserver import Answer, FakeServer, envelope

pytestmark = pytest.mark.anyio


async def test_routes(harness: Harness) -> None:
    async with connectr.AsyncClient(harness.url, harness.api_key) as client:
        assert (await client.health())["status"] == "ok"
        assert "gmail" in [c["name"] for c in await client.list_connectors()]
        made = await client.create_connection("gmail", "async", user_id="async-user")
        assert (await client.get_connection(made["id"]))["status"] == "pending"
        listed = [c["id"] async for c in client.iter_connections(user_id="async-user", page_size=1)]
        assert listed == [made["id"]]
        with pytest.raises(connectr.NeedsReauthError):
            await client.execute(made["id"], "get_profile")
        assert (await client.delete_connection(made["id"]))["deleted"] is True
        with pytest.raises(connectr.NotFoundError):
            await client.get_connection(made["id"])
    async with connectr.AsyncClient(harness.url, harness.token_key) as reader:
        token = await reader.get_token(harness.connections["gmail"])
        assert token.access_token == harness.tokens["gmail"]


async def test_execute_and_all(harness: Harness) -> None:
    async with connectr.AsyncClient(harness.url, harness.api_key) as client:
        profile = await client.execute(harness.connections["gmail"], "get_profile")
        assert profile.body["messagesTotal"] == 7
        items = [m async for m in client.execute_all(harness.connections["gmail"], "list_messages", {"maxResults": 2})]
        assert len(items) == 7
        up = await client.execute(
            harness.connections["dropbox"], "upload", {"path": "/docs/async.bin", "mode": "overwrite"}, data=io.BytesIO(b"a\x00b")
        )
        assert up.body["size"] == 3
        down = await client.execute(harness.connections["dropbox"], "download", {"path": "/docs/async.bin"})
        assert down.body == b"a\x00b"


async def test_proxy_streams_both_ways(harness: Harness) -> None:
    sent = hashlib.sha256()

    async def body() -> AsyncIterator[bytes]:
        for i in range(20):
            piece = bytes([i]) * 65536
            sent.update(piece)
            yield piece

    async with connectr.AsyncClient(harness.url, harness.api_key) as client:
        response = await client.proxy(
            harness.connections["dropbox"],
            "2/files/upload",
            "POST",
            host="content",
            headers={"content-type": "application/octet-stream", "dropbox-api-arg": json.dumps({"path": "/docs/a.bin", "mode": "overwrite"})},
            content=body(),
        )
        async with response:
            assert response.status_code == 200
            await response.aread()
        got = hashlib.sha256()
        response = await client.proxy(
            harness.connections["dropbox"],
            "2/files/download",
            "POST",
            host="content",
            headers={"dropbox-api-arg": json.dumps({"path": "/docs/a.bin"})},
        )
        async with response:
            async for piece in response.aiter_bytes():
                got.update(piece)
        assert got.digest() == sent.digest()
        with pytest.raises(connectr.NotFoundError):
            await client.proxy("conn_nope", "x")


async def test_retries_with_async_sleep(fake: FakeServer) -> None:
    waits: List[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    fake.add(
        Answer(503, envelope("unavailable"), {"content-type": "application/json", "retry-after": "4"}),
        Answer(200, b'{"status": "ok", "version": "x"}'),
        Answer(503, envelope("unavailable")),
    )
    async with connectr.AsyncClient(fake.url, "k", sleep=sleep, retry_policy=RetryPolicy(jitter=lambda: 0.0)) as client:
        assert (await client.health())["status"] == "ok"
        assert waits == [4.0] and len(fake.requests) == 2
        with pytest.raises(connectr.UnavailableError):
            await client.execute("conn_1", "x")  # a POST: not retried
    assert len(fake.requests) == 3


async def test_async_time_out_and_ndjson_error(fake: FakeServer) -> None:
    fake.add(Answer(stall=1.0))
    async with connectr.AsyncClient(fake.url, "k", timeout=0.2, max_retries=0) as client:
        with pytest.raises(connectr.ConnectrTimeoutError):
            await client.health()
        fake.add(Answer(200, b'{"n": 1}\n' + envelope("timeout", "page 2 took too long") + b"\n", {"content-type": "application/x-ndjson"}))
        got: List[Any] = []
        with pytest.raises(connectr.ServerTimeoutError) as caught:
            async for item in client.execute_all("conn_1", "x"):
                got.append(item)
        assert got == [{"n": 1}] and caught.value.status == 504
