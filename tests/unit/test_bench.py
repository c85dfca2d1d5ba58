"""`make bench` observes Suara only through its public doors, and its inference is right."""

import re
from pathlib import Path

import pytest

from bench.observe import counted_times, notified_at

ROOT = Path(__file__).resolve().parents[2]
BENCH = sorted((ROOT / "bench").glob("*.py"))


def service_collections() -> set[str]:
    """Every collection name a service's store uses (``db.<name>`` in services/)."""
    names = set()
    for path in (ROOT / "services").rglob("*.py"):
        names |= set(re.findall(r"\bdb\.([a-z_]+)\b", path.read_text()))
    return names - {"command", "client", "name"}


def test_the_collections_are_found():
    assert {"feedback", "decisions", "deliveries", "counters"} <= service_collections()


@pytest.mark.parametrize("path", BENCH, ids=lambda p: p.name)
def test_bench_reads_no_service_database(path):
    source = path.read_text()
    for forbidden in ("import pymongo", "from pymongo", "shared.mongo", "MongoClient", "_DB"):
        assert forbidden not in source, f"{path.name} uses {forbidden}"
    for module in re.findall(r"from (services\.[\w.]+) import", source):
        assert module == "services.categorization.serialisation", f"{path.name} uses {module}"
    for name in service_collections():
        # attribute access (not an API client's method call) or the name as a string
        pattern = rf"\.{name}\b(?!\()|[\"']{name}[\"']"
        found = [m.group(0) for m in re.finditer(pattern, source)]
        assert not found, f"{path.name} names the collection {name!r}: {found}"


@pytest.mark.parametrize("path", BENCH, ids=lambda p: p.name)
def test_bench_patches_nothing(path):
    source = path.read_text()
    for forbidden in ("monkeypatch", "unittest.mock", "setattr(", "patched"):
        assert forbidden not in source, f"{path.name} uses {forbidden}"


def test_the_kth_categorized_is_counted_when_the_count_reaches_k():
    categorized = [(10.0, "a"), (10.5, "b"), (11.0, "c")]
    series = [(10.1, 5, 100), (10.6, 5, 101), (10.7, 5, 100), (11.2, 5, 103)]
    # a reading below the one before (another replica lagging) does not count
    assert counted_times(categorized, series, base=100) == {"a": 10.6, "b": 11.2, "c": 11.2}


def test_not_yet_counted_feedback_has_no_time():
    assert counted_times([(1.0, "a"), (2.0, "b")], [(1.5, 0, 1)], base=0) == {"a": 1.5}


def test_notified_needs_the_citizen_and_the_department():
    received = {"kind": "received", "created_at": "2026-12-02 02:00:00.500000"}
    assigned = {"kind": "assigned.r1", "created_at": "2026-12-02T02:00:01Z"}
    assert notified_at([received]) is None
    at = notified_at([received, assigned, {"kind": "categorized.r1", "created_at": "x"}])
    assert at == pytest.approx(1796176801.0)
