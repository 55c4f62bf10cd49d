"""The site server on loopback (in a thread) and the `movie-ratings site` command's errors."""

from __future__ import annotations

import inspect
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email.message import Message
from pathlib import Path

import pytest

from movie_ratings import cli
from movie_ratings.errors import MovieRatingsError
from movie_ratings.site import FilmCard, SiteData, build_site
from movie_ratings.site.server import SiteNotBuiltError, make_server


def data(title: str) -> SiteData:
    film = FilmCard(id=1, title=title, release_date=None, status="Planned", genres=(),
                    predicted_rating=6.0, model_version=1, imdb_id=None, poster_path=None,
                    updated=date(2026, 11, 20))
    return SiteData(generated_at=datetime(2026, 11, 20, tzinfo=UTC), snapshot_date=date(2026, 11, 20),
                    source="demo", is_demo=False, store_commit=1, model_card={}, cards=(film,),
                    monitoring=(), mae_trend=())


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    site_dir = tmp_path / "site"
    build_site(data("Served film"), site_dir)
    server = make_server(site_dir, port=0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", site_dir
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def get(url: str) -> tuple[int, Message, bytes]:
    """Status, headers (case-insensitive) and body of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_the_server_serves_the_site_with_strict_headers(served):
    base, _ = served
    status, headers, body = get(base + "/")
    assert status == 200 and b"Served film" in body
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    status, headers, _ = get(base + "/assets/placeholder.svg")
    assert status == 200 and headers["Content-Type"] == "image/svg+xml"


@pytest.mark.parametrize("path", ["/assets/", "/missing.html", "/../../etc/passwd"])
def test_no_directory_listing_and_nothing_outside_the_site(served, path):
    base, _ = served
    status, _, body = get(base + path)
    assert status == 404
    assert b"root:" not in body


def test_a_new_build_is_served_without_restarting(served):
    base, site_dir = served
    build_site(data("Rebuilt film"), site_dir)
    _, _, body = get(base + "/index.html")
    assert b"Rebuilt film" in body and b"Served film" not in body


def test_the_server_refuses_a_site_that_was_never_built(tmp_path):
    with pytest.raises(SiteNotBuiltError, match=r"no site has been built yet in .*movie-ratings infer"):
        make_server(tmp_path / "site", port=0)


def test_a_port_in_use_is_a_clear_error(served, tmp_path):
    base, site_dir = served
    port = int(base.rsplit(":", 1)[1])
    with pytest.raises(MovieRatingsError, match=rf"cannot listen on 127.0.0.1:{port}.*--port"):
        make_server(site_dir, port=port)


@pytest.mark.parametrize("port", [-1, 65536])
def test_a_port_out_of_range_is_a_clear_error(served, port):
    _, site_dir = served
    with pytest.raises(MovieRatingsError, match=rf"not a port: {port}"):
        make_server(site_dir, port=port)


def test_the_site_command_without_a_site_exits_1_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MOVIE_RATINGS_HOME", str(tmp_path))
    assert cli.main(["site", "--port", "0"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("movie-ratings site: SiteNotBuiltError: no site has been built yet in ")
    assert str(tmp_path / "site") in err and "\n" not in err
    assert not (tmp_path / "prefect").exists()  # serving needs no Prefect


def test_the_site_command_parses_its_port():
    function, bound, _ = cli.build_app().parse_args(["site", "--port", "0"])
    assert function is cli.site and bound.arguments == {"port": 0}
    function, bound, _ = cli.build_app().parse_args(["site"])
    assert bound.arguments == {} and inspect.signature(cli.site).parameters["port"].default == 8000



@pytest.mark.parametrize("path", ["/%00", "/index.html%00.png", "/%0d%0aSet-Cookie:x=1", "/%ff%fe"])
def test_bad_paths_get_400_without_a_traceback(served, path, capsys):
    base, _ = served
    status = get(base + path)[0]
    assert status == 400
    assert "Traceback" not in capsys.readouterr().err
    assert get(base + "/")[0] == 200  # still serving


def test_no_version_banner(served):
    base, _ = served
    _, headers, _ = get(base + "/")
    assert headers["Server"] == "movie-ratings"
    _, headers, _ = get(base + "/missing.html")
    assert headers["Server"] == "movie-ratings"


def test_an_idle_connection_is_closed(served, monkeypatch):
    import socket

    from movie_ratings.site import server as site_server

    monkeypatch.setattr(site_server.SiteHandler, "timeout", 0.5)
    base, _ = served
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\n")  # and never finishes the request
        conn.settimeout(5)
        assert conn.recv(1024) == b""  # closed by the server after its idle timeout
