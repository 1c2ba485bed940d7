"""Connect sessions and settings through Client and AsyncClient against the harness's real daemon."""

from __future__ import annotations

import datetime
import re
from typing import Any, Callable, Dict, Iterator
from urllib.parse import urlsplit

import pytest

import connectr

from .conftest import REPO, Harness

# Each test sets the project's origins itself: the daemon is shared by the whole session.
APP = "https://app-python.example.com"


@pytest.fixture
def client(harness: Harness) -> Iterator[connectr.Client]:
    with connectr.Client(harness.url, harness.api_key, timeout=60.0) as c:
        yield c


def fields(error: connectr.ConnectrError) -> Any:
    return [d.field for d in error.details]


def names_field(error: connectr.ConnectrError, field: str) -> bool:
    """Whether a detail names ``field``: as its field, or (return_url's origin) at the start of its message."""
    return any((d.field or d.message).startswith(field) for d in error.details)


def check_session(session: connectr.ConnectSession, harness: Harness) -> None:
    assert session.token.startswith("cnct_")
    url = urlsplit(session.connect_url)
    assert f"{url.scheme}://{url.netloc}" == harness.url
    assert (url.path, url.query, url.fragment) == ("/connect", "", session.token)
    expires = datetime.datetime.fromisoformat(session.expires_at.replace("Z", "+00:00"))
    ahead = expires - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(minutes=29) < ahead <= datetime.timedelta(minutes=30, seconds=5)


def test_session_settings_and_return_url(client: connectr.Client, harness: Harness) -> None:
    assert client.put_connect_settings([]) == {"allowed_origins": []}
    session = client.create_connect_session(
        {"id": "py-user", "email": "ada@example.com", "display_name": "Ada"},
        allowed_connectors=["gmail"],
        tags={"from": "python"},
    )
    check_session(session, harness)
    # The token and the URL that holds it are secrets of the end user's page: never printed.
    assert session.token not in repr(session) and "expires_at" in repr(session)
    # It opens the page, not the API.
    with connectr.Client(harness.url, session.token) as page_only:
        with pytest.raises(connectr.AuthRequiredError):
            page_only.list_connections()

    # A return URL on an origin the project has not allowed: 400, naming it.
    with pytest.raises(connectr.InvalidInputError) as refused:
        client.create_connect_session({"id": "py-user"}, return_url=f"{APP}/done")
    assert refused.value.code == "invalid_input" and refused.value.status == 400
    assert APP in str(refused.value) and names_field(refused.value, "body.return_url")
    assert "connect/settings" in (refused.value.hint or "")

    assert client.put_connect_settings([APP]) == {"allowed_origins": [APP]}
    assert client.get_connect_settings() == {"allowed_origins": [APP]}
    check_session(client.create_connect_session({"id": "py-user"}, return_url=f"{APP}/done?x=1"), harness)
    # Exact origins: another port or scheme of the same host is another origin.
    for elsewhere in (f"{APP}:8443/done", "http://app-python.example.com/done"):
        with pytest.raises(connectr.InvalidInputError):
            client.create_connect_session({"id": "py-user"}, return_url=elsewhere)


def test_connection_id(client: connectr.Client, harness: Harness) -> None:
    # The project's own connection: a session that signs it in again.
    check_session(client.create_connect_session({"id": "py-user"}, connection_id=harness.connections["gmail"]), harness)
    with pytest.raises(connectr.NotFoundError) as unknown:
        client.create_connect_session({"id": "py-user"}, connection_id="conn_doesnotexist")
    assert unknown.value.status == 404 and unknown.value.code == "not_found"
    # Another project's connection does not exist for this key either.
    with connectr.Client(harness.url, harness.other_key) as other:
        with pytest.raises(connectr.NotFoundError):
            other.create_connect_session({"id": "py-user"}, connection_id=harness.connections["gmail"])


def test_hostile_input_is_refused_naming_the_field(client: connectr.Client) -> None:
    cases: Any = [
        (dict(end_user={"id": "u"}, tags={"Team Name": "x"}), "body.tags"),
        (dict(end_user={"id": "u"}, tags={"team": "a\x1b[31mb"}), "body.tags"),
        (dict(end_user={"id": "u"}, allowed_connectors=["gmial"]), "body.allowed_connectors.0"),
        (dict(end_user={"id": "u"}, connection_id="../connections"), "body.connection_id"),
        (dict(end_user={"id": "u"}, return_url="javascript:alert(1)"), "body.return_url"),
        (dict(end_user={"id": "u\nv"}), "body.end_user.id"),
        (dict(end_user={"id": "u", "role": "admin"}), "body.end_user"),
    ]
    for kwargs, field in cases:
        with pytest.raises(connectr.InvalidInputError) as refused:
            client.create_connect_session(**kwargs)
        assert names_field(refused.value, field), (kwargs, refused.value)
    # JSON's __proto__ key never reaches the daemon's objects: the body itself is refused.
    with pytest.raises(connectr.InvalidInputError):
        client.create_connect_session({"id": "u"}, tags={"__proto__": "x"})
    with pytest.raises(connectr.InvalidInputError) as bad_origin:
        client.put_connect_settings([APP, "http://evil.example.com"])
    assert "body.allowed_origins.1" in fields(bad_origin.value)
    with pytest.raises(TypeError):
        client.put_connect_settings(APP)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_async_client(harness: Harness) -> None:
    async with connectr.AsyncClient(harness.url, harness.api_key, timeout=60.0) as client:
        await client.put_connect_settings([])
        with pytest.raises(connectr.InvalidInputError):
            await client.create_connect_session({"id": "py-async"}, return_url=f"{APP}/done")
        assert await client.put_connect_settings([APP]) == {"allowed_origins": [APP]}
        assert await client.get_connect_settings() == {"allowed_origins": [APP]}
        session = await client.create_connect_session(
            {"id": "py-async"}, allowed_connectors=["gmail"], return_url=f"{APP}/done", tags={"from": "async"}
        )
        check_session(session, harness)
        with pytest.raises(connectr.NotFoundError):
            await client.create_connect_session({"id": "py-async"}, connection_id="conn_doesnotexist")


def test_the_docs_snippet_makes_a_session(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/connect.md's Python block, run as it is."""
    text = (REPO / "docs" / "connect.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "create_connect_session" in b]
    assert len(blocks) == 1
    monkeypatch.setenv("CONNECTR_URL", harness.url)
    monkeypatch.setenv("CONNECTR_API_KEY", harness.api_key)
    namespace: Dict[str, Any] = {}
    exec(compile(blocks[0], "docs/connect.md", "exec"), namespace)
    with namespace["client"]:
        namespace["client"].put_connect_settings(["https://app.example.com"])
        connect_url_for: Callable[[str], str] = namespace["connect_url_for"]
        url = urlsplit(connect_url_for("docs-user"))
        assert url.path == "/connect" and url.fragment.startswith("cnct_")
