"""A scripted HTTP server on 127.0.0.1 for retry, time-out and stream tests: each request takes
the next scripted answer and is recorded."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Tuple


@dataclasses.dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    headers: Dict[str, str] = dataclasses.field(default_factory=lambda: {"content-type": "application/json"})
    #: "drop": close the connection without answering; "stall": wait before answering; "hang":
    #: answer nothing until the client goes away (at most 60 s), then set FakeServer.hung_up.
    action: Optional[str] = None
    stall: float = 0.0
    #: Send the body without Content-Length and cut the connection after it (a broken stream).
    cut: bool = False


@dataclasses.dataclass
class Seen:
    method: str
    path: str
    headers: Dict[str, str]
    body: bytes


class FakeServer:
    def __init__(self) -> None:
        self.script: List[Answer] = []
        self.requests: List[Seen] = []
        self._lock = threading.Lock()
        #: Set when a client left a request that was told to "hang": it gave up on it.
        self.hung_up = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = self.headers.get("content-length")
                if length is not None:
                    body = self.rfile.read(int(length))
                elif self.headers.get("transfer-encoding", "").lower() == "chunked":
                    body = self._chunked()
                else:
                    body = b""
                with owner._lock:
                    owner.requests.append(
                        Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    answer = owner.script.pop(0) if owner.script else Answer(500, b'{"no": "script"}')
                if answer.action == "drop":
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if answer.action == "hang":
                    self.close_connection = True
                    self.connection.settimeout(60)
                    try:
                        # The client sends nothing more on this connection: b"" is it closing.
                        gone = self.connection.recv(1) == b""
                    except socket.timeout:
                        gone = False
                    except OSError:
                        gone = True
                    if gone:
                        owner.hung_up.set()
                    return
                if answer.stall:
                    time.sleep(answer.stall)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.cut:
                    self.send_header("connection", "close")
                    self.end_headers()
                    self.wfile.write(answer.body)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.send_header("content-length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def _chunked(self) -> bytes:
                data = bytearray()
                while True:
                    size = int(self.rfile.readline().strip().split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        return bytes(data)
                    data += self.rfile.read(size)
                    self.rfile.readline()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that gave up (time-out tests) breaks the pipe: expected

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def add(self, *answers: Answer) -> None:
        with self._lock:
            self.script.extend(answers)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def envelope(code: str, message: str = "x") -> bytes:
    import json

    return json.dumps({"error": {"code": code, "message": message, "details": []}}).encode()


def unused_port() -> Tuple[str, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return "127.0.0.1", s.getsockname()[1]
