"""The old platform's README flow, as its users wrote it: plain httpx, no SDK, no ``state``
anywhere. Against the harness's ``connectr serve``, whose Gmail signs in at a real authorization
server that requires PKCE (oidc-provider); the browser is played by following its redirects and
submitting its sign-in and consent forms, until it is sent to the app's redirect_uri."""

from __future__ import annotations

import html
import re
from typing import Any, Dict, List
from urllib.parse import parse_qs, urljoin, urlsplit

import anyio
import httpx
import pytest

import connectr

from .conftest import Harness

FORM = re.compile(r'<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>', re.S)
INPUT = re.compile(r"<input[^>]*>")


def follow_as_browser(url: str, redirect_uri: str, login: str) -> str:
    """What a person's browser does at the provider: follows redirects, signs in as ``login``,
    consents. Returns the address the provider sends it to, which starts with ``redirect_uri``
    (not requested: the app's page is not running here)."""
    with httpx.Client(follow_redirects=False, timeout=30.0, trust_env=False) as browser:
        response = browser.get(url)
        for _ in range(16):
            if response.is_redirect:
                url = urljoin(url, response.headers["location"])
                if url.startswith(redirect_uri):
                    return url
                response = browser.get(url)
                continue
            form = FORM.search(response.text)
            assert form, f"the provider showed a page with no form: {response.status_code} {response.text[:500]}"
            fields: Dict[str, str] = {}
            for tag in INPUT.findall(form.group(2)):
                name = re.search(r'name="([^"]*)"', tag)
                value = re.search(r'value="([^"]*)"', tag)
                if name:
                    fields[name.group(1)] = html.unescape(value.group(1)) if value else ""
            if "login" in fields:
                fields.update(login=login, password="any")
            url = urljoin(url, html.unescape(form.group(1)))
            response = browser.post(url, data=fields)
    raise AssertionError(f"the browser never reached {redirect_uri}")


def connection_ids(api: httpx.Client) -> List[str]:
    listed = api.get("/api/v1/connections", params={"limit": 200})
    assert listed.status_code == 200, listed.text
    return [c["id"] for c in listed.json()["connections"]]


def test_the_old_readme_flow_signs_the_apps_connection_in(harness: Harness) -> None:
    redirect_uri = harness.oauth_redirect_uri
    headers = {"Authorization": f"Bearer {harness.api_key}"}
    with httpx.Client(base_url=harness.url, headers=headers, timeout=30.0, trust_env=False) as api:
        before = connection_ids(api)

        # connection = client.create_connection(connector_type="gmail", name="My Gmail", user_id="user123")
        created = api.post(
            "/api/v1/connections", json={"connector_type": "gmail", "name": "My Gmail", "user_id": "user123"}
        )
        assert created.status_code == 201, created.text
        connection: Dict[str, Any] = created.json()
        assert connection["status"] == "pending"

        # oauth = client.initiate_oauth("gmail", redirect_uri)
        started = api.post("/api/v1/oauth/authorize", json={"connector_type": "gmail", "redirect_uri": redirect_uri})
        assert started.status_code == 200, started.text
        authorization_url = started.json()["authorization_url"]
        query = parse_qs(urlsplit(authorization_url).query)
        assert query["code_challenge_method"] == ["S256"] and query["redirect_uri"] == [redirect_uri]
        # No second connection: the sign-in belongs to none until it is completed.
        assert sorted(connection_ids(api)) == sorted(before + [connection["id"]])

        # ... the user's browser goes to the URL; the app's redirect_uri receives ?code ...
        landed = follow_as_browser(authorization_url, redirect_uri, "old-readme@example.com")
        code = parse_qs(urlsplit(landed).query)["code"][0]

        # client.complete_oauth(connection["id"], code, redirect_uri): no state
        completed = api.post(
            "/api/v1/oauth/callback",
            json={"connection_id": connection["id"], "code": code, "redirect_uri": redirect_uri},
        )
        assert completed.status_code == 200, completed.text
        assert completed.json()["connection_id"] == connection["id"]
        assert completed.json()["status"] == "active"

        # The code is good once: a second completion is refused.
        again = api.post(
            "/api/v1/oauth/callback",
            json={"connection_id": connection["id"], "code": code, "redirect_uri": redirect_uri},
        )
        assert again.status_code == 400, again.text

        # client.execute(...) on that connection, with the token the provider issued.
        executed = api.post(
            "/api/v1/proxy/execute", json={"connection_id": connection["id"], "endpoint": "get_profile"}
        )
        assert executed.status_code == 200, executed.text
        assert executed.json()["status"] == 200 and "emailAddress" in executed.json()["body"]

        # The app's connection is the one signed in, and no orphan was left behind.
        assert sorted(connection_ids(api)) == sorted(before + [connection["id"]])
        signed_in = api.get(f"/api/v1/connections/{connection['id']}").json()
        assert signed_in["status"] == "active" and signed_in["name"] == "My Gmail"
        assert signed_in["user_id"] == "user123"
        assert api.delete(f"/api/v1/connections/{connection['id']}").status_code == 200


def test_the_old_sdk_names_make_it_a_change_of_import(harness: Harness) -> None:
    # The old README, with `from connectr import Client` in place of the old platform's import.
    client = connectr.Client(harness.url, harness.api_key, timeout=60.0)
    with client:
        redirect_uri = harness.oauth_redirect_uri
        connection = client.create_connection(connector_type="gmail", name="My Gmail", user_id="user123")
        oauth = client.initiate_oauth("gmail", redirect_uri)
        assert isinstance(oauth, str) and oauth.startswith("http://127.0.0.1:")
        code = parse_qs(urlsplit(follow_as_browser(oauth, redirect_uri, "sync@example.com")).query)["code"][0]
        done = client.complete_oauth(connection["id"], code, redirect_uri)
        assert done["connection_id"] == connection["id"] and done["status"] == "active"
        result = client.execute(connection["id"], "get_profile")
        assert result.status == 200 and result.body["emailAddress"]
        assert [c["id"] for c in client.iter_connections(user_id="user123")] == [connection["id"]]
        client.delete_connection(connection["id"])


@pytest.mark.anyio
async def test_the_old_sdk_names_on_the_async_client(harness: Harness) -> None:
    async with connectr.AsyncClient(harness.url, harness.api_key, timeout=60.0) as client:
        redirect_uri = harness.oauth_redirect_uri
        connection = await client.create_connection(connector_type="gmail", name="My Gmail", user_id="user456")
        oauth = await client.initiate_oauth("gmail", redirect_uri)
        assert isinstance(oauth, str)
        landed = await anyio.to_thread.run_sync(follow_as_browser, oauth, redirect_uri, "async@example.com")
        code = parse_qs(urlsplit(landed).query)["code"][0]
        done = await client.complete_oauth(connection["id"], code, redirect_uri)
        assert done["connection_id"] == connection["id"] and done["status"] == "active"
        result = await client.execute(connection["id"], "get_profile")
        assert result.status == 200 and result.body["emailAddress"]
        # Used once.
        with pytest.raises(connectr.InvalidInputError):
            await client.complete_oauth(connection["id"], code, redirect_uri)
        await client.delete_connection(connection["id"])
