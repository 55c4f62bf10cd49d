"""The CLI's choice of Prefect API: the running server of the active profile, else a temporary one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from movie_ratings import prefect_api
from movie_ratings.prefect_api import TemporaryServer, choose_api, healthy, profile_api_url


def _profile(path: Path, url: str) -> Path:
    path.write_text(f'active = "local"\n\n[profiles.local]\nPREFECT_API_URL = "{url}"\n')
    return path


def test_the_active_profiles_api_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_PROFILE", raising=False)
    assert profile_api_url(tmp_path / "missing.toml") is None
    assert profile_api_url(_profile(tmp_path / "p.toml", "http://127.0.0.1:4200/api")) == "http://127.0.0.1:4200/api"
    (tmp_path / "inactive.toml").write_text('[profiles.local]\nPREFECT_API_URL = "http://x/api"\n')
    assert profile_api_url(tmp_path / "inactive.toml") is None


def test_an_explicit_api_url_or_an_imported_prefect_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:1/api")
    assert choose_api(tmp_path) is None
    monkeypatch.delenv("PREFECT_API_URL")
    import prefect.context  # noqa: F401  (tests run with Prefect imported: it keeps its own choice)

    assert choose_api(tmp_path) is None


def test_a_profile_whose_server_is_down_gets_a_temporary_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a fresh process, as the CLI starts: the profile's server answers nothing."""
    home = tmp_path / "prefect"
    home.mkdir()
    _profile(home / "profiles.toml", "http://127.0.0.1:9/api")  # the discard port: never a server
    code = ("import os; from pathlib import Path; from movie_ratings.prefect_api import choose_api, healthy\n"
            f"s = choose_api(Path({str(home)!r})); s.wait_ready(180)\n"
            "assert os.environ['PREFECT_API_URL'] == s.api_url and healthy(s.api_url)\n"
            "s.stop(); assert s.process.returncode is not None and not healthy(s.api_url)\n"
            "print('ok')")
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_PROFILES_PATH")}
    done = subprocess.run([sys.executable, "-c", code], env=env | {"PREFECT_HOME": str(home)},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    assert "http://127.0.0.1:9/api) does not answer; running on a temporary server" in done.stderr


def test_a_server_that_dies_at_start_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prefect_api, "_TEMPORARY_SERVER_ENV", {"PREFECT_API_DATABASE_CONNECTION_URL": "nope://"})
    server = TemporaryServer.start(tmp_path / "log" / "server.log")
    try:
        with pytest.raises(prefect_api.MovieRatingsError, match=r"exited with code \d+ before it answered "
                           rf"\(see its log {tmp_path / 'log' / 'server.log'}\)"):
            server.wait_ready(120)
    finally:
        server.stop()
    assert not healthy(server.api_url, timeout=0.5)
    assert "nope" in (tmp_path / "log" / "server.log").read_text()  # its output, not the terminal


def test_the_fixed_cost_section_survives_a_bench_rewrite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2]))  # bench/ is not installed
    from bench.sections import FIXED_COST as SECTION
    from bench.sections import STANDALONE_SECTIONS, keep_sections, write_section

    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark\n\n## Stages\nold\n\n## Hopsworks upsert\nh\n")
    write_section(SECTION, f"{SECTION}\n\nfirst\n", results)
    write_section(SECTION, f"{SECTION}\n\nsecond\n", results)
    text = results.read_text()
    assert text.count(SECTION) == 1 and "second" in text and "first" not in text
    rewritten = keep_sections(text, "# Benchmark\n\n## Stages\nnew\n", STANDALONE_SECTIONS)
    assert rewritten.startswith("# Benchmark\n\n## Stages\nnew\n") and f"{SECTION}\n\nsecond" in rewritten
    assert "Hopsworks" not in rewritten.split(SECTION)[1]


def test_a_bench_rewrite_keeps_every_standalone_and_marked_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2]))  # bench/ is not installed
    from bench.sections import (
        CHURN,
        DRIFT,
        HOPSWORKS_UPSERT,
        REAL,
        keep_sections,
        write_marked,
        write_section,
    )

    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark\n\n## Stages\nold\n")
    write_section(HOPSWORKS_UPSERT, f"{HOPSWORKS_UPSERT}\n\nfirst upsert\n", results)
    write_marked(REAL, f"{REAL.start}\n## Real\nreal numbers\n{REAL.end}", results)
    write_section(DRIFT, f"{DRIFT}\n\nfirst drift\n", results)
    write_marked(CHURN, f"{CHURN.start}\n## Churn\nchurn numbers\n{CHURN.end}", results)
    # a section written again right before a marked one leaves that one's markers alone
    write_section(HOPSWORKS_UPSERT, f"{HOPSWORKS_UPSERT}\n\nsecond upsert\n", results)
    write_section(DRIFT, f"{DRIFT}\n\nsecond drift\n", results)
    text = results.read_text()
    for marker in (REAL.start, REAL.end, CHURN.start, CHURN.end):
        assert text.count(marker) == 1, marker
    assert "first drift" not in text and "first upsert" not in text

    rewritten = keep_sections(text, "# Benchmark\n\n## Stages\nnew\n")
    assert rewritten.startswith("# Benchmark\n\n## Stages\nnew\n") and "old" not in rewritten
    for kept in ("second upsert", "second drift", "real numbers", "churn numbers", REAL.end, CHURN.end):
        assert rewritten.count(kept) == 1, kept
    # a rewrite that has its own real-data section keeps that one
    assert "real numbers" not in keep_sections(text, f"# B\n\n{REAL.start}\nnew real\n{REAL.end}\n")
