"""The MCP server through a client no one here wrote: the official Python MCP SDK (`mcp` from
PyPI). Both transports: stdio (the SDK spawns `node bin/connectr.cjs mcp ...` with the
harness's local CLI home, whose accounts are signed in) and Streamable HTTP (`POST /mcp` on
the harness's `connectr serve`), against the Gmail, Dropbox and OneDrive emulators. Refused
input is checked to send nothing upstream (the harness counts the emulators' requests)."""

from __future__ import annotations

import base64
import json
import tempfile
import urllib.request
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Dict, List, Optional, Sequence, Tuple

import anyio
import httpx2
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import BlobResourceContents, CallToolResult, EmbeddedResource, TextContent, Tool

from .conftest import REPO, Harness
from .fakeserver import Answer, FakeServer

pytestmark = pytest.mark.anyio

TRANSPORTS = ["stdio", "http"]
#: Bounds every request; a test as a whole is bounded by TEST_TIMEOUT.
CALL_TIMEOUT = 60.0
TEST_TIMEOUT = 180.0
INVALID_PARAMS = -32602
PROFILE = {"emailAddress": "ann@example.com", "messagesTotal": 7, "threadsTotal": 5, "historyId": "4321"}


# --- connecting --------------------------------------------------------------------------------------


@asynccontextmanager
async def stdio(env: Dict[str, str], *flags: str) -> AsyncIterator[Client]:
    """`connectr mcp FLAGS` on stdio, run by the SDK; its stderr is printed when the test fails."""
    params = StdioServerParameters(
        command="node", args=[str(REPO / "bin" / "connectr.cjs"), "mcp", *flags], env=env, cwd=str(REPO)
    )
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        try:
            with anyio.fail_after(TEST_TIMEOUT):
                async with Client(stdio_client(params, errlog=log), read_timeout_seconds=CALL_TIMEOUT) as client:
                    yield client
        finally:
            log.seek(0)
            print(f"connectr mcp {' '.join(flags)}: stderr:\n{log.read()[-4000:]}")


@asynccontextmanager
async def http(harness: Harness, key: Optional[str] = None, connection: Optional[str] = None, query: str = "") -> AsyncIterator[Client]:
    """`POST /mcp` of the harness's server, with `key` (default its api_key) and `connection` as Connection-Id."""
    headers = {"Authorization": f"Bearer {key or harness.api_key}"}
    if connection is not None:
        headers["Connection-Id"] = connection
    with anyio.fail_after(TEST_TIMEOUT):
        async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(CALL_TIMEOUT)) as http_client:
            transport = streamable_http_client(f"{harness.url}/mcp{query}", http_client=http_client)
            async with Client(transport, read_timeout_seconds=CALL_TIMEOUT) as client:
                yield client


@asynccontextmanager
async def connect(
    harness: Harness, transport: str, connector: str, *, read_only: bool = False, deny: Sequence[str] = ()
) -> AsyncIterator[Client]:
    """The tools of one connector: `--connector` on stdio, its connection as Connection-Id over HTTP."""
    if transport == "stdio":
        flags = ["--connector", connector] + (["--read-only"] if read_only else [])
        for glob in deny:
            flags += ["--deny", glob]
        async with stdio(harness.local_env, *flags) as client:
            yield client
    else:
        query = "&".join((["read_only=true"] if read_only else []) + [f"deny={glob}" for glob in deny])
        async with http(harness, connection=harness.connections[connector], query=f"?{query}" if query else "") as client:
            yield client


def upstream(harness: Harness) -> Dict[str, int]:
    """How many requests each emulator has received so far."""
    with urllib.request.urlopen(harness.requests_url, timeout=10) as answer:
        counts: Dict[str, int] = json.load(answer)
    return counts


async def all_tools(client: Client) -> List[Tool]:
    tools: List[Tool] = []
    cursor: Optional[str] = None
    while True:
        page = await client.list_tools(cursor=cursor)
        tools += page.tools
        cursor = page.next_cursor
        if cursor is None:
            return tools


async def tools_by_name(client: Client) -> Dict[str, Tool]:
    return {tool.name: tool for tool in await all_tools(client)}


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def structured(result: CallToolResult) -> Dict[str, Any]:
    assert not result.is_error, text_of(result)
    assert isinstance(result.structured_content, dict), result
    content: Dict[str, Any] = result.structured_content
    # The text is the same JSON, for clients that do not read structuredContent.
    assert json.loads(text_of(result)) == content
    return content


def refused(result: CallToolResult, *words: str) -> str:
    """A tool error (not a protocol error) whose message says what was wrong."""
    assert result.is_error, result
    message = text_of(result)
    for word in words:
        assert word in message, message
    return message


def leaf_error(error: BaseException) -> BaseException:
    """The one error inside the task groups of the SDK's transports."""
    while True:
        inner: Optional[Sequence[BaseException]] = getattr(error, "exceptions", None)
        if not inner or len(inner) != 1:
            return error
        error = inner[0]


# --- the catalogue -----------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_tool_names_annotations_and_descriptions(harness: Harness, transport: str) -> None:
    async with connect(harness, transport, "gmail") as client:
        assert client.server_info is not None and client.server_info.name == "connectr"
        assert client.instructions and "next_cursor" in client.instructions
        tools = await tools_by_name(client)
    names = set(tools)
    assert {
        "gmail_get_profile",
        "gmail_list_messages",
        "gmail_get_message",
        "gmail_send_message",
        "gmail_send_message_mime",
        "gmail_trash_message",
        "gmail_delete_message",
        "gmail_modify_message",
        "gmail_list_threads",
    } <= names
    assert all(name.startswith("gmail_") for name in names), names

    def hints(name: str) -> Dict[str, Any]:
        annotations = tools[name].annotations
        assert annotations is not None
        return {
            "read_only": annotations.read_only_hint,
            "destructive": annotations.destructive_hint,
            "idempotent": annotations.idempotent_hint,
            "open_world": annotations.open_world_hint,
        }

    assert hints("gmail_get_profile") == {"read_only": True, "destructive": False, "idempotent": True, "open_world": True}
    # A POST that adds: neither destructive nor safe to repeat.
    assert hints("gmail_send_message") == {"read_only": False, "destructive": False, "idempotent": False, "open_world": True}
    # DELETE: destructive, and idempotent as HTTP says.
    assert hints("gmail_delete_message") == {"read_only": False, "destructive": True, "idempotent": True, "open_world": True}
    # A POST the definition marks idempotent.
    assert hints("gmail_modify_message")["idempotent"] is True

    profile = tools["gmail_get_profile"]
    assert profile.title == "Gmail: Get the address, message and thread counts of the mailbox"
    assert profile.annotations is not None and profile.annotations.title == profile.title
    assert profile.description is not None
    assert "Get the address, message and thread counts of the mailbox." in profile.description
    assert "https://developers.google.com/workspace/gmail/api/reference/rest/v1/users/getProfile" in profile.description
    listing = tools["gmail_list_messages"].description
    assert listing is not None and "next_cursor" in listing


async def test_stdio_serves_every_signed_in_connector(harness: Harness) -> None:
    async with stdio(harness.local_env) as client:
        tools = await tools_by_name(client)
    assert {name.split("_")[0] for name in tools} == {"gmail", "dropbox", "onedrive"}
    # A POST that deletes is destructive, as a DELETE is.
    delete = tools["dropbox_delete"].annotations
    assert delete is not None and delete.read_only_hint is False and delete.destructive_hint is True
    download = tools["dropbox_download"].annotations
    assert download is not None and download.destructive_hint is False and download.idempotent_hint is True


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_input_schemas(harness: Harness, transport: str) -> None:
    async with connect(harness, transport, "gmail") as client:
        tools = await tools_by_name(client)
    listing = tools["gmail_list_messages"].input_schema
    assert listing["type"] == "object" and listing["additionalProperties"] is False
    assert "required" not in listing  # userId has a default, the rest are optional
    props = listing["properties"]
    assert set(props) == {"userId", "q", "maxResults", "pageToken", "labelIds", "includeSpamTrash", "cursor"}
    assert props["userId"]["type"] == "string" and props["userId"]["default"] == "me"
    assert {k: props["maxResults"][k] for k in ("type", "minimum", "maximum")} == {"type": "integer", "minimum": 1, "maximum": 500}
    assert props["labelIds"]["type"] == "array" and props["labelIds"]["items"] == {"type": "string"}
    assert props["includeSpamTrash"]["type"] == "boolean"
    assert props["q"]["type"] == "string" and "search" in props["q"]["description"]
    assert props["cursor"]["type"] == "string" and "next_cursor" in props["cursor"]["description"]

    message = tools["gmail_get_message"].input_schema
    assert message["required"] == ["id"]
    assert message["properties"]["format"] == {
        "type": "string",
        "enum": ["minimal", "full", "raw", "metadata"],
        "description": "How much of the message to return (Gmail's default full).",
    }
    assert "cursor" not in message["properties"]  # one page only

    # A file: the content as text, or as base64 bytes; never a path on the server's machine.
    mime = tools["gmail_send_message_mime"].input_schema
    assert mime["properties"]["uploadType"] == {
        "type": "string",
        "enum": ["media"],
        "default": "media",
        "description": "Upload protocol; media sends the file as the body.",
    }
    assert mime["properties"]["file"]["type"] == "string"
    assert mime["properties"]["file_base64"] == {
        "type": "string",
        "contentEncoding": "base64",
        "description": "The file as base64-encoded bytes (instead of file as text).",
    }
    assert "file" not in mime.get("required", []) and "file_base64" not in mime.get("required", [])
    # The session's connection is chosen: no tool asks for one.
    assert all("connection_id" not in tool.input_schema["properties"] for tool in tools.values())


async def test_http_without_a_connection_every_tool_takes_one(harness: Harness) -> None:
    async with http(harness) as client:
        tools = await tools_by_name(client)
    assert {name.split("_")[0] for name in tools} >= {"gmail", "dropbox", "onedrive", "slack", "github"}
    for tool in tools.values():
        assert "connection_id" in tool.input_schema["required"], tool.name
        assert tool.input_schema["properties"]["connection_id"]["type"] == "string"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_read_only_and_deny(harness: Harness, transport: str) -> None:
    async with connect(harness, transport, "gmail") as client:
        every = await tools_by_name(client)
    async with connect(harness, transport, "gmail", read_only=True) as client:
        reading = await tools_by_name(client)
    safe = {name for name, tool in every.items() if tool.annotations and tool.annotations.read_only_hint}
    assert set(reading) == safe and "gmail_get_profile" in safe
    assert not {"gmail_send_message", "gmail_trash_message", "gmail_delete_message", "gmail_modify_message"} & set(reading)
    async with connect(harness, transport, "gmail", deny=["*_delete_*", "gmail_send_*"]) as client:
        left = set(await tools_by_name(client))
    assert left == {n for n in every if "_delete_" not in n and not n.startswith("gmail_send_")}
    assert "gmail_trash_message" in left
    # Over stdio, read-only leaves no Dropbox tool at all: its API is POST only.
    if transport == "stdio":
        async with stdio(harness.local_env, "--read-only") as client:
            names = set(await tools_by_name(client))
        assert names and not any(name.startswith("dropbox_") for name in names)
        async with http(harness, query="?read_only=true") as client:
            assert set(await tools_by_name(client)) >= names


# --- calls -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_get_profile(harness: Harness, transport: str) -> None:
    async with connect(harness, transport, "gmail") as client:
        before = upstream(harness)["gmail"]
        result = await client.call_tool("gmail_get_profile", {})
        assert structured(result) == PROFILE
        assert upstream(harness)["gmail"] == before + 1


async def test_http_connection_as_an_argument(harness: Harness) -> None:
    async with http(harness) as client:
        result = await client.call_tool("gmail_get_profile", {"connection_id": harness.connections["gmail"]})
        assert structured(result) == PROFILE
        before = upstream(harness)
        wrong = await client.call_tool("gmail_get_profile", {"connection_id": harness.connections["dropbox"]})
        refused(wrong, harness.connections["dropbox"], "dropbox connection, not gmail")
        missing = await client.call_tool("gmail_get_profile", {})
        refused(missing, "connection_id is required")
        assert upstream(harness) == before


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_cursor_pages(harness: Harness, transport: str) -> None:
    async with connect(harness, transport, "gmail") as client:
        everything = structured(await client.call_tool("gmail_list_messages", {"maxResults": 500}))
        assert "next_cursor" not in everything
        all_ids = [m["id"] for m in everything["messages"]]
        assert len(all_ids) == 7

        before = upstream(harness)["gmail"]
        pages: List[List[str]] = []
        arguments: Dict[str, Any] = {"maxResults": 2}
        while True:
            page = structured(await client.call_tool("gmail_list_messages", arguments))
            pages.append([m["id"] for m in page["messages"]])
            if "next_cursor" not in page:
                break
            assert len(pages) < 10, "the cursor never ends"
            arguments = {"maxResults": 2, "cursor": page["next_cursor"]}
        assert [len(p) for p in pages] == [2, 2, 2, 1]
        assert [i for p in pages for i in p] == all_ids  # every message once, in order
        assert upstream(harness)["gmail"] == before + 4  # one request per page


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_continue_cursor_pages(harness: Harness, transport: str) -> None:
    """Dropbox pages through another endpoint (list_folder/continue): the cursor carries that."""
    folder = f"/mcp-{transport}-{uuid.uuid4().hex[:8]}"
    async with connect(harness, transport, "dropbox") as client:
        assert structured(await client.call_tool("dropbox_create_folder", {"path": folder}))["metadata"]["path_display"] == folder
        for name in ("a.txt", "b.txt", "c.txt"):
            up = await client.call_tool("dropbox_upload", {"path": f"{folder}/{name}", "file": name})
            assert structured(up)["size"] == len(name)
        names: List[str] = []
        arguments: Dict[str, Any] = {"path": folder, "limit": 1}
        for _ in range(10):
            page = structured(await client.call_tool("dropbox_list_folder", arguments))
            names += [entry["name"] for entry in page["entries"]]
            if "next_cursor" not in page:
                break
            arguments = {"path": folder, "cursor": page["next_cursor"]}
        assert sorted(names) == ["a.txt", "b.txt", "c.txt"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_binary_download_is_an_embedded_resource(harness: Harness, transport: str) -> None:
    data = bytes(range(256)) * 3 + b"\x00\xff\xfe end"
    path = f"/docs/mcp-{transport}-{uuid.uuid4().hex[:8]}.bin"
    async with connect(harness, transport, "dropbox") as client:
        up = await client.call_tool(
            "dropbox_upload", {"path": path, "file_base64": base64.b64encode(data).decode("ascii")}
        )
        assert structured(up)["size"] == len(data)
        result = await client.call_tool("dropbox_download", {"path": path})
        assert not result.is_error, text_of(result)
        blobs = [b for b in result.content if isinstance(b, EmbeddedResource)]
        assert len(blobs) == 1
        resource = blobs[0].resource
        assert isinstance(resource, BlobResourceContents)
        assert str(resource.uri) == "connectr://dropbox/download"
        assert base64.b64decode(resource.blob) == data
        # Dropbox's metadata (the Dropbox-API-Result header) comes as structured content.
        meta = result.structured_content
        assert isinstance(meta, dict) and meta["result"]["size"] == len(data)
        assert meta["result"]["path_display"] == path

        hello = await client.call_tool("dropbox_download", {"path": "/docs/hello.txt"})
        blob = next(b.resource for b in hello.content if isinstance(b, EmbeddedResource))
        assert isinstance(blob, BlobResourceContents)
        assert base64.b64decode(blob.blob) == b"hello from dropbox\n"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_upstream_error_is_a_tool_error_with_the_providers_message(harness: Harness, transport: str) -> None:
    async with connect(harness, transport, "gmail") as client:
        result = await client.call_tool("gmail_get_message", {"id": "00000000deadbeef"})
    message = refused(result, "404", "Requested entity was not found.")
    assert harness.tokens["gmail"] not in message
    error = result.structured_content
    assert isinstance(error, dict)
    assert error["error"]["status"] == 404
    assert error["error"]["body"]["error"]["status"] == "NOT_FOUND"


# --- hostile input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_arguments_that_fail_the_schema_send_nothing(harness: Harness, transport: str) -> None:
    cases: List[Tuple[str, Dict[str, Any], List[str]]] = [
        ("gmail_list_messages", {"maxResults": "ten"}, ["maxResults", "integer"]),
        ("gmail_list_messages", {"maxResults": 0}, ["maxResults", "at least 1"]),
        ("gmail_list_messages", {"maxResults": 2.5}, ["maxResults", "integer"]),
        ("gmail_list_messages", {"q": {"from": "ann"}}, ["q", "text"]),
        ("gmail_list_messages", {"bogus": 1}, ["bogus", "maxResults"]),
        ("gmail_get_message", {}, ["missing", "id"]),
        ("gmail_get_message", {"id": "x", "format": "everything"}, ["format", "minimal, full, raw, metadata"]),
        ("gmail_send_message_mime", {"file": "x", "file_base64": "eA=="}, ["file", "file_base64"]),
        ("gmail_send_message_mime", {"file_base64": "not base64!"}, ["file_base64", "base64"]),
    ]
    async with connect(harness, transport, "gmail") as client:
        before = upstream(harness)
        for name, arguments, words in cases:
            refused(await client.call_tool(name, arguments), *words)
        assert upstream(harness) == before


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_altered_cursor_is_refused_before_anything_is_sent(harness: Harness, transport: str) -> None:
    def cursor(position: Dict[str, Any]) -> str:
        return "c1." + base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")

    async with connect(harness, transport, "gmail") as client:
        first = structured(await client.call_tool("gmail_list_messages", {"maxResults": 2}))
        assert first["next_cursor"].startswith("c1.")
        before = upstream(harness)
        for bad in [
            "not a cursor",
            "c1.!!!",
            cursor({"kind": "values", "values": {"q": "in:anywhere"}}),  # another param than the page token
            cursor({"kind": "link", "url": "http://127.0.0.1:9/steal"}),  # a link elsewhere
            cursor({"kind": "continue", "cursor": "abc"}),  # Gmail has no continue endpoint
        ]:
            refused(await client.call_tool("gmail_list_messages", {"maxResults": 2, "cursor": bad}), "cursor")
        assert upstream(harness) == before


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_unknown_tool_is_a_protocol_error_naming_the_nearest(harness: Harness, transport: str) -> None:
    async with connect(harness, transport, "gmail") as client:
        before = upstream(harness)
        with pytest.raises(MCPError) as caught:
            await client.call_tool("gmail_get_profil", {})
        assert caught.value.code == INVALID_PARAMS
        assert 'unknown tool "gmail_get_profil"' in caught.value.message
        assert '"gmail_get_profile"' in caught.value.message
        with pytest.raises(MCPError) as caught:
            await client.call_tool("dropbox_download", {"path": "/docs/hello.txt"})  # not this session's
        assert caught.value.code == INVALID_PARAMS
        assert upstream(harness) == before
        # The session goes on.
        assert structured(await client.call_tool("gmail_get_profile", {})) == PROFILE


async def test_huge_argument_over_stdio(harness: Harness) -> None:
    async with stdio(harness.local_env, "--connector", "gmail") as client:
        before = upstream(harness)
        with pytest.raises(MCPError) as caught:
            await client.call_tool("gmail_list_messages", {"q": "x" * (17 * 1024 * 1024)})
        assert caught.value.code == INVALID_PARAMS
        assert "larger than 16 MiB" in caught.value.message and "nothing was sent" in caught.value.message
        assert upstream(harness) == before
        assert structured(await client.call_tool("gmail_get_profile", {})) == PROFILE


async def test_huge_argument_over_http(harness: Harness) -> None:
    """Over the daemon's body limit (--body-limit, 1 MiB here): refused, nothing sent, the server fine."""
    before = upstream(harness)
    with pytest.raises(BaseException) as caught:
        async with http(harness, connection=harness.connections["gmail"]) as client:
            await client.call_tool("gmail_list_messages", {"q": "x" * (2 * 1024 * 1024)})
    error = leaf_error(caught.value)
    assert isinstance(error, (MCPError, httpx2.TransportError)), repr(error)
    if isinstance(error, MCPError):  # when the client reads the answer before the server closes
        assert "larger than the limit" in error.message
    assert upstream(harness) == before
    async with http(harness, connection=harness.connections["gmail"]) as client:
        assert structured(await client.call_tool("gmail_get_profile", {})) == PROFILE


async def test_another_projects_connection_as_an_argument(harness: Harness) -> None:
    gmail = harness.connections["gmail"]
    before = upstream(harness)
    async with http(harness, key=harness.other_key) as client:
        result = await client.call_tool("gmail_get_profile", {"connection_id": gmail})
        refused(result, f"no connection {gmail}")
        result = await client.call_tool("gmail_get_profile", {"connection_id": "conn_" + "x" * 26})
        refused(result, "no connection")
    assert upstream(harness) == before


async def test_another_projects_connection_for_the_session(harness: Harness) -> None:
    """Refused before any MCP (HTTP 404), with the reason as the error's message."""
    gmail = harness.connections["gmail"]
    before = upstream(harness)
    with pytest.raises(BaseException) as caught:
        async with http(harness, key=harness.other_key, connection=gmail) as client:
            await client.list_tools()
    error = leaf_error(caught.value)
    assert isinstance(error, MCPError), repr(error)
    assert f"no connection {gmail}" in error.message
    assert upstream(harness) == before


async def test_a_bad_api_key_is_an_error_with_the_reason(harness: Harness) -> None:
    with pytest.raises(BaseException) as caught:
        async with http(harness, key="cnr_nope_" + "x" * 30) as client:
            await client.list_tools()
    error = leaf_error(caught.value)
    assert isinstance(error, MCPError), repr(error)
    assert "API key is not valid" in error.message


def fake_gmail_env(harness: Harness, fake: FakeServer) -> Dict[str, str]:
    """Gmail at the fake server, with a token from the environment (the stored account is bound
    to the emulator's origin, and is refused elsewhere)."""
    return {**harness.local_env, "CONNECTR_GMAIL_API_BASE_URL": fake.url, "CONNECTR_GMAIL_TOKEN": "fake-gmail-token"}


async def test_cancelled_call_stops_the_upstream_request(harness: Harness, fake: FakeServer) -> None:
    """A call the client gives up on is cancelled (notifications/cancelled): connectr drops the
    upstream request at once, and the session answers the next call."""
    env = fake_gmail_env(harness, fake)
    fake.add(Answer(action="hang"), Answer(200, json.dumps(PROFILE).encode()))
    async with stdio(env, "--connector", "gmail") as client:
        async with anyio.create_task_group() as group:

            async def call() -> None:
                await client.call_tool("gmail_get_profile", {})
                raise AssertionError("the hanging call answered")

            group.start_soon(call)
            with anyio.fail_after(60):
                while not fake.requests:
                    await anyio.sleep(0.05)
            group.cancel_scope.cancel()
        assert await anyio.to_thread.run_sync(fake.hung_up.wait, 20.0), "the upstream request was not dropped"
        assert fake.requests[0].path == "/gmail/v1/users/me/profile"
        assert fake.requests[0].headers["authorization"] == "Bearer fake-gmail-token"
        # The session goes on.
        assert structured(await client.call_tool("gmail_get_profile", {})) == PROFILE
    assert len(fake.requests) == 2


async def test_a_call_that_times_out_is_an_error_with_a_message(harness: Harness, fake: FakeServer) -> None:
    env = fake_gmail_env(harness, fake)
    fake.add(Answer(200, json.dumps(PROFILE).encode()), Answer(action="hang"))
    async with stdio(env, "--connector", "gmail") as client:
        assert structured(await client.call_tool("gmail_get_profile", {})) == PROFILE
        with pytest.raises(MCPError) as caught:
            await client.call_tool("gmail_get_profile", {}, read_timeout_seconds=5.0)
        assert "timed out" in caught.value.message
        assert len(fake.requests) == 2, "the call did not reach the upstream API within 5 s"
        assert await anyio.to_thread.run_sync(fake.hung_up.wait, 20.0), "the upstream request was not dropped"
