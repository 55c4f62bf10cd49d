"""The browser fixture itself: a page served on loopback renders, other hosts are blocked."""

from __future__ import annotations

import http.server
import threading
from functools import partial


def test_chromium_renders_a_loopback_page_and_blocks_other_hosts(page, tmp_path, screenshot_dir):
    (tmp_path / "index.html").write_text(
        "<!doctype html><title>smoke</title><h1 id=h>hello</h1>"
        "<img id=remote src='https://example.invalid/x.png'>"
    )
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
        assert page.text_content("#h") == "hello"
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(screenshot_dir / "browser-smoke.png"))
    finally:
        server.shutdown()
    assert failed == ["https://example.invalid/x.png"]
