"""Every route of connectr serve through connectr.Client, against the real server (the harness)
with the Gmail, Dropbox and OneDrive emulators behind it."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from pathlib import Path
from typing import Iterator

import pytest

import connectr

from .conftest import Harness


@pytest.fixture
def client(harness: Harness) -> Iterator[connectr.Client]:
    with connectr.Client(harness.url, harness.api_key, timeout=60.0) as c:
        yield c


# --- operations and authentication -----------------------------------------------------------------


def test_health_ready_openapi_metrics(client: connectr.Client, harness: Harness) -> None:
    assert client.health()["status"] == "ok"
    assert client.ready() == {"status": "ready"}
    assert "/api/v1/proxy/execute" in client.openapi()["paths"]
    # Every project's numbers: a project's key may not read them, a metrics key may.
    with pytest.raises(connectr.ForbiddenError) as caught:
        client.metrics()
    assert "metrics scope" in str(caught.value)
    with connectr.Client(harness.url, harness.metrics_key, timeout=60.0) as scraper:
        assert "connectr_http_requests_total" in scraper.metrics()


def test_no_key_and_a_bad_key_are_401(harness: Harness) -> None:
    with connectr.Client(harness.url) as anonymous:
        assert anonymous.health()["status"] == "ok"  # public
        with pytest.raises(connectr.AuthRequiredError) as caught:
            anonymous.list_connectors()
    assert caught.value.status == 401 and caught.value.request_id
    bad = "cnr_nope_" + "x" * 30
    with connectr.Client(harness.url, bad) as wrong, pytest.raises(connectr.AuthRequiredError) as caught:
        wrong.get_connection(harness.connections["gmail"])
    assert bad not in str(caught.value) and bad not in repr(caught.value)


# --- connectors ---------------------------------------------------------------------------------------


def test_connectors(client: connectr.Client) -> None:
    names = [c["name"] for c in client.list_connectors()]
    assert {"gmail", "dropbox", "onedrive"} <= set(names)
    gmail = client.get_connector("gmail")
    assert gmail["auth_type"] == "oauth2" and gmail["endpoints"]
    endpoints = {e["name"]: e for e in client.list_endpoints("gmail")}
    assert endpoints["list_messages"]["pagination"] is not None
    with pytest.raises(connectr.NotFoundError) as caught:
        client.get_connector("gmial")
    assert caught.value.hint and "gmail" in caught.value.hint
    with pytest.raises(connectr.InvalidInputError):
        client.list_endpoints("Not A Name!")


# --- connections ---------------------------------------------------------------------------------------


def test_connection_lifecycle_and_pagination(client: connectr.Client) -> None:
    user = f"user-{uuid.uuid4().hex[:8]}"
    made = [client.create_connection("dropbox", f"box {i}", user_id=user) for i in range(3)]
    assert made[0]["status"] == "pending" and made[0]["user_id"] == user
    assert client.get_connection(made[1]["id"])["name"] == "box 1"
    page = client.list_connections(user_id=user, limit=2)
    assert len(page["connections"]) == 2 and page["next_cursor"]
    rest = client.list_connections(user_id=user, limit=2, cursor=page["next_cursor"])
    assert [c["id"] for c in page["connections"] + rest["connections"]] == [m["id"] for m in made]
    assert rest["next_cursor"] is None
    assert [c["id"] for c in client.iter_connections(user_id=user, page_size=1)] == [m["id"] for m in made]
    assert client.list_connections(user_id=user, connector_type="gmail")["connections"] == []
    with pytest.raises(connectr.InvalidInputError) as caught:
        client.list_connections(cursor="not-a-cursor")
    assert "query.cursor" in caught.value.fields
    gone = client.delete_connection(made[0]["id"])
    assert gone["deleted"] is True and gone["revoked"] is False
    with pytest.raises(connectr.NotFoundError):
        client.get_connection(made[0]["id"])


def test_create_connection_bad_input_names_the_field(client: connectr.Client) -> None:
    with pytest.raises(connectr.InvalidInputError) as caught:
        client.create_connection("gmial", "x")
    assert caught.value.fields == ["body.connector_type"] and caught.value.status == 400
    with pytest.raises(connectr.InvalidInputError) as caught:
        client.create_connection("gmail", "   ")
    assert "body.name" in caught.value.fields


def test_put_credentials(client: connectr.Client, harness: Harness) -> None:
    made = client.create_connection("gmail", "pushed")
    done = client.put_credentials(made["id"], access_token=harness.tokens["gmail"], expires_in=3600, account="ann")
    assert done["status"] == "active" and done["account_identity"] == "ann"
    assert client.execute(made["id"], "get_profile").body["emailAddress"] == "ann@example.com"
    with pytest.raises(connectr.InvalidInputError) as caught:
        client.put_credentials(made["id"], api_key="nope")
    assert "oauth/authorize" in str(caught.value)


def test_other_project_sees_404(harness: Harness) -> None:
    with connectr.Client(harness.url, harness.other_key) as other:
        for call in (
            lambda: other.get_connection(harness.connections["gmail"]),
            lambda: other.execute(harness.connections["gmail"], "get_profile"),
            lambda: other.proxy(harness.connections["gmail"], "gmail/v1/users/me/profile"),
        ):
            with pytest.raises(connectr.NotFoundError):
                call()


def test_needs_reauth_without_a_credential(client: connectr.Client) -> None:
    pending = client.create_connection("gmail", "not signed in")
    with pytest.raises(connectr.NeedsReauthError) as caught:
        client.execute(pending["id"], "get_profile")
    assert caught.value.status == 409
    with pytest.raises(connectr.NeedsReauthError):
        client.proxy(pending["id"], "gmail/v1/users/me/profile")


def test_token(harness: Harness, client: connectr.Client) -> None:
    with connectr.Client(harness.url, harness.token_key) as reader:
        token = reader.get_token(harness.connections["gmail"])
        assert token.access_token == harness.tokens["gmail"] and token.token_type
        assert harness.tokens["gmail"] not in repr(token)
    with pytest.raises(connectr.ForbiddenError) as caught:
        client.get_token(harness.connections["gmail"])
    assert caught.value.status == 403


# --- OAuth -------------------------------------------------------------------------------------------


def test_oauth_apps_and_authorize(client: connectr.Client) -> None:
    app = client.put_oauth_app("onedrive", "client-123", "s3cret-app")
    assert app["client_id"] == "client-123" and app["has_client_secret"] is True
    assert "s3cret-app" not in json.dumps(app)
    assert "onedrive" in [a["connector"] for a in client.list_oauth_apps()]
    # both forms of POST /oauth/authorize
    pending = client.create_connection("onedrive", "to sign in")
    started = client.authorize(pending["id"], return_url="https://app.example.com/done")
    assert started["connection_id"] == pending["id"] and "client_id=client-123" in started["authorization_url"]
    old = client.authorize(connector_type="onedrive", redirect_uri="http://127.0.0.1:9/cb")
    # the old form's sign-in belongs to no connection until it is completed into one
    assert old["connection_id"] is None and old["redirect_uri"] == "http://127.0.0.1:9/cb"
    with pytest.raises(connectr.InvalidInputError):
        client.authorize(pending["id"], connector_type="onedrive")
    # the code-only callback: an unknown state is refused before any exchange
    with pytest.raises(connectr.InvalidInputError):
        client.oauth_callback(pending["id"], "some-code", "http://127.0.0.1:9/cb", state="unknown")
    assert client.delete_oauth_app("onedrive") == {"connector": "onedrive", "deleted": True}
    with pytest.raises(connectr.NotFoundError):
        client.delete_oauth_app("onedrive")


def test_authorize_without_an_app_is_400(client: connectr.Client) -> None:
    with pytest.raises(connectr.InvalidInputError):
        client.authorize(connector_type="dropbox")


# --- execute -------------------------------------------------------------------------------------------


def test_execute_json(client: connectr.Client, harness: Harness) -> None:
    result = client.execute(harness.connections["gmail"], "get_profile")
    assert result.ok and result.encoding == "json"
    assert result.body["emailAddress"] == "ann@example.com" and result.request_id


def test_execute_text(client: connectr.Client, harness: Harness) -> None:
    # Dropbox answers a malformed argument with a text/plain 400: execute passes it on as text.
    result = client.execute(harness.connections["dropbox"], "get_metadata", {"path": "no-slash"})
    assert result.status == 400 and result.encoding == "text"
    assert isinstance(result.body, str) and "Error in call to API function" in result.body


def test_execute_binary_is_bytes(client: connectr.Client, harness: Harness) -> None:
    result = client.execute(harness.connections["dropbox"], "download", {"path": "/docs/hello.txt"})
    assert result.encoding == "base64" and result.body == b"hello from dropbox\n"
    assert result.result["name"] == "hello.txt"
    onedrive = client.execute(harness.connections["onedrive"], "download", {"item_id": _item(client, harness, "hello.txt")})
    assert onedrive.body == b"hello from onedrive\n"


def _item(client: connectr.Client, harness: Harness, name: str) -> str:
    children = client.execute(harness.connections["onedrive"], "list_root_children").body["value"]
    return str(next(c["id"] for c in children if c["name"] == name))


def test_execute_bad_param_is_400_naming_it(client: connectr.Client, harness: Harness) -> None:
    with pytest.raises(connectr.InvalidInputError) as caught:
        client.execute(harness.connections["gmail"], "list_messages", {"maxResults": "many"})
    assert "params.maxResults" in caught.value.message
    with pytest.raises(connectr.InvalidInputError) as caught:
        client.execute(harness.connections["gmail"], "list_mesages")
    assert caught.value.fields == ["body.endpoint"]


def test_execute_upload_streamed_from_a_file(client: connectr.Client, harness: Harness) -> None:
    payload = bytes(range(256)) * 1000 + b"tail"  # not a multiple of 3: the base64 padding path
    result = client.execute(
        harness.connections["dropbox"], "upload", {"path": "/docs/exec.bin", "mode": "overwrite"}, data=io.BytesIO(payload)
    )
    assert result.status == 200 and result.body["size"] == len(payload)
    back = client.execute(harness.connections["dropbox"], "download", {"path": "/docs/exec.bin"})
    assert back.body == payload


def test_execute_all_streams_every_page(client: connectr.Client, harness: Harness) -> None:
    items = list(client.execute_all(harness.connections["gmail"], "list_messages", {"maxResults": 2}))
    assert len(items) == 7 and len({m["id"] for m in items}) == 7
    assert len(list(client.execute_all(harness.connections["gmail"], "list_messages", {"maxResults": 2}, max_pages=2))) == 4
    assert len(list(client.execute_all(harness.connections["gmail"], "list_messages", {"maxResults": 2}, limit=3))) == 3
    unread = list(client.execute_all(harness.connections["gmail"], "list_messages", {"q": "is:unread", "maxResults": 2}))
    assert len(unread) == 4


def test_execute_all_error_before_the_first_item_is_raised(client: connectr.Client, harness: Harness) -> None:
    with pytest.raises(connectr.InvalidInputError):
        list(client.execute_all(harness.connections["gmail"], "list_messages", {"maxResults": "x"}))
    pending = client.create_connection("gmail", "no credential")
    with pytest.raises(connectr.NeedsReauthError):
        next(iter(client.execute_all(pending["id"], "list_messages")))


def test_execute_all_can_be_abandoned(client: connectr.Client, harness: Harness) -> None:
    items = client.execute_all(harness.connections["gmail"], "list_messages", {"maxResults": 2})
    first = next(items)
    assert "id" in first
    items.close()  # type: ignore[attr-defined]
    assert client.health()["status"] == "ok"


# --- raw proxy -------------------------------------------------------------------------------------


def test_proxy_get(client: connectr.Client, harness: Harness) -> None:
    with client.proxy(harness.connections["gmail"], "gmail/v1/users/me/messages", params={"maxResults": 3}) as response:
        assert response.status_code == 200 and response.request_id
        assert len(json.loads(response.read())["messages"]) == 3


def test_proxy_upstream_error_comes_back_as_it_is(client: connectr.Client, harness: Harness) -> None:
    with client.proxy(harness.connections["gmail"], "gmail/v1/users/me/messages/nope") as response:
        assert response.status_code == 404
        assert json.loads(response.read())["error"]["code"] == 404  # Google's envelope, untouched


def test_proxy_refuses_a_bad_path_and_host(client: connectr.Client, harness: Harness) -> None:
    with pytest.raises(connectr.InvalidInputError) as caught:
        client.proxy(harness.connections["gmail"], "gmail/v1/%2e%2e/%2e%2e/admin")
    assert "params.path" in caught.value.fields or "params.path" in caught.value.message
    with pytest.raises(connectr.InvalidInputError):
        client.proxy(harness.connections["dropbox"], "2/files/download", "POST", host="nosuchhost")


def test_proxy_streamed_upload_and_download(client: connectr.Client, harness: Harness) -> None:
    chunk = hashlib.sha256(b"seed").digest() * 2048  # 64 KiB
    sent = hashlib.sha256()

    def body() -> Iterator[bytes]:
        for i in range(40):  # 2.5 MiB, above the JSON routes' 1 MiB limit: streamed, not buffered
            piece = bytes([i]) + chunk[1:]
            sent.update(piece)
            yield piece

    arg = json.dumps({"path": "/docs/big.bin", "mode": "overwrite"})
    with client.proxy(
        harness.connections["dropbox"],
        "2/files/upload",
        "POST",
        host="content",
        headers={"content-type": "application/octet-stream", "dropbox-api-arg": arg},
        content=body(),
    ) as up:
        assert up.status_code == 200, up.read()
        assert json.loads(up.read())["size"] == 40 * len(chunk)
    got = hashlib.sha256()
    size = 0
    with client.proxy(
        harness.connections["dropbox"],
        "2/files/download",
        "POST",
        host="content",
        headers={"dropbox-api-arg": json.dumps({"path": "/docs/big.bin"})},
    ) as down:
        assert down.status_code == 200
        for piece in down.iter_bytes():
            got.update(piece)
            size += len(piece)
    assert size == 40 * len(chunk) and got.digest() == sent.digest()


def test_proxy_upload_from_a_file_to_onedrive(client: connectr.Client, harness: Harness, tmp_path: Path) -> None:
    path = tmp_path / "report.bin"
    path.write_bytes(b"\x00\x01binary\xff" * 1000)
    with path.open("rb") as f, client.proxy(
        harness.connections["onedrive"], "me/drive/items/01ROOTID:/report.bin:/content", "PUT", content=f
    ) as response:
        assert response.status_code in (200, 201)
        item = json.loads(response.read())
    assert item["size"] == len(path.read_bytes()) == 9000
    back = client.execute(harness.connections["onedrive"], "download", {"item_id": item["id"]})
    assert back.body == path.read_bytes()
