"""A receiver of connectr's webhooks: verifies each delivery with the Python SDK and acts on it.

    WEBHOOK_SECRET=whsec_... python verify.py 127.0.0.1:8000

During a secret rotation, give both secrets, space-separated.
"""

import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import connectr

SECRETS = os.environ["WEBHOOK_SECRET"].split()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if self.path != "/webhooks" or length > 1 << 20:
            self.send_error(404 if self.path != "/webhooks" else 413)
            return
        # The body exactly as it came: a signature covers these bytes, not a re-encoding of them.
        body = self.rfile.read(length)
        try:
            event = connectr.verify_webhook(body, self.headers, SECRETS)
        except connectr.WebhookVerificationError:
            self.send_error(400, "invalid webhook")
            return
        # webhook-id is the same on every retry of an event: skip the ones already handled.
        event_id = self.headers["webhook-id"]
        if event["type"] == "connection.needs_reauth":
            reason = event["data"].get("reason", {}).get("code", "")
            print(event_id, event["type"], event["data"]["id"], reason, flush=True)  # ask the user to sign in again
        else:
            print(event_id, event["type"], flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    host, _, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8000").rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), Receiver)
    print(f"listening on http://{host}:{server.server_port}/webhooks", file=sys.stderr, flush=True)
    server.serve_forever()
