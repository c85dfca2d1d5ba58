"""The "me too" clusters' pure part (services/reporting/clusters.py, projections'
cluster counts): the links in a case's projection, what they contribute, the notes of a
cluster's place and times, and the hotspot list."""

from __future__ import annotations

from datetime import date

import pytest
from marshmallow import ValidationError

from services.reporting import clusters, forum, projections, reports
from shared import events
from shared.events import InvalidMessage

FIRST, NEW = "SU-AAAAAAAAA1", "SU-AAAAAAAAA2"
TODAY, START = date(2026, 12, 2), date(2026, 11, 3)


def suspected(fid: str = NEW, cluster: str = FIRST, **more) -> events.Event:
    data = {
        "feedback_id": fid,
        "similar_to": cluster,
        "cluster_id": cluster,
        "similarity": 0.82,
        "distance_m": 40.0,
        "kelurahan": "Panjang Wetan",
        "category": "roads",
        "department_id": "dinas-pupr",
        "suspected_at": "2026-12-02T03:00:00.000Z",
        **more,
    }
    built = events.build(
        "categorization", "feedback.duplicate_suspected", data, subject=fid, correlation_id="c"
    )
    return events.decode(events.encode(built))


def reviewed(decision: str, fid: str = NEW, cluster: str = FIRST) -> events.Event:
    data = {
        "feedback_id": fid,
        "similar_to": cluster,
        "cluster_id": cluster,
        "decision": decision,
        "department_id": "dinas-pupr",
        "reviewed_at": "2026-12-02T05:00:00.000Z",
    }
    built = events.build(
        "intake", "feedback.duplicate_reviewed", data, subject=fid, correlation_id="c"
    )
    return events.decode(events.encode(built))


def projected(*evs, received: bool = True) -> dict:
    """A me-too case's projection after these events (as MongoDB would apply the updates)."""
    doc: dict = {"_id": NEW, "received": received, "submitted_at": "2026-12-02T02:59:00.000Z"}
    for ev in evs:
        make = (
            clusters.on_duplicate_suspected
            if ev.type == "feedback.duplicate_suspected"
            else clusters.on_duplicate_reviewed
        )
        _, update = make(ev)
        doc.update(update.get("$set", {}))
        for field, value in update.get("$addToSet", {}).items():
            doc[field] = sorted({*doc.get(field, []), value})
    return doc


# ---------------------------------------------------------------- links and counts


def test_a_link_counts_one_member_of_its_cluster_and_one_me_too_case():
    doc = projected(suspected())
    counts = projections.contribution(doc)
    assert counts[f"c:{FIRST}|members"] == 1
    assert counts["duplicates.me_too"] == 1
    (cell_me_too,) = [n for k, n in counts.items() if k.startswith("d:") and k.endswith(".me_too")]
    assert cell_me_too == 1
    assert f"c:{FIRST}|confirmed" not in counts


def test_an_undone_link_counts_down_once_whatever_the_order_and_repeats():
    linked = projections.contribution(projected(suspected()))
    undone = projections.contribution(projected(suspected(), reviewed("undone")))
    delta = projections.count_delta(linked, undone)
    assert delta[f"c:{FIRST}|members"] == -1 and delta["duplicates.me_too"] == -1
    # the review first, then the link, then both again: the same contribution
    again = projected(reviewed("undone"), suspected(), reviewed("undone"), suspected())
    assert projections.contribution(again) == undone
    assert not any(k.startswith("c:") for k in undone)


def test_a_confirmed_link_counts_as_confirmed_until_undone():
    confirmed = projections.contribution(projected(suspected(), reviewed("confirmed")))
    assert confirmed[f"c:{FIRST}|members"] == 1 and confirmed[f"c:{FIRST}|confirmed"] == 1
    both = projections.contribution(
        projected(suspected(), reviewed("confirmed"), reviewed("undone"))
    )
    assert not any(k.startswith("c:") for k in both)


def test_a_link_counts_in_its_cluster_before_the_case_was_received():
    counts = projections.contribution(projected(suspected(), received=False))
    assert counts == {f"c:{FIRST}|members": 1}


def test_a_case_without_a_link_contributes_as_before():
    plain = {"received": True, "status": "received"}
    assert projections.contribution(plain) == {"total": 1, "by_status.received": 1}
    assert projections.me_too_link({"me_too": {"cluster_id": None}}) is None


@pytest.mark.parametrize("field", ["feedback_id", "cluster_id", "similar_to"])
@pytest.mark.parametrize("bad", ["SU-1.2", "a|b", "$x", "k=1", "x:y"])
def test_an_id_that_cannot_key_a_cluster_is_an_invalid_message(field, bad):
    with pytest.raises(InvalidMessage, match=field):
        clusters.on_duplicate_suspected(suspected(**{field: bad}))
    if field != "similar_to":
        with pytest.raises(InvalidMessage, match=field):
            clusters.checked({**reviewed("undone").data, field: bad})


def test_the_link_in_the_projection():
    query, update = clusters.on_duplicate_suspected(suspected())
    assert query == {"_id": NEW}
    assert update["$set"]["me_too"] == {
        "cluster_id": FIRST,
        "similar_to": FIRST,
        "suspected_at": "2026-12-02T03:00:00.000Z",
    }
    assert update["$setOnInsert"] == {"status": "received", "revision": 0, "status_seq": 0}
    _, undo = clusters.on_duplicate_reviewed(reviewed("undone"))
    assert undo["$addToSet"] == {"me_too_undone": FIRST}
    _, keep = clusters.on_duplicate_reviewed(reviewed("confirmed"))
    assert keep["$addToSet"] == {"me_too_confirmed": FIRST}


# ---------------------------------------------------------------- notes


def test_a_note_lists_the_cluster_in_its_city_month_and_keeps_the_first_submission():
    # 30 Nov 18:00 UTC is 1 Dec 01:00 in Pekalongan
    data = suspected(suspected_at="2026-11-30T18:00:00Z", kelurahan=" panjang  WETAN").data
    found = clusters.note(data, "2026-11-29T10:00:00+07:00")
    assert found.listing == "2026-12|roads"
    assert found.first_seen == "2026-11-29T03:00:00.000Z"  # normalized to UTC, comparable
    assert found.seen == "2026-11-30T18:00:00.000Z"
    assert found.origin == f"2026-11-30T18:00:00.000Z|{NEW}"
    assert found.place == {
        "category": "roads",
        "kelurahan": "Panjang Wetan",
        "department_id": "dinas-pupr",
    }
    # the first case unknown (not projected yet): the link's time
    assert clusters.note(data, None).first_seen == found.seen
    # a place the city does not know is not published
    assert clusters.note({**data, "kelurahan": "Jl. Merdeka 5"}, None).place["kelurahan"] is None


def test_a_note_without_a_time_is_an_invalid_message():
    with pytest.raises(InvalidMessage, match="suspected_at"):
        clusters.note(suspected(suspected_at="yesterday").data, None)


# ---------------------------------------------------------------- the hotspot list


def cluster(cid: str, members: int, **fields) -> dict:
    return {
        "_id": cid,
        "members": members,
        "category": "roads",
        "kelurahan": "Panjang Wetan",
        "department_id": "dinas-pupr",
        "first_seen": "2026-12-01T01:00:00.000Z",
        "last_seen": "2026-12-02T01:00:00.000Z",
        **fields,
    }


def load(**args) -> dict:
    return clusters.ClusterQuery().load({k: str(v) for k, v in args.items()})


def test_the_largest_clusters_first_then_the_latest_seen():
    docs = [
        cluster("SU-A", 1),
        cluster("SU-B", 3),
        cluster("SU-C", 1, last_seen="2026-12-02T09:00:00.000Z"),
        cluster("SU-D", 0),  # every link undone: a case of its own
        cluster("SU-E", 4, kelurahan="Degayu", category="flooding"),
    ]
    count, rows = clusters.top(docs, load(), START, TODAY)
    assert count == 4
    assert [(r["cluster_id"], r["size"]) for r in rows] == [
        ("SU-E", 5),
        ("SU-B", 4),
        ("SU-C", 2),
        ("SU-A", 2),
    ]
    assert set(rows[0]) == {
        "cluster_id",
        "size",
        "confirmed",
        "category",
        "department",
        "kelurahan",
        "kecamatan",
        "first_seen",
        "last_seen",
    }
    assert rows[0]["kecamatan"] == "Pekalongan Utara"  # from shared/data/wilayah.yaml

    count, rows = clusters.top(docs, load(min_size=4, limit=1), START, TODAY)
    assert count == 2 and [r["cluster_id"] for r in rows] == ["SU-E"]
    _, rows = clusters.top(docs, load(kelurahan="degayu"), START, TODAY)
    assert [r["cluster_id"] for r in rows] == ["SU-E"]
    _, rows = clusters.top(docs, load(kecamatan="Pekalongan Utara", category="roads"), START, TODAY)
    assert [r["cluster_id"] for r in rows] == ["SU-B", "SU-C", "SU-A"]


def test_only_clusters_seen_in_the_period():
    docs = [
        cluster("SU-OLD", 2, first_seen="2026-10-01T01:00:00Z", last_seen="2026-10-03T01:00:00Z"),
        cluster("SU-SPAN", 2, first_seen="2026-10-01T01:00:00Z", last_seen="2026-11-20T01:00:00Z"),
        # 1 Dec 20:00 UTC is 2 Dec in the city: in a period that ends on 1 Dec it is not
        cluster("SU-NEW", 2, first_seen="2026-12-01T20:00:00Z", last_seen="2026-12-01T20:00:00Z"),
    ]
    _, rows = clusters.top(docs, load(), date(2026, 11, 1), date(2026, 12, 1))
    assert [r["cluster_id"] for r in rows] == ["SU-SPAN"]


def test_the_period_s_index_documents():
    query = load(category="roads")
    assert clusters.index_ids(query, date(2026, 11, 20), date(2026, 12, 2)) == [
        "2026-11|roads",
        "2026-12|roads",
    ]
    everything = clusters.index_ids(load(), date(2026, 12, 1), date(2026, 12, 2))
    assert len(everything) == len(clusters.TAXONOMY.category_ids)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"min_size": "1"}, "min_size"),
        ({"min_size": "two"}, "min_size"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"category": "potholes"}, "category"),
        ({"department": "nobody"}, "department"),
        ({"from": "2026-12-02", "to": "2026-12-01"}, "from"),
        ({"from": "2020-01-01", "to": "2026-12-01"}, "from"),
        ({"to": "tomorrow"}, "to"),
        ({"kelurahan": ""}, "kelurahan"),
        ({"interval": "day"}, "interval"),  # not a parameter of this report
    ],
)
def test_a_bad_query_names_its_field(args, field):
    with pytest.raises(ValidationError) as raised:
        clusters.ClusterQuery().load(args)
    assert field in raised.value.messages


def test_the_query_s_defaults():
    assert clusters.ClusterQuery().load({}) == {
        "from_": None,
        "to": None,
        "min_size": 2,
        "limit": 20,
    }


# ---------------------------------------------------------------- summary and forum


def test_the_summary_and_the_forum_report_count_the_me_too_cases():
    shards = [{"total": 3, "duplicates": {"me_too": 2}}, {"total": 1}]
    assert projections.summary_from_counters(shards)["me_too"] == 2
    doc = projected(suspected())
    cells = [(projections.parse_cell(projections.cell(doc)), projections.cell_metrics(doc))]
    assert reports.summary(cells)["me_too"] == 1
    built = forum.build(cells, [], [])
    assert built["me_too"] == 1 and built["themes"][0]["me_too"] == 1
