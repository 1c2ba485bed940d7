"""The Python receiver of docs/webhooks.md (examples/webhooks/verify.py), run as a user runs it,
receiving deliveries signed by the official Standard Webhooks library; and the docs show that
file as it is."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List

import httpx
from standardwebhooks.webhooks import Webhook

from .conftest import REPO
from .test_verify import BODY

EXAMPLE = REPO / "examples" / "webhooks" / "verify.py"


def doc_snippet(lang: str) -> str:
    """The fenced block of ``lang`` in docs/webhooks.md that calls the verify helper."""
    text = (REPO / "docs" / "webhooks.md").read_text()
    for block in re.findall(rf"```{lang}\n(.*?)```", text, re.S):
        if "verify_webhook" in block or "VerifyWebhook" in block:
            return str(block)
    raise AssertionError(f"no {lang} block calling the verify helper in the docs")


def secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode("ascii")


def test_the_docs_show_the_example() -> None:
    assert doc_snippet("python") == EXAMPLE.read_text()


def test_the_receiver_accepts_signed_deliveries_and_refuses_the_rest() -> None:
    new, old = secret(), secret()
    env = {**os.environ, "WEBHOOK_SECRET": f"{old} {new}"}
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "127.0.0.1:0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        lines: List[str] = []
        reader = threading.Thread(target=lambda: lines.append(process.stderr.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(20)
        match = re.match(r"listening on (\S+)", lines[0] if lines else "")
        assert match, lines
        url = match.group(1)

        def post(body: str, signer: str, msg_id: str, at: datetime) -> int:
            headers = {
                "content-type": "application/json",
                "webhook-id": msg_id,
                "webhook-timestamp": str(int(at.timestamp())),
                "webhook-signature": Webhook(signer).sign(msg_id=msg_id, timestamp=at, data=body),
            }
            return httpx.post(url, content=body.encode(), headers=headers, timeout=10).status_code

        now = datetime.now(tz=timezone.utc)
        assert post(BODY, new, "evt_1", now) == 204
        assert post(BODY, old, "evt_2", now) == 204  # the old secret, during a rotation
        assert post(BODY, secret(), "evt_3", now) == 400
        assert post(BODY, new, "evt_4", now - timedelta(minutes=10)) == 400
        signed = Webhook(new).sign(msg_id="evt_5", timestamp=now, data=BODY)
        tampered = httpx.post(
            url,
            content=BODY.replace("conn_1", "conn_2").encode(),
            headers={"webhook-id": "evt_5", "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signed},
            timeout=10,
        )
        assert tampered.status_code == 400
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    assert out.splitlines() == [
        "evt_1 connection.needs_reauth conn_1 refresh_rejected",
        "evt_2 connection.needs_reauth conn_1 refresh_rejected",
    ]
