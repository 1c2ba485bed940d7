"""Fixtures: one real `connectr serve` (test/sdk/harness.ts) for the whole session, and a small
fake HTTP server of our own for what the real one will not do on demand (429, stalls, resets)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from .fakeserver import FakeServer

REPO = Path(__file__).resolve().parents[3]
# The official MCP SDK (test_mcp.py's client) needs Python 3.10 or later.
collect_ignore = ["test_mcp.py"] if sys.version_info < (3, 10) else []
HARNESS_START_TIMEOUT = 180.0


@dataclasses.dataclass(frozen=True)
class Harness:
    url: str
    api_key: str
    token_key: str
    other_key: str
    connections: Dict[str, str]
    tokens: Dict[str, str]
    #: The environment of a local CLI whose default account of each connector is signed in.
    local_env: Dict[str, str] = dataclasses.field(default_factory=dict)
    #: GET: how many requests each emulator has received so far ({"gmail": n, ...}).
    requests_url: str = ""
    #: An app's redirect URI that Gmail's authorization server (oidc-provider, PKCE required) accepts.
    oauth_redirect_uri: str = ""
    #: A key created with --scope metrics: GET /metrics alone.
    metrics_key: str = ""


@pytest.fixture(scope="session")
def harness() -> Iterator[Harness]:
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        ["node", "--import", "tsx", "test/sdk/harness.ts"],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
    )
    assert process.stdout is not None and process.stdin is not None
    lines: List[bytes] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(HARNESS_START_TIMEOUT)
    try:
        if not lines or not lines[0]:
            log.seek(0)
            raise RuntimeError(f"the harness did not start: {log.read()[-4000:].decode('utf-8', 'replace')}")
        data = json.loads(lines[0])
        # The harness also serves the other SDKs' suites: fields this one does not use are left out.
        known = {field.name for field in dataclasses.fields(Harness)}
        yield Harness(**{name: value for name, value in data.items() if name in known})
    finally:
        try:
            process.stdin.close()
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.stdout.close()
        log.close()


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_connectr_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests say what they use: no CONNECTR_URL / CONNECTR_API_KEY leaks in from the shell."""
    monkeypatch.delenv("CONNECTR_URL", raising=False)
    monkeypatch.delenv("CONNECTR_API_KEY", raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)

