"""The sandbox on a real loopback socket (uvicorn in a thread), shared by a test session."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from app.sandbox.app import create_sandbox_app
from app.sandbox.state import SandboxState


class SocketSandbox:
    def __init__(self) -> None:
        self.app, self.state = create_sandbox_app(SandboxState())
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="error", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> SocketSandbox:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("sandbox server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
