"""The site renderer on tiny inline data: escaping, URL rules, card selection, empty states,
and atomic publishing."""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape

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
    filters,
    publish,
    render,
)
from movie_ratings.site.data import film_url, poster_url, valid_imdb_id, valid_tmdb_id

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(2)>'
HOSTILE = SCRIPT + BREAKOUT + "'&"

ALLOWED_URL = re.compile(
    r"(https://www\.imdb\.com/title/tt[0-9]{7,10}/"
    r"|https://www\.themoviedb\.org/movie/[1-9][0-9]*"
    r"|https://image\.tmdb\.org/t/p/w342/[A-Za-z0-9_-]+\.(jpg|jpeg|png|webp)"
    r"|assets/[A-Za-z0-9_./-]+|index\.html|monitoring\.html|film-[1-9][0-9]*\.html)"
)


def esc(value: object) -> str:
    """The value escaped as the templates escape it."""
    return str(escape(str(value)))


def card(id: int = 1, **changes: object) -> FilmCard:
    base = FilmCard(
        id=id, title=f"Film {id}", release_date=date(2026, 12, 1), status="Post Production",
        genres=("Drama",), predicted_rating=7.3, model_version=3, imdb_id="tt1234567",
        poster_path="/poster1.jpg", updated=date(2026, 11, 20), overview="A film.",
    )
    return replace(base, **changes)


def monitored(id: int = 100, **changes: object) -> MonitoredFilm:
    base = MonitoredFilm(
        id=id, title=f"Old {id}", imdb_id="tt7654321", prediction_date=date(2026, 11, 1),
        model_version=2, predicted_rating=6.0, actual_rating=6.5, imdb_votes=1234.0,
    )
    return replace(base, **changes)


MODEL_CARD = {
    "name": "movie_ratings_model", "version": 3, "created_at": "2026-11-19T06:00:00+00:00",
    "metrics": {"rmse": 0.91, "mae": 0.7, "r2": 0.41, "mse": 0.83},
    "baseline": {"rmse": 1.2, "mae": 0.95, "r2": 0.0, "mse": 1.44},
    "parity": {"old_notebook_random_split": {"rmse": 0.8, "mae": 0.6, "r2": 0.5}},
    "candidates": {"xgboost": {"rmse": 0.91}, "ridge": {"rmse": 1.0}},
    "split": {"kind": "temporal", "test_rows": 3000},
    "feature_view": {"name": "movie_ratings", "version": 1}, "store_commit": 5,
    "source": "demo", "is_demo": True, "code_commit": "abc123",
}


def site(**changes: object) -> SiteData:
    base = SiteData(
        generated_at=datetime(2026, 11, 20, 6, 10, tzinfo=UTC), snapshot_date=date(2026, 11, 20),
        source="demo", is_demo=True, store_commit=5, model_card=MODEL_CARD,
        cards=(card(1), card(2)), monitoring=(monitored(100), monitored(101, actual_rating=8.0)),
        mae_trend=(MaePoint(date(2026, 11, 1), 2, 2, 1.0),), plots={},
    )
    return replace(base, **changes)


class Tags(HTMLParser):
    """Every start tag with its attributes, and the raw text of each <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def parse(page: str) -> Tags:
    parser = Tags()
    parser.feed(page)
    parser.close()
    return parser


def assert_safe(page: str) -> None:
    """No injected element, handler or script; every URL is one the site may build."""
    assert SCRIPT not in page
    assert "<img src=x" not in page
    parsed = parse(page)
    for tag, attrs in parsed.tags:
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        if tag == "script":
            assert attrs in ({"type": "application/json", "id": "film-index"}, {"src": "assets/site.js"})
        for name in ("href", "src"):
            if name in attrs:
                assert ALLOWED_URL.fullmatch(attrs[name] or ""), (tag, attrs)


def items(page: str) -> list[str]:
    """The HTML of each card, in page order."""
    return re.findall(r'<li class="card".*?</div></li>', page, re.S)


def hostile_site() -> SiteData:
    hostile_card = card(
        1, title=HOSTILE, overview=HOSTILE, genres=(HOSTILE, "Drama"), status=HOSTILE,
        imdb_id=HOSTILE, poster_path=HOSTILE,
    )
    hostile_film = monitored(100, title=HOSTILE, imdb_id="javascript:alert(1)")
    hostile_model_card = {
        **MODEL_CARD, "name": HOSTILE, "code_commit": HOSTILE, "source": HOSTILE,
        "created_at": HOSTILE, "feature_view": {"name": HOSTILE, "version": HOSTILE},
        "metrics": {HOSTILE: HOSTILE, "rmse": 0.9},
        "parity": {HOSTILE: {"rmse": HOSTILE}},
        "candidates": {HOSTILE: {HOSTILE: 1.0}},
        "split": {HOSTILE: HOSTILE},
        HOSTILE: [HOSTILE],
    }
    return site(
        cards=(hostile_card, card(2)), monitoring=(hostile_film,), model_card=hostile_model_card,
        mae_trend=(MaePoint(date(2026, 11, 1), 2, 1, 0.5),), source=HOSTILE,
    )


def test_every_dataset_field_is_escaped_on_the_home_page():
    page = render.render_index(hostile_site())
    assert_safe(page)
    escaped = esc(HOSTILE)
    # title (heading, alt text is not used for an invalid poster), overview, genre, status, source
    assert page.count(escaped) >= 5
    assert f'<h2 class="title"><a href="https://www.themoviedb.org/movie/1" rel="noopener noreferrer" target="_blank">{escaped}</a></h2>' in page


def test_every_dataset_and_model_card_field_is_escaped_on_the_monitoring_page(tmp_path):
    plots = [render.PlotFile(name=HOSTILE, src="assets/plots/plot-0.png")]
    page = render.render_monitoring(hostile_site(), plots)
    assert_safe(page)
    escaped = esc(HOSTILE)
    # table cell and chart tooltip of the film; model card name, commit, source, created_at,
    # view, metric name and value, parity column, candidate name and metric, split, other key
    # and value; plot caption and alt text
    assert page.count(escaped) >= 15


def test_the_hostile_title_round_trips_through_the_embedded_json_unharmed():
    title = "</script><script>alert(1)</script><!-- \u2028\u2029 & \"quoted\" 'x'"
    page = render.render_index(site(cards=(card(1, title=title, genres=("<b>",)),)))
    assert_safe(page)
    parsed = parse(page)
    assert len(parsed.scripts) == 2  # the JSON block and the (empty) script element with src
    block = parsed.scripts[0]
    for char in "<>&\u2028\u2029":
        assert char not in block
    records = json.loads(block)
    assert records[0]["title"] == title
    assert records[0]["genres"] == ["<b>"]


def test_json_for_script_refuses_nan():
    with pytest.raises(ValueError):
        filters.json_for_script({"rating": math.nan})


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("tt1234567", True), ("tt1234567890", True), ("tt123456", False), ("tt12345678901", False),
        ("tt1234567\n", False), ("TT1234567", False), ("tt１２３４５６７", False), ("tt١٢٣٤٥٦٧", False),
        ("javascript:alert(1)", False), (" tt1234567", False), ("tt1234567/../x", False),
        (None, False), (1234567, False), ("", False),
    ],
)
def test_imdb_ids_are_valid_only_as_tt_and_7_to_10_ascii_digits(value, valid):
    assert valid_imdb_id(value) == (value if valid else None)


@pytest.mark.parametrize(
    ("film_id", "imdb_id", "url"),
    [
        (5, "tt0111161", "https://www.imdb.com/title/tt0111161/"),
        (5, "tt01", "https://www.themoviedb.org/movie/5"),
        (5, None, "https://www.themoviedb.org/movie/5"),
        (5, "javascript:alert(1)", "https://www.themoviedb.org/movie/5"),
        (0, None, None), (-3, "bad", None), (True, None, None), ("5", None, None), (None, None, None),
    ],
)
def test_film_url_prefers_a_valid_imdb_id_then_a_positive_tmdb_id(film_id, imdb_id, url):
    assert film_url(film_id, imdb_id) == url


def test_tmdb_ids_must_be_positive_ints():
    assert valid_tmdb_id(7) == 7
    assert [valid_tmdb_id(v) for v in (0, -1, True, 1.0, "7", None)] == [None] * 6


@pytest.mark.parametrize(
    ("path", "valid"),
    [
        ("/abc.jpg", True), ("/a-b_C9.jpeg", True), ("/x.png", True), ("/x.webp", True),
        ("abc.jpg", False), ("//evil.example/x.jpg", False), ("/../x.jpg", False), ("/a/b.jpg", False),
        ("/x.jpg?y=1", False), ("/x.jpg#", False), ("/x.svg", False), ("/x.JPG", False),
        ("/x.jpg\n", False), ("javascript:alert(1)", False), ("/x y.jpg", False), ("", False), (None, False),
    ],
)
def test_poster_paths_build_a_tmdb_url_only_when_strict(path, valid):
    url = poster_url(path)
    assert (url == f"https://image.tmdb.org/t/p/w342{path}") is valid
    if not valid:
        assert url is None


def test_cards_link_and_show_posters_only_through_validated_values():
    page = render.render_index(site(cards=(
        card(1, imdb_id="tt0111161", poster_path="/ok.jpg"),
        card(2, imdb_id="javascript:alert(1)", poster_path="javascript:alert(1)"),
        card(3, imdb_id=None, poster_path=None),
    )))
    assert_safe(page)
    first, second, third = items(page)
    assert 'href="https://www.imdb.com/title/tt0111161/"' in first
    assert 'src="https://image.tmdb.org/t/p/w342/ok.jpg" data-placeholder="assets/placeholder.svg"' in first
    for item, film_id in ((second, 2), (third, 3)):
        assert f'href="https://www.themoviedb.org/movie/{film_id}"' in item
        assert 'src="assets/placeholder.svg"' in item and "image.tmdb.org" not in item
    assert "javascript:" not in page


def test_a_card_without_any_valid_id_has_no_link():
    page = render.render_index(site(cards=(card(1, imdb_id="nope"), replace(card(2), id=0, imdb_id=None))))
    no_id, tmdb = items(page)  # id 0 sorts first
    assert "<a " not in no_id and "no valid link" in no_id
    assert 'href="https://www.themoviedb.org/movie/1"' in tmdb


def test_the_home_page_shows_the_20_most_recently_updated_films_newest_first_then_by_id():
    start = date(2026, 11, 1)
    cards = [card(id, updated=start + timedelta(days=id % 7)) for id in range(30, 0, -1)]
    chosen = render.select_cards(cards)
    assert len(chosen) == 20
    # updated = 1 Nov + (id mod 7) days: newest day first, ids ascending within a day;
    # of the five films updated on 3 Nov only the four lowest ids fit
    expected = [6, 13, 20, 27, 5, 12, 19, 26, 4, 11, 18, 25, 3, 10, 17, 24, 2, 9, 16, 23]
    assert [c.id for c in chosen] == expected

    page = render.render_index(site(cards=tuple(cards)))
    titles = re.findall(r'<h2 class="title"><a [^>]*>([^<]*)</a>', page)
    assert titles == [f"Film {id}" for id in expected]
    records = json.loads(parse(page).scripts[0])
    assert [r["id"] for r in records] == expected
    assert [r["updated"] for r in records[:5]] == ["2026-11-07"] * 4 + ["2026-11-06"]
    assert "The 20 most recently updated" in page and "of 30 predicted" in page


def test_fewer_than_20_films_all_show():
    page = render.render_index(site(cards=(card(1), card(2), card(3))))
    assert len(items(page)) == 3


@pytest.mark.parametrize(
    ("rating", "css"), [(7.3, "w75"), (0.0, "w0"), (10.0, "w100"), (12.0, "w100"), (-1.0, "w0"),
                        (5.0, "w50"), (6.26, "w65"), (math.nan, "w0"), (None, "w0")],
)
def test_stars_fill_the_rating_out_of_ten(rating, css):
    assert filters.star_class(rating) == css


def test_a_card_shows_rating_stars_release_date_and_genres():
    page = render.render_index(site(cards=(card(1, predicted_rating=7.3, genres=("Drama", "Horror")),
                                           card(2, release_date=None, genres=()))))
    first, second = items(page)
    assert '<span class="stars w75" role="img" aria-label="predicted 7.3 out of 10">' in first
    assert '<strong class="predicted">7.3</strong>' in first
    assert '<time datetime="2026-12-01">1 Dec 2026</time>' in first
    assert '<span class="genre">Drama</span><span class="genre">Horror</span>' in first
    assert "release date unknown" in second and "no genre listed" in second


@pytest.mark.parametrize("is_demo", [True, False])
def test_the_demo_banner_shows_exactly_when_the_data_is_the_demo_feed(is_demo):
    data = site(is_demo=is_demo)
    for page in (render.render_index(data), render.render_monitoring(data, [])):
        assert ('id="demo-banner"' in page) is is_demo
        assert ("DEMO DATA" in page) is is_demo


def test_empty_states():
    data = site(cards=(), monitoring=(), mae_trend=(), model_card={})
    index = render.render_index(data)
    assert render.NO_CARDS in index and '<ol class="cards"' not in index and "site.js" not in index
    monitoring = render.render_monitoring(data, [])
    assert "No predicted film has a known rating yet." in monitoring
    assert render.NO_TREND in monitoring and render.NO_MODEL_CARD in monitoring
    assert "<svg" not in monitoring and "<table" not in monitoring
    assert "No training plots" in monitoring


def test_a_malformed_model_card_still_renders():
    odd = {"version": None, "metrics": "oops", "parity": ["x"], "candidates": {"a": 3},
           "split": None, "feature_view": "movie_ratings v1", "nested": {"a": {"b": [1, 2]}}}
    page = render.render_monitoring(site(model_card=odd), [])
    assert "The model card has no metrics." in page
    assert "movie_ratings v1" in page
    assert esc('{"a": {"b": [1, 2]}}') in page


def test_the_model_card_puts_our_metrics_beside_baseline_and_seed_parity():
    page = render.render_monitoring(site(), [])
    head = re.search(r'<table class="metrics" id="model-metrics"><thead><tr>(.*?)</tr>', page).group(1)
    assert re.findall(r"<th[^>]*>([^<]*)</th>", head) == [
        "metric", "this model (v3)", "baseline: mean rating", "seed parity: old notebook random split"]
    rmse = re.search(r"<tr><th>RMSE</th>(.*?)</tr>", page).group(1)
    assert re.findall(r">([^<]*)</td>", rmse) == ["0.910", "1.200", "0.800"]
    mse = re.search(r"<tr><th>MSE</th>(.*?)</tr>", page).group(1)
    assert re.findall(r">([^<]*)</td>", mse) == ["0.830", "1.440", "—"]
    assert 'id="candidate-metrics"' in page and ">xgboost<" in page and ">ridge<" in page


def test_the_monitoring_page_tables_and_charts_every_film_with_a_known_rating():
    films = (monitored(1, predicted_rating=6.0, actual_rating=7.0),
             monitored(2, predicted_rating=8.0, actual_rating=7.5, model_version=3),
             monitored(3, predicted_rating=math.nan, actual_rating=5.0, imdb_votes=None))
    trend = (MaePoint(date(2026, 11, 1), 2, 1, 1.0), MaePoint(date(2026, 11, 2), 2, 1, 0.8),
             MaePoint(date(2026, 11, 2), 3, 1, 0.5))
    page = render.render_monitoring(site(monitoring=films, mae_trend=trend), [])
    table = re.search(r'<table id="predicted-vs-actual">.*?</table>', page).group(0)
    assert table.count("<tr>") == 1 + 3
    assert "<td class=\"num\">-1.0</td>" in table and "<td class=\"num\">+0.5</td>" in table
    assert table.count("n/a") == 2 and "—" in table  # NaN prediction: predicted and error; no votes
    scatter = re.search(r'<svg class="chart" id="scatter".*?</svg>', page).group(0)
    assert scatter.count('<circle class="point"') == 2  # the NaN prediction cannot be drawn
    trend_svg = re.search(r'<svg class="chart" id="mae-trend".*?</svg>', page).group(0)
    assert trend_svg.count("<polyline") == 2  # one line per model version
    assert re.search(r'id="live-mae">0.75<', page)  # mean of |−1.0| and |+0.5|
    assert re.search(r'id="live-films">3<', page)


def test_an_mae_trend_of_one_date_renders():
    page = render.render_monitoring(site(mae_trend=(MaePoint(date(2026, 11, 1), 1, 4, 0.0),)), [])
    assert 'id="mae-trend"' in page


def test_plots_are_copied_under_safe_names_and_a_missing_one_is_marked(tmp_path):
    png = tmp_path / "residuals.png"
    png.write_bytes(b"\x89PNG fake")
    data = site(plots={"residuals": png, "../../etc/passwd": tmp_path / "missing.png"})
    index = build_site(data, tmp_path / "home" / "site")
    root = index.parent
    assert (root / "assets" / "plots" / "plot-0.png").read_bytes() == b"\x89PNG fake"
    assert sorted(p.name for p in (root / "assets" / "plots").iterdir()) == ["plot-0.png"]
    page = (root / "monitoring.html").read_text()
    assert '<img src="assets/plots/plot-0.png" alt="Residuals">' in page
    assert "plot not available" in page


def test_a_plot_that_is_not_an_image_is_refused(tmp_path):
    script = tmp_path / "x.html"
    script.write_text(SCRIPT)
    with pytest.raises(ValueError, match=r"plot 'bad'.*not an image"):
        build_site(site(plots={"bad": script}), tmp_path / "site")
    assert not (tmp_path / "site").exists()


# --- publishing ---------------------------------------------------------------------------


def builds(out_dir: Path) -> list[Path]:
    return sorted(publish.builds_dir(out_dir).iterdir())


def test_build_site_publishes_a_complete_self_contained_site(tmp_path):
    out_dir = tmp_path / "home" / "site"
    index = build_site(site(), out_dir)
    assert index == out_dir / "index.html"
    assert out_dir.is_symlink() and not os.path.isabs(os.readlink(out_dir))
    files = sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.is_file())
    films = ["film-1.html", "film-100.html", "film-101.html", "film-2.html"]  # cards and monitored
    assert files == ["assets/placeholder.svg", "assets/site.css", "assets/site.js",
                     *films, "index.html", "monitoring.html"]
    for name in ("index.html", "monitoring.html", *films):
        page = (out_dir / name).read_text()
        assert_safe(page)
        assert not re.search(r"(src|href)=\"(https?:)?//(?!www\.imdb\.com|www\.themoviedb\.org|image\.tmdb\.org)", page)
    css = (out_dir / "assets" / "site.css").read_text()
    assert "url(" not in css and "@import" not in css  # no web fonts or remote images


def test_a_build_that_fails_midway_leaves_the_previous_site_intact(tmp_path, monkeypatch):
    out_dir = tmp_path / "site"
    build_site(site(cards=(card(1, title="First build"),)), out_dir)
    first_target = os.readlink(out_dir)
    before = builds(out_dir)

    def broken(data, plots):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(render, "render_monitoring", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        build_site(site(cards=(card(1, title="Second build"),)), out_dir)
    assert os.readlink(out_dir) == first_target
    assert "First build" in (out_dir / "index.html").read_text()
    assert (out_dir / "monitoring.html").exists()
    assert builds(out_dir) == before  # the half-written build was removed
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site-builds", "site"]  # no stray link

    monkeypatch.undo()
    build_site(site(cards=(card(1, title="Third build"),)), out_dir)
    assert "Third build" in (out_dir / "index.html").read_text()


def test_a_plot_that_cannot_be_read_fails_the_build_and_keeps_the_old_site(tmp_path):
    out_dir = tmp_path / "site"
    build_site(site(cards=(card(1, title="Old site"),)), out_dir)
    folder = tmp_path / "plot.png"
    folder.mkdir()  # exists but is not a readable file
    with pytest.raises(IsADirectoryError):
        build_site(site(cards=(card(1, title="New site"),), plots={"p": folder}), out_dir)
    assert "Old site" in (out_dir / "index.html").read_text()
    assert len(builds(out_dir)) == 1


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_old_builds_are_pruned_keeping_the_current_two_previous_and_recent_ones(tmp_path):
    out_dir = tmp_path / "site"
    for n in range(5):
        build_site(site(cards=(card(1, title=f"Build {n}"),)), out_dir)
    assert len(builds(out_dir)) == 5  # all younger than ten minutes: maybe still in use
    for n, path in enumerate(builds(out_dir)):
        age(path, 3600 - n)  # older ones first, all an hour old
    build_site(site(cards=(card(1, title="Build 5"),)), out_dir)
    kept = builds(out_dir)
    assert len(kept) == 3
    assert out_dir.resolve() in [p.resolve() for p in kept]
    assert "Build 5" in (out_dir / "index.html").read_text()
    assert sorted(
        re.search(r"Build \d", (p / "index.html").read_text()).group(0)
        for p in kept if p.resolve() != out_dir.resolve()
    ) == ["Build 3", "Build 4"]


def test_a_real_folder_at_the_site_path_is_replaced_atomically_and_kept(tmp_path):
    out_dir = tmp_path / "site"
    out_dir.mkdir()
    (out_dir / "index.html").write_text("hand-made")
    build_site(site(), out_dir)
    assert out_dir.is_symlink()
    kept = [p for p in builds(out_dir) if p.name.startswith("previous-")]
    assert len(kept) == 1 and (kept[0] / "index.html").read_text() == "hand-made"


# --- intervals, explanations, detail pages, coverage and drift ------------------------------


def contributions(*pairs: tuple[str, float]) -> tuple[Contribution, ...]:
    return tuple(Contribution(label, value) for label, value in pairs)


def test_a_card_shows_its_interval_only_when_both_ends_are_known():
    page = render.render_index(site(cards=(
        card(1, predicted_rating=6.8, rating_low=5.9, rating_high=7.6),
        card(2, rating_low=None, rating_high=None),
        card(3, rating_low=math.nan, rating_high=7.0),
    )))
    first, second, third = items(page)
    assert '<strong class="predicted">6.8</strong><span class="of">/10</span> <span class="interval"' in first
    assert ">(5.9–7.6)</span>" in first
    assert 'class="interval"' not in second and 'class="interval"' not in third


def test_a_card_explains_its_rating_with_the_largest_contributions_escaped():
    explained = card(1, explanation=contributions(
        ("genre Horror", -0.3), (HOSTILE, 0.05), ("director's earlier films", 0.4),
        ("no cast listed yet", -0.2), ("budget", math.nan)))
    page = render.render_index(site(cards=(explained, card(2))))
    assert_safe(page)
    first, second = items(page)
    labels = re.findall(r'<span class="label">([^<]*)</span> <span class="value">([^<]*)</span>', first)
    # three on a card, by size; the NaN one is never shown
    assert labels == [("director&#39;s earlier films", "+0.4"), ("genre Horror", "−0.3"),
                      ("no cast listed yet", "−0.2")]
    assert "Why this rating" not in second
    detail = render.render_film(site(cards=(explained,)), render.film_details(site(cards=(explained,)))[0])
    assert_safe(detail)
    assert esc(HOSTILE) in detail and detail.count('<li class="') == 4  # all finite ones


def history_site() -> SiteData:
    return site(
        cards=(card(1, title=HOSTILE, rating_low=6.0, rating_high=8.0, actual_rating=None), card(2)),
        monitoring=(monitored(100, rating_low=5.0, rating_high=7.0), monitored(0, title="no id")),
        histories={
            1: (PastPrediction(date(2026, 11, 18), 2, 7.0), PastPrediction(date(2026, 11, 20), 3, 7.3, 6.0, 8.0)),
            100: (PastPrediction(date(2026, 11, 1), 2, 6.0, 5.0, 7.0),),
            999: (PastPrediction(date(2026, 11, 1), 2, 1.0),),  # on no page: no detail page
        },
    )


def test_every_card_and_monitored_film_with_a_valid_id_gets_a_detail_page():
    details = render.film_details(history_site())
    assert [d.id for d in details] == [1, 2, 100]  # id 0 cannot name a page
    home = render.render_index(history_site())
    assert '<a class="details" href="film-1.html">' in home
    page = render.render_monitoring(history_site(), [])
    assert '<a class="details" href="film-100.html">details</a>' in page
    assert 'href="film-0.html"' not in page


def test_the_detail_page_shows_prediction_interval_history_and_no_real_rating_yet():
    data = history_site()
    film = render.film_details(data)[0]
    page = render.render_film(data, film)
    assert_safe(page)
    assert f'<meta http-equiv="Content-Security-Policy" content="{esc(render.CSP)}">' in page
    assert f"<title>{esc(HOSTILE)} · movie-ratings</title>" in page
    assert SCRIPT not in page
    assert '<strong class="predicted">7.3</strong><span class="of">/10</span> <span class="interval"' in page
    rows = re.findall(r"<tr><td>(.*?)</td><td class=\"num\">(.*?)</td><td class=\"num\">(.*?)</td>"
                      r"<td class=\"num\">(.*?)</td></tr>", page)
    assert rows == [("2026-11-20", "v3", "7.3", "6.0–8.0"), ("2026-11-18", "v2", "7.0", "—")]  # newest first
    assert 'id="no-actual"' in page and 'id="no-explanation"' in page


def test_the_detail_page_of_a_rated_film_shows_its_real_rating_and_errors():
    data = history_site()
    film = next(d for d in render.film_details(data) if d.id == 100)
    page = render.render_film(data, film)
    assert_safe(page)
    assert '<strong id="actual">6.5</strong> on IMDb: predicted 6.0' in page
    assert "(5.0–7.0)" in page and "error -0.5" in page
    assert re.search(r"<th class=\"num\">error</th>", page)


def test_build_site_writes_one_detail_page_per_film_and_nothing_else(tmp_path):
    out_dir = tmp_path / "site"
    build_site(history_site(), out_dir)
    pages = sorted(p.name for p in out_dir.glob("film-*.html"))
    assert pages == ["film-1.html", "film-100.html", "film-2.html"]
    for name in pages:
        assert_safe((out_dir / name).read_text())


def test_the_monitoring_page_tables_and_charts_interval_coverage():
    coverage = (CoveragePoint(date(2026, 11, 1), 2, 10, 8), CoveragePoint(date(2026, 11, 2), 2, 5, 3),
                CoveragePoint(date(2026, 11, 2), 3, 4, 4), CoveragePoint(date(2026, 11, 3), 3, 0, 0))
    page = render.render_monitoring(site(coverage=coverage), [])
    assert_safe(page)
    table = re.search(r'<table id="coverage-table">.*?</table>', page).group(0)
    assert table.count("<tr>") == 1 + 3  # a point without films is left out
    assert '<td class="num">80%</td>' in table and '<td class="num">60%</td>' in table
    assert re.search(r'id="live-coverage">79%<', page)  # 15 of 19
    svg = re.search(r'<svg class="chart" id="coverage-trend".*?</svg>', page).group(0)
    assert svg.count("<polyline") == 2 and 'class="target"' in svg
    empty = render.render_monitoring(site(), [])
    assert render.NO_COVERAGE in empty and 'id="live-coverage">—<' in empty


def drift_of(psis: dict[str, float], rows: int = 100, reference_rows: int = 1000,
             missing: float = 0.1) -> tuple[FeatureDrift, ...]:
    return tuple(FeatureDrift(feature=name, kind="numeric", psi=value, reference_rows=reference_rows,
                              current_rows=rows, reference_missing=missing, current_missing=0.3, bins=())
                 for name, value in psis.items())


def drift_report_of(psis: dict[str, float], rows: int = 100, baseline: dict[str, float] | None = None,
                    problem: str | None = None) -> DriftReport:
    """Against the training films (large PSIs, as upcoming films are sparse) and, unless
    ``baseline`` is None, against the films predicted at training time."""
    return DriftReport(drift_of(psis, rows), reference="1,000 training films", current=f"{rows} films predicted",
                       baseline=() if baseline is None else drift_of(baseline, rows, 200, 0.25),
                       baseline_reference=None if baseline is None else "200 films predicted at training time",
                       baseline_problem=problem if baseline is None else None)


def test_the_monitoring_page_shows_both_drift_columns_and_alerts_on_the_baseline():
    report = drift_report_of({"runtime": 1.5, "n_cast": 0.9, HOSTILE: 0.6, "imdb_rating": 0.02},
                             baseline={"runtime": 0.02, "n_cast": 0.15, HOSTILE: 0.6})
    page = render.render_monitoring(site(drift=report), [])
    assert_safe(page)
    table = re.search(r'<table id="drift-table">.*?</table>', page).group(0)
    assert table.count("<tr") == 1 + 4
    assert "PSI vs training films" in table and "PSI vs films predicted at training time" in table
    # the level and colour are the baseline's (the training column is information)
    assert ('<tr class="stable"><td>runtime</td><td>numeric</td><td class="num">1.500</td>'
            '<td class="num">0.020</td><td>stable</td>') in table
    assert '<tr class="moderate"><td>n_cast</td>' in table
    # the label row has no baseline column: it is judged against the training ratings
    assert ('<tr class="stable"><td>imdb_rating</td><td>numeric</td><td class="num">0.020</td>'
            '<td class="num">—</td>') in table
    assert '<td class="num">10%</td><td class="num">25%</td><td class="num">30%</td>' in table
    svg = re.search(r'<svg class="chart" id="drift-chart".*?</svg>', page).group(0)
    assert svg.count('<rect class="bar') == 4 and svg.count('class="threshold') == 2
    assert svg.count('class="bar major"') == 1  # the hostile feature vs the baseline only
    assert "films predicted at training time (features)" in page
    alert = re.search(r'<p class="alert" id="drift-alert">(.*?)</p>', page).group(1)
    assert esc(HOSTILE) in alert and "films predicted at training time (0.60)" in alert
    assert "runtime" not in alert and "n_cast" not in alert
    watch = re.search(r'<p class="note" id="drift-watch">(.*?)</p>', page).group(1)
    assert watch == "To watch: n_cast vs films predicted at training time (0.15)."
    assert 'id="drift-no-baseline"' not in page and "200 films predicted at training time" in page


def test_sparse_films_far_from_the_training_films_alone_do_not_alert():
    report = drift_report_of({"runtime": 1.5, "n_cast": 0.9}, baseline={"runtime": 0.01, "n_cast": 0.03})
    page = render.render_monitoring(site(drift=report), [])
    assert 'id="drift-alert"' not in page and 'id="drift-watch"' not in page


def test_without_a_baseline_the_page_says_why_and_alerts_on_the_ratings_only():
    report = drift_report_of({"runtime": 1.5, "imdb_rating": 0.4}, problem="the model card records no store commit")
    page = render.render_monitoring(site(drift=report), [])
    assert ("Baseline not computable: the model card records no store commit." in
            re.search(r'<p class="alert" id="drift-no-baseline">(.*?)</p>', page).group(1))
    alert = re.search(r'<p class="alert" id="drift-alert">(.*?)</p>', page).group(1)
    assert alert == "Drift above threshold: imdb_rating vs training ratings (0.40)."
    table = re.search(r'<table id="drift-table">.*?</table>', page).group(0)
    assert '<tr class="information"><td>runtime</td>' in table and '<td class="num">—</td>' in table
    assert "the training films (no baseline: information only)" in page


def test_drift_on_too_few_films_is_shown_but_not_alerted():
    page = render.render_monitoring(site(drift=drift_report_of({"runtime": 0.9}, rows=5, baseline={"runtime": 0.9})), [])
    assert 'id="drift-alert"' not in page and "too few films" in page
    assert render.NO_DRIFT in render.render_monitoring(site(), [])


def test_the_templates_ship_with_the_package():
    from importlib import resources

    templates = resources.files("movie_ratings.site") / "templates"
    names = sorted(p.name for p in templates.iterdir() if p.name.endswith(".html"))
    assert names == ["base.html", "charts.html", "film.html", "index.html", "macros.html", "monitoring.html"]
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert '"templates/*.html"' in pyproject


def test_render_builds_no_markup_by_string_formatting():
    source = Path(render.__file__).read_text()
    assert not re.search(r"""f["'][^"'\n]*<[a-z/]""", source), "an f-string with markup"
    assert "<svg" not in source and "<td" not in source and "<li" not in source
