"""Retries, Retry-After, time-outs, connection errors and stream faults, against a fake server
(the real daemon does not answer 429 or stall on demand). Sleeps are recorded, never slept."""

from __future__ import annotations

import email.utils
import json
from typing import Any, Iterator, List

import pytest

import connectr
from connectr import RetryPolicy

from .fakeserver import Answer, FakeServer, envelope, unused_port

KEY = "cnr_test_s3cr3t-value"
CONN = {"id": "conn_1", "connector_type": "gmail", "name": "x", "user_id": None, "status": "active"}


def ok(value: Any = CONN) -> Answer:
    return Answer(200, json.dumps(value).encode())


def busy(status: int = 503, retry_after: str = "", code: str = "unavailable") -> Answer:
    headers = {"content-type": "application/json"}
    if retry_after:
        headers["retry-after"] = retry_after
    return Answer(status, envelope(code, "busy"), headers)


class Sleeps:
    def __init__(self) -> None:
        self.waits: List[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client(fake: FakeServer, sleeps: Sleeps, **kw: Any) -> connectr.Client:
    policy = kw.pop("retry_policy", RetryPolicy(jitter=lambda: 0.0, now=lambda: 1_000_000.0))
    return connectr.Client(fake.url, KEY, sleep=sleeps, retry_policy=policy, **kw)


def test_get_retried_on_503_honouring_retry_after_seconds(fake: FakeServer) -> None:
    fake.add(busy(retry_after="2"), busy(429, "3", "unavailable"), ok())
    sleeps = Sleeps()
    with client(fake, sleeps) as c:
        assert c.get_connection("conn_1")["id"] == "conn_1"
    assert len(fake.requests) == 3
    assert sleeps.waits == [2.0, 3.0]


def test_retry_after_as_http_date_uses_the_clock(fake: FakeServer) -> None:
    fake.add(busy(retry_after=email.utils.formatdate(1_000_007.0, usegmt=True)), ok())
    sleeps = Sleeps()
    with client(fake, sleeps) as c:
        c.get_connection("conn_1")
    assert sleeps.waits == [7.0]


def test_retry_after_is_capped(fake: FakeServer) -> None:
    fake.add(busy(retry_after="86400"), ok())
    sleeps = Sleeps()
    policy = RetryPolicy(max_retry_after=30.0, jitter=lambda: 0.0)
    with client(fake, sleeps, retry_policy=policy) as c:
        c.get_connection("conn_1")
    assert sleeps.waits == [30.0]


def test_exponential_backoff_with_jitter_then_gives_up(fake: FakeServer) -> None:
    fake.add(busy(502, code="upstream"), busy(504, code="timeout"), busy(503), busy(503))
    sleeps = Sleeps()
    policy = RetryPolicy(max_retries=3, backoff_base=1.0, jitter=lambda: 0.5)
    with client(fake, sleeps, retry_policy=policy) as c, pytest.raises(connectr.UnavailableError) as caught:
        c.list_connectors()
    assert len(fake.requests) == 4
    # between half and all of 1, 2, 4 seconds; jitter 0.5 -> three quarters
    assert sleeps.waits == [0.75, 1.5, 3.0]
    assert caught.value.status == 503


def test_backoff_is_bounded_by_backoff_max() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=5.0, jitter=lambda: 0.999)
    assert policy.backoff(10) <= 5.0
    assert RetryPolicy(jitter=lambda: 0.0).backoff(0) == 0.25


def test_unreadable_retry_after_falls_back_to_backoff(fake: FakeServer) -> None:
    fake.add(busy(retry_after="soon"), ok())
    sleeps = Sleeps()
    with client(fake, sleeps) as c:
        c.get_connection("conn_1")
    assert sleeps.waits == [0.25]


def test_500_is_not_retried(fake: FakeServer) -> None:
    fake.add(Answer(500, envelope("internal", "internal error"), {"content-type": "application/json", "x-request-id": "req-9"}))
    sleeps = Sleeps()
    with client(fake, sleeps) as c, pytest.raises(connectr.InternalError) as caught:
        c.get_connection("conn_1")
    assert len(fake.requests) == 1 and sleeps.waits == []
    assert caught.value.request_id == "req-9"


def test_post_execute_is_not_retried_unless_asked(fake: FakeServer) -> None:
    fake.add(busy())
    sleeps = Sleeps()
    with client(fake, sleeps) as c:
        with pytest.raises(connectr.UnavailableError):
            c.execute("conn_1", "get_profile")
        assert len(fake.requests) == 1 and sleeps.waits == []
        fake.add(busy(retry_after="1"), ok({"status": 200, "headers": {}, "content_type": None, "encoding": "none", "body": None}))
        result = c.execute("conn_1", "get_profile", retry=True)
    assert result.status == 200 and result.body is None
    assert len(fake.requests) == 3 and sleeps.waits == [1.0]


def test_create_connection_is_a_post_and_is_not_retried(fake: FakeServer) -> None:
    fake.add(busy(429))
    sleeps = Sleeps()
    with client(fake, sleeps) as c, pytest.raises(connectr.UnavailableError):
        c.create_connection("gmail", "x")
    assert len(fake.requests) == 1


def test_delete_and_put_are_retried(fake: FakeServer) -> None:
    fake.add(busy(), ok({"deleted": True, "revoked": False}), busy(), ok(CONN))
    sleeps = Sleeps()
    with client(fake, sleeps) as c:
        assert c.delete_connection("conn_1")["deleted"] is True
        c.put_credentials("conn_1", api_key="k")
    assert [r.method for r in fake.requests] == ["DELETE", "DELETE", "PUT", "PUT"]


def test_retry_false_turns_retries_off_for_a_get(fake: FakeServer) -> None:
    fake.add(busy())
    sleeps = Sleeps()
    with client(fake, sleeps) as c, pytest.raises(connectr.UnavailableError):
        c.proxy("conn_1", "x", retry=False)
    assert len(fake.requests) == 1


def test_streamed_proxy_body_is_never_retried(fake: FakeServer) -> None:
    fake.add(busy(), ok())
    sleeps = Sleeps()

    def body() -> Iterator[bytes]:
        yield b"part1"
        yield b"part2"

    with client(fake, sleeps) as c, pytest.raises(connectr.UnavailableError):
        c.proxy("conn_1", "upload", "PUT", content=body())
    assert len(fake.requests) == 1
    assert fake.requests[0].body == b"part1part2"


def test_connection_reset_is_retried_then_typed(fake: FakeServer) -> None:
    fake.add(Answer(action="drop"), Answer(action="drop"), Answer(action="drop"))
    sleeps = Sleeps()
    with client(fake, sleeps) as c, pytest.raises(connectr.ConnectrConnectionError) as caught:
        c.get_connection("conn_1")
    assert len(fake.requests) == 3 and len(sleeps.waits) == 2
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)


def test_nothing_listening_is_a_connection_error() -> None:
    host, port = unused_port()
    sleeps = Sleeps()
    with connectr.Client(f"http://{host}:{port}", KEY, sleep=sleeps, max_retries=1) as c:
        with pytest.raises(connectr.ConnectrConnectionError) as caught:
            c.health()
    assert caught.value.status is None and len(sleeps.waits) == 1


def test_time_out_is_typed_and_retried_for_a_get(fake: FakeServer) -> None:
    fake.add(Answer(stall=1.0), Answer(stall=1.0))
    sleeps = Sleeps()
    with client(fake, sleeps, timeout=0.2, max_retries=1) as c, pytest.raises(connectr.ConnectrTimeoutError):
        c.get_connection("conn_1")
    assert len(fake.requests) == 2


def test_per_call_time_out_overrides_the_client_one(fake: FakeServer) -> None:
    fake.add(Answer(stall=1.0))
    sleeps = Sleeps()
    with client(fake, sleeps, timeout=30.0) as c, pytest.raises(connectr.ConnectrTimeoutError):
        c.execute("conn_1", "get_profile", timeout=0.2)
    assert len(fake.requests) == 1


def test_ndjson_error_line_raises_after_the_items(fake: FakeServer) -> None:
    lines = b'{"id": "1"}\n{"id": "2"}\n' + envelope("upstream", "page 2 failed") + b"\n"
    fake.add(Answer(200, lines, {"content-type": "application/x-ndjson", "x-request-id": "req-7"}))
    got: List[Any] = []
    with client(fake, Sleeps()) as c, pytest.raises(connectr.UpstreamError) as caught:
        for item in c.execute_all("conn_1", "list_messages"):
            got.append(item)
    assert got == [{"id": "1"}, {"id": "2"}]
    assert caught.value.status == 502 and caught.value.request_id == "req-7"
    assert json.loads(fake.requests[0].body)["all"] is True


def test_ndjson_cut_mid_line_is_an_error(fake: FakeServer) -> None:
    fake.add(Answer(200, b'{"id": "1"}\n{"id": ', {"content-type": "application/x-ndjson"}, cut=True))
    got: List[Any] = []
    with client(fake, Sleeps()) as c, pytest.raises((connectr.InvalidResponseError, connectr.ConnectrConnectionError)):
        for item in c.execute_all("conn_1", "list_messages"):
            got.append(item)
    assert got == [{"id": "1"}]


def test_ndjson_item_that_merely_has_an_error_key_is_an_item(fake: FakeServer) -> None:
    fake.add(Answer(200, b'{"error": {"code": 5, "message": "m"}}\n', {"content-type": "application/x-ndjson"}))
    with client(fake, Sleeps()) as c:
        assert list(c.execute_all("conn_1", "x")) == [{"error": {"code": 5, "message": "m"}}]


def test_upstream_error_through_the_raw_proxy_is_returned_not_raised(fake: FakeServer) -> None:
    graph = b'{"error": {"code": "itemNotFound", "message": "not here"}}'
    fake.add(Answer(404, graph), Answer(404, envelope("not_found", "no connection conn_1")))
    with client(fake, Sleeps()) as c:
        with c.proxy("conn_1", "me/drive/items/x") as response:
            assert response.status_code == 404
            assert response.read() == graph
        with pytest.raises(connectr.NotFoundError):
            c.proxy("conn_1", "me/drive/items/x")


def test_a_non_envelope_error_is_typed_by_its_status(fake: FakeServer) -> None:
    fake.add(Answer(404, b"<html>nope</html>", {"content-type": "text/html"}))
    with client(fake, Sleeps()) as c, pytest.raises(connectr.NotFoundError) as caught:
        c.get_connector("gmail")
    assert caught.value.code == "not_found"


def test_api_key_is_sent_as_bearer_and_never_shown(fake: FakeServer) -> None:
    fake.add(Answer(401, envelope("auth_required", "unknown API key"), {"content-type": "application/json"}))
    with client(fake, Sleeps()) as c:
        assert KEY not in repr(c)
        with pytest.raises(connectr.AuthRequiredError) as caught:
            c.list_connectors()
    assert fake.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)


def test_env_configures_url_and_key(fake: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTR_URL", fake.url + "/")
    monkeypatch.setenv("CONNECTR_API_KEY", KEY)
    fake.add(ok({"status": "ok", "version": "1"}), ok({"connectors": []}))
    with connectr.Client() as c:
        c.health()
        assert c.list_connectors() == []
    assert "authorization" not in fake.requests[0].headers  # /health is public
    assert fake.requests[1].headers["authorization"] == f"Bearer {KEY}"


def test_default_base_url() -> None:
    with connectr.Client() as c:
        assert c.base_url == "http://127.0.0.1:5000"


def test_ids_are_encoded_into_one_path_segment(fake: FakeServer) -> None:
    fake.add(ok(), ok())
    with client(fake, Sleeps()) as c:
        c.get_connection("../connectors")
        c.get_connection("a/b?c")
    assert fake.requests[0].path == "/api/v1/connections/..%2Fconnectors"
    assert fake.requests[1].path == "/api/v1/connections/a%2Fb%3Fc"
    with pytest.raises(ValueError):
        c.get_connection("..")


def test_header_injection_is_refused() -> None:
    with pytest.raises(ValueError):
        connectr.Client("http://127.0.0.1:1", "key\r\nx-evil: 1")


def test_iter_connections_stops_on_a_repeated_cursor(fake: FakeServer) -> None:
    page = {"connections": [CONN], "next_cursor": "same"}
    fake.add(ok(page), ok(page), ok(page))
    with client(fake, Sleeps()) as c:
        assert len(list(c.iter_connections())) == 2
    assert len(fake.requests) == 2


def test_an_oversized_answer_is_refused(fake: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import connectr._core as core

    monkeypatch.setattr(core, "MAX_JSON_BYTES", 1000)
    fake.add(ok({"connectors": ["x" * 5000]}))
    with client(fake, Sleeps()) as c, pytest.raises(connectr.InvalidResponseError):
        c.list_connectors()


def test_data_must_be_bytes_not_str() -> None:
    with connectr.Client("http://127.0.0.1:1", KEY) as c, pytest.raises(TypeError):
        c.execute("conn_1", "upload", data="text")


def test_a_proxied_download_cut_short_is_a_connection_error(fake: FakeServer) -> None:
    fake.add(Answer(200, b"x" * 1000, {"content-type": "application/octet-stream", "content-length": "5000"}, cut=True))
    with client(fake, Sleeps()) as c, c.proxy("conn_1", "file") as response:
        with pytest.raises(connectr.ConnectrConnectionError):
            for _ in response.iter_bytes():
                pass


def test_escape_codes_from_the_server_are_not_printed_raw(fake: FakeServer) -> None:
    fake.add(Answer(400, envelope("invalid_input", "bad \x1b[31mred\x1b[0m value")))
    with client(fake, Sleeps()) as c, pytest.raises(connectr.InvalidInputError) as caught:
        c.get_connection("conn_1")
    assert "\x1b" not in str(caught.value) and "\\x1b[31m" in str(caught.value)
    assert caught.value.message == "bad \x1b[31mred\x1b[0m value"
