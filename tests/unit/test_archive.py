"""The archive checks and the one-member extraction, on zips built in tmp_path."""

from __future__ import annotations

import hashlib
import stat
import zipfile
from pathlib import Path

import pytest

from movie_ratings.errors import DataError
from movie_ratings.schema import KAGGLE_FILE, RAW_COLUMN_NAMES
from movie_ratings.sources.archive import check_members, extract_member, find_member, unsafe_reason

CSV = (
    ",".join(RAW_COLUMN_NAMES)
    + "\n"
    + "27205,Inception,8.4,38000,Released,2010-07-15"
    + ",x" * (len(RAW_COLUMN_NAMES) - 6)
    + "\n"
).encode()


def make_zip(
    path: Path,
    members: dict[str, bytes],
    *,
    symlinks: dict[str, str] | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize(
    ("name", "unsafe"),
    [
        ("TMDB_all_movies.csv", False),
        ("dump/2025/TMDB_all_movies.csv", False),
        ("dir/", False),
        ("a..b.csv", False),
        ("../evil.csv", True),
        ("a/../../evil.csv", True),
        ("..\\evil.csv", True),
        ("/etc/x", True),
        ("\\etc\\x", True),
        ("C:\\Windows\\x", True),
        ("c:x", True),
        ("a\x00b", True),
    ],
)
def test_unsafe_reason(name: str, unsafe: bool) -> None:
    assert (unsafe_reason(name) is not None) is unsafe


def test_extracts_member_at_root(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {KAGGLE_FILE: CSV, "README.md": b"hi"})
    out = tmp_path / "out"
    out.mkdir()

    got = extract_member(archive, KAGGLE_FILE, out / KAGGLE_FILE)

    assert got.path.read_bytes() == CSV
    assert got.size == len(CSV)
    assert got.sha256 == hashlib.sha256(CSV).hexdigest()
    assert got.member == KAGGLE_FILE
    assert files_under(out) == {KAGGLE_FILE}  # only the one member, no temp file left


def test_extracts_member_from_subfolder(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"dump/": b"", f"dump/{KAGGLE_FILE}": CSV})
    got = extract_member(archive, KAGGLE_FILE, tmp_path / "x.csv")
    assert got.member == f"dump/{KAGGLE_FILE}"
    assert (tmp_path / "x.csv").read_bytes() == CSV


def test_root_member_wins_over_subfolder(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {f"old/{KAGGLE_FILE}": b"old\n", KAGGLE_FILE: CSV})
    with zipfile.ZipFile(archive) as zf:
        assert find_member(zf, KAGGLE_FILE).filename == KAGGLE_FILE


def test_two_candidates_in_subfolders_are_ambiguous(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {f"a/{KAGGLE_FILE}": CSV, f"b/{KAGGLE_FILE}": CSV})
    with pytest.raises(DataError, match="ambiguous"):
        extract_member(archive, KAGGLE_FILE, tmp_path / "x.csv")


@pytest.mark.parametrize(
    "names",
    [
        ["tmdb_all_movies.csv"],  # the name is case-sensitive
        [f"{KAGGLE_FILE}.bak", f"old_{KAGGLE_FILE}"],
        [f"{KAGGLE_FILE}/"],  # a folder of that name
        [],
    ],
)
def test_missing_member_names_the_file(tmp_path: Path, names: list[str]) -> None:
    archive = make_zip(tmp_path / "a.zip", {name: CSV for name in names})
    with pytest.raises(DataError, match=KAGGLE_FILE):
        extract_member(archive, KAGGLE_FILE, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("bad", ["../evil.csv", "/etc/x", "sub/../../evil.csv", "C:\\evil.csv"])
def test_unsafe_member_refuses_whole_archive(tmp_path: Path, bad: str) -> None:
    archive = make_zip(tmp_path / "a.zip", {KAGGLE_FILE: CSV, bad: b"pwned"})
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(DataError, match="refused"):
        extract_member(archive, KAGGLE_FILE, out / KAGGLE_FILE)
    assert files_under(out) == set()
    assert files_under(tmp_path) == {"a.zip", "out"}


@pytest.mark.parametrize("target", ["../../etc/passwd", "/etc/passwd", "a/../../x"])
def test_symlink_escaping_is_refused(tmp_path: Path, target: str) -> None:
    archive = make_zip(tmp_path / "a.zip", {KAGGLE_FILE: CSV}, symlinks={"link": target})
    with zipfile.ZipFile(archive) as zf, pytest.raises(DataError, match="symlink"):
        check_members(zf)


def test_symlink_inside_archive_is_allowed(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "a.zip", {KAGGLE_FILE: CSV, "docs/a.md": b"a"}, symlinks={"docs/b": "a.md"}
    )
    got = extract_member(archive, KAGGLE_FILE, tmp_path / "x.csv")
    assert got.size == len(CSV)


def test_wanted_member_as_symlink_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"data.csv": CSV}, symlinks={KAGGLE_FILE: "data.csv"})
    with pytest.raises(DataError, match="symlink"):
        extract_member(archive, KAGGLE_FILE, tmp_path / "x.csv")


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_bad_crc_is_refused_and_leaves_nothing(tmp_path: Path, compression: int) -> None:
    payload = CSV * 50
    archive = make_zip(tmp_path / "a.zip", {KAGGLE_FILE: payload}, compression=compression)
    raw = bytearray(archive.read_bytes())
    # Flip one byte in the middle of the member's data (after the local header).
    header = 30 + len(KAGGLE_FILE)
    raw[header + 40] ^= 0xFF
    archive.write_bytes(bytes(raw))
    out = tmp_path / "out"
    out.mkdir()

    with pytest.raises(DataError, match="corrupt"):
        extract_member(archive, KAGGLE_FILE, out / KAGGLE_FILE)
    assert files_under(out) == set()


@pytest.mark.parametrize(
    "damage",
    [lambda b: b"this is not a zip file at all", lambda b: b[: len(b) // 2], lambda b: b""],
    ids=["garbage", "truncated", "empty"],
)
def test_unreadable_archive_is_data_error(tmp_path: Path, damage) -> None:
    good = make_zip(tmp_path / "good.zip", {KAGGLE_FILE: CSV * 20})
    bad = tmp_path / "bad.zip"
    bad.write_bytes(damage(good.read_bytes()))
    with pytest.raises(DataError):
        extract_member(bad, KAGGLE_FILE, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_empty_member_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {KAGGLE_FILE: b""})
    with pytest.raises(DataError, match="empty"):
        extract_member(archive, KAGGLE_FILE, tmp_path / "x.csv")


def test_oversized_member_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from movie_ratings.sources import archive as archive_module

    monkeypatch.setattr(archive_module, "MAX_MEMBER_BYTES", 10)
    archive = make_zip(tmp_path / "a.zip", {KAGGLE_FILE: CSV})
    with pytest.raises(DataError, match="over the 10 byte limit"):
        extract_member(archive, KAGGLE_FILE, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_existing_destination_is_replaced_whole(tmp_path: Path) -> None:
    dest = tmp_path / "x.csv"
    dest.write_bytes(b"yesterday\n")
    archive = make_zip(tmp_path / "a.zip", {KAGGLE_FILE: CSV})
    extract_member(archive, KAGGLE_FILE, dest)
    assert dest.read_bytes() == CSV


def test_failed_extraction_keeps_previous_destination(tmp_path: Path) -> None:
    dest = tmp_path / "x.csv"
    dest.write_bytes(b"yesterday\n")
    archive = make_zip(tmp_path / "a.zip", {"other.csv": CSV})
    with pytest.raises(DataError):
        extract_member(archive, KAGGLE_FILE, dest)
    assert dest.read_bytes() == b"yesterday\n"
