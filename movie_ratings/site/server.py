"""Serving a built site on 127.0.0.1 with the standard library's threading HTTP server."""

from __future__ import annotations

import http.server
import re
import signal
import sys
import threading
import urllib.parse
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TextIO

from movie_ratings.errors import MovieRatingsError
from movie_ratings.site.render import CSP

HOST = "127.0.0.1"
DEFAULT_PORT = 8000


class SiteNotBuiltError(MovieRatingsError):
    """There is no built site to serve yet."""


#: Seconds a connection may stay idle (or dribble a request) before it is closed.
IDLE_TIMEOUT_SECONDS = 20
_BAD_PATH = re.compile(r"[\x00-\x1f\x7f]")


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Static files of the site: no directory listings, no caching, strict headers, no
    version banner, bad paths answered with 400, idle connections closed."""

    server_version = "movie-ratings"
    sys_version = ""
    timeout = IDLE_TIMEOUT_SECONDS

    def version_string(self) -> str:
        return self.server_version

    def send_head(self):
        # A NUL or control character in the path would reach os.path and raise (the standard
        # handler then drops the connection with a traceback): refuse it as a bad request.
        try:
            raw = urllib.parse.unquote(self.path.split("?", 1)[0].split("#", 1)[0], errors="strict")
            if _BAD_PATH.search(raw):
                raise ValueError("control character in the path")
            return super().send_head()
        except (ValueError, UnicodeError):
            self.send_error(400, "Bad request path")
            return None

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", f"{CSP}; frame-ancestors 'none'")
        super().end_headers()

    def list_directory(self, path: str) -> None:  # type: ignore[override]
        self.send_error(404, "Not found")
        return None


def check_site(site_dir: Path) -> Path:
    """The site folder when it holds a built site.

    Raises:
        SiteNotBuiltError: no ``index.html`` under ``site_dir``.
    """
    if not (site_dir / "index.html").is_file():
        raise SiteNotBuiltError(
            f"no site has been built yet in {site_dir}: run `movie-ratings infer` "
            "(or `movie-ratings run`) first"
        )
    return site_dir


def make_server(site_dir: Path, port: int = DEFAULT_PORT) -> http.server.ThreadingHTTPServer:
    """A threading HTTP server for ``site_dir`` bound to 127.0.0.1 (port 0 picks a free one).

    The folder is looked up again on every request, so a new build published while the server
    runs is served at once.

    Raises:
        SiteNotBuiltError: nothing to serve yet.
        MovieRatingsError: the port is out of range or cannot be bound.
    """
    if not 0 <= port <= 65535:
        raise MovieRatingsError(f"not a port: {port} (use 1-65535, or 0 to pick a free one)")
    check_site(site_dir)
    handler = partial(SiteHandler, directory=str(site_dir))
    try:
        server = http.server.ThreadingHTTPServer((HOST, port), handler)
    except OSError as exc:
        raise MovieRatingsError(
            f"cannot listen on {HOST}:{port}: {exc.strerror or exc}; pass --port N (0 picks a free port)"
        ) from exc
    server.daemon_threads = True
    return server


def serve(site_dir: Path, port: int = DEFAULT_PORT, out: TextIO = sys.stdout) -> None:
    """Serve the site until Ctrl-C or SIGTERM, printing its URL first.

    Raises:
        SiteNotBuiltError: nothing to serve yet.
        MovieRatingsError: the port cannot be bound.
    """
    server = make_server(site_dir, port)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    url = f"http://{HOST}:{server.server_address[1]}/"
    print(f"serving {site_dir} at {url} (Ctrl-C stops)", file=out, flush=True)
    try:
        stop.wait()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print("stopped", file=out, flush=True)
