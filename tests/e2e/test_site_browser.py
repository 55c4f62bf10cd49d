"""The built site in a real headless Chromium, served by `movie-ratings site` in a subprocess.

The page may only reach loopback (tests/e2e/conftest.py), so every TMDB poster fails to load
and the bundled placeholder must take its place.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from movie_ratings.monitoring.drift import DriftReport, FeatureDrift
from movie_ratings.site import (
    Contribution,
    CoveragePoint,
    FilmCard,
    MaePoint,
    MonitoredFilm,
    PastPrediction,
    SiteData,
    build_site,
)
from movie_ratings.site.data import film_url

HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_OVERVIEW = "<img src=x onerror=alert(document.domain)> and a plot"
GENRES = ("Drama", "Horror", "Comedy", "Science Fiction")


def fixture_site() -> SiteData:
    """25 predicted films (20 shown), 6 with known ratings, two model versions; intervals on
    all but film 7, explanations on all but film 8 (film 3's holds a hostile name), a
    prediction history for every film, interval coverage and a drift report."""
    cards = []
    for i in range(1, 26):
        rating = round(4.0 + (i * 13 % 50) / 10, 1)
        cards.append(FilmCard(
            id=500 + i,
            title=HOSTILE_TITLE if i == 3 else f"Film {chr(ord('A') + (i * 7) % 26)}{i}",
            release_date=None if i % 6 == 0 else date(2026, 12, 1) + timedelta(days=(i * 37) % 200),
            status="Post Production" if i % 2 else "In Production",
            genres=(GENRES[i % 4],) if i % 5 else (GENRES[i % 4], "Thriller"),
            predicted_rating=rating,
            model_version=2,
            imdb_id=f"tt{7000000 + i}" if i % 3 else ("javascript:alert(1)" if i == 3 else None),
            poster_path=f"/poster{i}.jpg" if i % 4 else "javascript:alert(1)",
            updated=date(2026, 11, 20) - timedelta(days=i // 4),
            overview=HOSTILE_OVERVIEW if i == 3 else f"The plot of film {i}.",
            rating_low=None if i == 7 else round(rating - 0.9, 1),
            rating_high=None if i == 7 else round(rating + 0.8, 1),
            explanation=() if i == 8 else (
                Contribution(HOSTILE_TITLE if i == 3 else "director's earlier films", 0.4),
                Contribution("genre Horror", -0.3), Contribution("no cast listed yet", -0.2),
                Contribution("runtime", 0.1)),
        ))
    monitoring = tuple(
        MonitoredFilm(id=900 + i, title=f"Released {i}", imdb_id=f"tt{8000000 + i}",
                      prediction_date=date(2026, 11, 10) + timedelta(days=i % 3),
                      model_version=1 + i % 2, predicted_rating=5.0 + i / 2, actual_rating=5.5 + i / 3,
                      imdb_votes=100.0 * i)
        for i in range(6)
    )
    trend = tuple(MaePoint(date(2026, 11, 10) + timedelta(days=d), v, 2, 0.4 + d / 10 + v / 20)
                  for d in range(3) for v in (1, 2))
    histories = {c.id: (PastPrediction(date(2026, 11, 19), 1, c.predicted_rating - 0.5),
                        PastPrediction(date(2026, 11, 20), 2, c.predicted_rating, c.rating_low, c.rating_high))
                 for c in cards}
    histories |= {f.id: (PastPrediction(f.prediction_date, f.model_version, f.predicted_rating),)
                  for f in monitoring}
    coverage = tuple(CoveragePoint(date(2026, 11, 10) + timedelta(days=d), v, 10, 6 + d + v)
                     for d in range(3) for v in (1, 2))
    def psis(pairs: tuple[tuple[str, float], ...], reference_rows: int) -> tuple[FeatureDrift, ...]:
        return tuple(FeatureDrift(feature=name, kind="numeric", psi=value, reference_rows=reference_rows,
                                  current_rows=400, reference_missing=0.05, current_missing=0.2, bins=())
                     for name, value in pairs)

    # far from the training films on every feature (upcoming films are sparse); against the
    # films predicted at training time only overview_words moved
    drift = DriftReport(psis((("runtime", 1.2), ("n_cast", 0.9), ("overview_words", 0.8)), 5000),
                        reference="5,000 training films", current="400 films predicted",
                        baseline=psis((("runtime", 0.03), ("n_cast", 0.18), ("overview_words", 0.4)), 380),
                        baseline_reference="380 films predicted at training time")
    card = {"name": "movie_ratings_model", "version": 2, "metrics": {"rmse": 0.9, "mae": 0.7},
            "baseline": {"rmse": 1.2, "mae": 0.95},
            "parity": {"old_notebook_random_split": {"rmse": 0.8, "mae": 0.6}}}
    return SiteData(generated_at=datetime(2026, 11, 20, 6, 0, tzinfo=UTC),
                    snapshot_date=date(2026, 11, 20), source="demo", is_demo=True, store_commit=9,
                    model_card=card, cards=tuple(cards), monitoring=monitoring, mae_trend=trend,
                    histories=histories, coverage=coverage, drift=drift)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def site_command() -> list[str]:
    script = Path(sys.executable).with_name("movie-ratings")
    return [str(script)] if script.exists() else [sys.executable, "-m", "movie_ratings.cli"]


def read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    try:
        if not selector.select(timeout):
            return ""
        return proc.stdout.readline()
    finally:
        selector.close()


@pytest.fixture
def site_server(tmp_path: Path) -> Iterator[tuple[str, SiteData]]:
    """`movie-ratings site --port N` on a home holding a site built from the fixture."""
    data = fixture_site()
    home = tmp_path / "home"
    build_site(data, home / "site")
    port = free_port()
    env = {**os.environ, "MOVIE_RATINGS_HOME": str(home)}
    proc = subprocess.Popen([*site_command(), "site", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = read_line(proc, timeout=30)
        url = f"http://127.0.0.1:{port}/"
        assert url in line, f"server did not announce {url}: {line!r} {proc.poll()}"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
        yield url, data
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert proc.wait(timeout=15) == 0
        assert "stopped" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def test_the_site_in_a_real_browser(site_server, page, screenshot_dir):
    url, data = site_server
    dialogs: list[str] = []
    errors: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)

    page.goto(url)
    page.wait_for_load_state("networkidle")
    shown = sorted(data.cards, key=lambda c: (-c.updated.toordinal(), c.id))[:20]
    cards = page.locator("li.card")
    expect(cards).to_have_count(20)
    expect(page.locator("#demo-banner")).to_be_visible()
    expect(page.locator("#demo-banner")).to_contain_text("DEMO DATA")
    from movie_ratings.site.render import CSP

    assert page.locator("meta[http-equiv='Content-Security-Policy']").get_attribute("content") == CSP

    # every poster failed (no network) and shows the bundled placeholder, really loaded
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.poster')].every("
        "i => i.src.endsWith('/assets/placeholder.svg') && i.complete && i.naturalWidth > 0)",
        timeout=10_000,
    )

    # titles in order, links from validated ids only
    titles = page.locator("li.card h2.title").all_text_contents()
    assert titles == [c.title for c in shown]
    hrefs = [a.get_attribute("href") for a in page.locator("li.card h2.title a").all()]
    assert hrefs == [film_url(c.id, c.imdb_id) for c in shown]
    assert any(h.startswith("https://www.imdb.com/title/tt") for h in hrefs)
    hostile = page.locator("li.card", has_text=HOSTILE_TITLE)
    assert hostile.locator("h2.title a").get_attribute("href") == "https://www.themoviedb.org/movie/503"

    # the hostile title and overview are text, nothing ran
    expect(hostile.locator("h2.title")).to_have_text(HOSTILE_TITLE)
    expect(hostile.locator(".overview")).to_have_text(HOSTILE_OVERVIEW)
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("main script:not([type='application/json'])").count() == 0
    page.screenshot(path=str(screenshot_dir / "site-home.png"), full_page=True)

    # search by title, by genre, nothing, then everything again
    search = page.locator("#search")
    search.fill("<script>")
    expect(page.locator("li.card:visible")).to_have_count(1)
    search.fill("horror")  # a genre
    horror = [c.title for c in shown if "Horror" in c.genres]
    expect(page.locator("li.card:visible")).to_have_count(len(horror))
    assert page.locator("li.card:visible h2.title").all_text_contents() == horror
    expect(page.locator("#count")).to_have_text(f"{len(horror)} of 20 films")
    page.screenshot(path=str(screenshot_dir / "site-search.png"), full_page=True)
    search.fill("no film is called this")
    expect(page.locator("li.card:visible")).to_have_count(0)
    expect(page.locator("#no-match")).to_be_visible()
    search.fill("")
    expect(page.locator("li.card:visible")).to_have_count(20)

    # sort by predicted rating, release date (unknown last), title, and back
    page.select_option("#sort", "rating")
    ratings = [float(t) for t in page.locator("li.card .predicted").all_text_contents()]
    assert ratings == sorted((c.predicted_rating for c in shown), reverse=True)
    page.select_option("#sort", "release")
    releases = page.eval_on_selector_all(
        "li.card", "cards => cards.map(c => c.querySelector('time')?.dateTime ?? null)")
    known = [c.release_date.isoformat() for c in shown if c.release_date is not None]
    assert releases == sorted(known, reverse=True) + [None] * (20 - len(known))
    assert len(known) < 20
    page.select_option("#sort", "title")
    assert page.locator("li.card h2.title").all_text_contents() == sorted(titles, key=str.lower)
    page.select_option("#sort", "updated")
    assert page.locator("li.card h2.title").all_text_contents() == titles

    # intervals and explanations on the cards
    first = page.locator("li.card").first
    expect(first.locator(".interval")).to_have_text(
        f"({shown[0].rating_low:.1f}–{shown[0].rating_high:.1f})")
    no_interval = page.locator("li.card", has_text="The plot of film 7.")
    assert no_interval.locator(".interval").count() == 0
    expect(first.locator(".contributions li")).to_have_count(3)
    expect(first.locator(".contributions li").first).to_contain_text("+0.4")
    expect(hostile.locator(".contributions .label").first).to_have_text(HOSTILE_TITLE)
    assert page.locator("li.card", has_text="The plot of film 8.").locator(".explanation").count() == 0

    # the detail page of the hostile film: prediction, interval, explanation, history
    hostile.locator("a.details").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/film-503.html")
    expect(page.locator("#film h2.title")).to_have_text(HOSTILE_TITLE)
    film = next(c for c in data.cards if c.id == 503)
    expect(page.locator("#prediction .interval")).to_have_text(f"({film.rating_low:.1f}–{film.rating_high:.1f})")
    expect(page.locator("#explanation .contributions li")).to_have_count(4)
    expect(page.locator("#history-table tbody tr")).to_have_count(2)
    expect(page.locator("#history-table tbody tr").first).to_contain_text("2026-11-20")
    expect(page.locator("#no-actual")).to_be_visible()
    assert page.locator("img[src='x']").count() == 0
    page.wait_for_function("() => document.querySelector('img.poster').naturalWidth > 0", timeout=10_000)
    page.screenshot(path=str(screenshot_dir / "site-film.png"), full_page=True)
    page.get_by_role("link", name="← Upcoming films").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("li.card")).to_have_count(20)

    # the monitoring page
    page.get_by_role("link", name="Monitoring").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#predicted-vs-actual tbody tr")).to_have_count(len(data.monitoring))
    expect(page.locator("#scatter circle.point")).to_have_count(len(data.monitoring))
    expect(page.locator("#mae-trend polyline")).to_have_count(2)
    expect(page.locator("#model-metrics")).to_contain_text("seed parity")
    expect(page.locator("#demo-banner")).to_be_visible()
    assert page.locator("#scatter").bounding_box()["width"] > 300
    expect(page.locator("#coverage-table tbody tr")).to_have_count(len(data.coverage))
    expect(page.locator("#coverage-trend polyline")).to_have_count(2)
    expect(page.locator("#drift-table tbody tr")).to_have_count(3)
    expect(page.locator("#drift-chart rect.bar")).to_have_count(3)
    expect(page.locator("#drift-alert")).to_have_text(
        "Drift above threshold: overview_words vs films predicted at training time (0.40).")
    expect(page.locator("#drift-watch")).to_contain_text("n_cast")
    expect(page.locator("#drift-table thead")).to_contain_text("PSI vs films predicted at training time")
    assert page.locator("#drift-chart").bounding_box()["width"] > 300
    page.screenshot(path=str(screenshot_dir / "site-monitoring.png"), full_page=True)

    # a rated film's detail page shows its real rating
    page.locator("#predicted-vs-actual a.details").first.click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#actual")).to_be_visible()
    expect(page.locator("#history-table tbody tr")).to_have_count(1)

    assert dialogs == []
    assert errors == []
