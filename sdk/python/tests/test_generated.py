"""The generated connector clients (connectr.connectors, made by `npm run generate` from
connectors/*.yaml) against the harness: typed methods, pagination iterators, binary answers,
uploads, and the platform's errors coming through them."""

from __future__ import annotations

from typing import List

import pytest

import connectr
from connectr.connectors import (
    AsyncGmailConnector,
    DropboxConnector,
    GmailConnector,
    OnedriveConnector,
)

from .conftest import Harness


def test_gmail_methods_and_pages(harness: Harness) -> None:
    with connectr.Client(base_url=harness.url, api_key=harness.api_key) as client:
        gmail = GmailConnector(client, harness.connections["gmail"])
        profile = gmail.get_profile()
        assert profile.status == 200 and "@" in profile.body["emailAddress"]
        first = gmail.list_messages(max_results=2)
        assert len(first.body["messages"]) == 2 and "nextPageToken" in first.body
        # Every item of every page, the server following nextPageToken.
        unread = list(gmail.iter_list_messages(q="is:unread", max_results=2))
        assert len(unread) == 4 and all("id" in item for item in unread)
        message = gmail.get_message(unread[0]["id"], format="minimal")
        assert message.body["id"] == unread[0]["id"]


def test_bad_values_are_refused_naming_the_param(harness: Harness) -> None:
    with connectr.Client(base_url=harness.url, api_key=harness.api_key) as client:
        gmail = GmailConnector(client, harness.connections["gmail"])
        with pytest.raises(connectr.ConnectrError) as caught:
            gmail.get_message("x", format="everything")  # type: ignore[arg-type]
        assert caught.value.status == 400
        assert "format" in str(caught.value)


def test_another_projects_connection_is_not_found(harness: Harness) -> None:
    with connectr.Client(base_url=harness.url, api_key=harness.other_key) as client:
        with pytest.raises(connectr.ConnectrError) as caught:
            GmailConnector(client, harness.connections["gmail"]).get_profile()
        assert caught.value.status == 404


def test_dropbox_upload_then_download_bytes(harness: Harness) -> None:
    content = bytes(range(256)) * 40
    with connectr.Client(base_url=harness.url, api_key=harness.api_key) as client:
        dropbox = DropboxConnector(client, harness.connections["dropbox"])
        saved = dropbox.upload(content, "/docs/generated.bin", mode="overwrite")
        assert saved.status == 200 and saved.body["size"] == len(content)
        got = dropbox.download("/docs/generated.bin")
        assert got.content == content
        names: List[str] = [entry["name"] for entry in dropbox.iter_list_folder("/docs")]
        assert "generated.bin" in names and "hello.txt" in names


def test_onedrive_download(harness: Harness) -> None:
    with connectr.Client(base_url=harness.url, api_key=harness.api_key) as client:
        onedrive = OnedriveConnector(client, harness.connections["onedrive"])
        assert onedrive.download_by_path("hello.txt").content == b"hello from onedrive\n"


@pytest.mark.anyio
async def test_async_gmail(harness: Harness) -> None:
    async with connectr.AsyncClient(base_url=harness.url, api_key=harness.api_key) as client:
        gmail = AsyncGmailConnector(client, harness.connections["gmail"])
        assert (await gmail.get_profile()).status == 200
        items = [item async for item in gmail.iter_list_messages(max_results=3)]
        assert len(items) == 7
