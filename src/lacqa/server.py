"""The app's HTTP server: uvicorn serving one FastAPI app (the /v1 API with the Gradio UI mounted on it), in the
calling thread until Ctrl-C or in a background thread until ``close()``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from .errors import ConfigError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Server:
    """One running app. ``on_close`` callbacks run first (stop the Gradio queue and the API's workers), then the
    server itself stops."""

    def __init__(self, app: Any, host: str, port: int, demo: Any = None,
                 on_close: list[Callable[[], None]] | None = None) -> None:
        self.app, self.host, self.port, self.demo = app, host, port, demo
        self.on_close = on_close or []
        # a short graceful shutdown: the web chat's event streams stay open until they are cut
        self._uvicorn = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                      timeout_graceful_shutdown=2))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def run(self) -> None:
        """Serve in this thread until interrupted (uvicorn handles Ctrl-C)."""
        try:
            self._uvicorn.run()
        finally:
            self._cleanup()
        if not self._uvicorn.started:
            raise ConfigError(f"could not serve on {self.host}:{self.port}: is the port in use? (set LACQA_PORT)")

    def start(self, timeout: float = 20.0) -> Server:
        """Serve in a daemon thread; returns once the server accepts connections."""
        self._thread = threading.Thread(target=self._uvicorn.run, name="lacqa-server", daemon=True)
        self._thread.start()
        t_end = time.monotonic() + timeout
        while not self._uvicorn.started:
            if not self._thread.is_alive() or time.monotonic() > t_end:
                self.close()
                raise ConfigError(f"could not serve on {self.host}:{self.port}: is the port in use? (set LACQA_PORT)")
            time.sleep(0.01)
        return self

    def wait_started(self, timeout: float) -> bool:
        """Block until the server accepts connections (or ``timeout`` seconds, or it stopped); True when up."""
        t_end = time.monotonic() + timeout
        while not self._uvicorn.started:
            if time.monotonic() > t_end or getattr(self._uvicorn, "should_exit", False):
                return False
            time.sleep(0.05)
        return True

    def close(self) -> None:
        self._cleanup()
        self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _cleanup(self) -> None:
        callbacks, self.on_close = self.on_close, []
        for fn in callbacks:
            fn()
