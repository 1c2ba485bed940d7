"""Runs examples/python/* as programs against the harness and checks what they print."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

from .conftest import REPO, Harness

EXAMPLES = REPO / "examples" / "python"


def run(harness: Harness, args: List[str], connection: str, cwd: Path) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    env: Dict[str, str] = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTR_")}
    env.update(CONNECTR_URL=harness.url, CONNECTR_API_KEY=harness.api_key, CONNECTR_CONNECTION_ID=connection)
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_list_unread(harness: Harness, tmp_path: Path) -> None:
    done = run(harness, [str(EXAMPLES / "list_unread.py"), harness.connections["gmail"]], "", tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == "4 unread messages"
    assert len(lines) == 5 and all(line.count("\t") == 2 for line in lines[:-1])
    assert all("@" in line.split("\t")[1] for line in lines[:-1])


def test_upload_dropbox(harness: Harness, tmp_path: Path) -> None:
    local = tmp_path / "report.bin"
    local.write_bytes(os.urandom(5000))
    done = run(harness, [str(EXAMPLES / "upload_dropbox.py"), str(local), "/docs/example-report.bin"], harness.connections["dropbox"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "uploaded /docs/example-report.bin (5000 bytes)"


def test_download_onedrive(harness: Harness, tmp_path: Path) -> None:
    done = run(harness, [str(EXAMPLES / "download_onedrive.py"), "hello.txt", "out.txt"], harness.connections["onedrive"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "downloaded hello.txt (20 bytes) to out.txt"
    assert (tmp_path / "out.txt").read_bytes() == b"hello from onedrive\n"


def test_examples_fail_cleanly_without_a_connection(harness: Harness, tmp_path: Path) -> None:
    done = run(harness, [str(EXAMPLES / "list_unread.py"), "conn_nope"], "", tmp_path)
    assert done.returncode == 1 and "no connection" in done.stderr and harness.api_key not in done.stderr
