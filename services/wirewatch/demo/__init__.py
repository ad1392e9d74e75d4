"""The demo: sample feeds shipped with the package, served on 127.0.0.1.

`wirewatch run` with no feeds configured starts this server so that a new user
sees alerts within a minute on a machine with no internet.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any

from ..models import FeedRecord, utcnow

DEMO_OUTLETS = {"wire": "Demo Wire Service", "gazette": "The Demo Gazette", "observer": "Frontline Observer"}


def demo_dir() -> Path:
    return Path(str(resources.files(__package__).joinpath("feeds")))


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class DemoFeedServer:
    """A real HTTP server (conditional GET via If-Modified-Since) for a folder of feeds."""

    def __init__(self, directory: Path | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.directory = directory or demo_dir()
        handler = functools.partial(_QuietHandler, directory=str(self.directory))
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="wirewatch-demo-feeds", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def feeds(self, interval_seconds: float | None = 15.0) -> list[FeedRecord]:
        out = []
        for path in sorted(self.directory.glob("*.xml")):
            out.append(FeedRecord(
                feed_id=f"demo-{path.stem}",
                url=f"{self.base_url}/{path.name}",
                outlet=DEMO_OUTLETS.get(path.stem, path.stem),
                interval_seconds=interval_seconds,
                updated_at=utcnow(),
            ))
        return out

    def start(self) -> DemoFeedServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> DemoFeedServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
