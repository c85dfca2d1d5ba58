"""``suara replay`` tells the "me too" links as the live events did (issue 15): categorization
a link not undone (``feedback.duplicate_suspected``), intake a department's review of one
(``feedback.duplicate_reviewed``)."""

from datetime import UTC, datetime

from services.categorization import assignment, triage
from services.categorization import replay as categorization_replay
from services.intake import replay as intake_replay
from shared import events

AT = datetime(2026, 12, 3, 8, 30, tzinfo=UTC)


def _decision(duplicates):
    decision = triage.Decision(
        category="flooding",
        confidence=0.9,
        department="BPBD",
        priority="normal",
        urgency_reasons=[],
        language="id",
        model_version="v",
    )
    return assignment.new_assignment(
        "SU-B", "gorong2 mampet", decision, correlation_id="c", now=AT, duplicates=duplicates
    )


def _types(found):
    return [event["type"].removeprefix(events.TYPE_PREFIX) for event in found]


def test_a_link_is_replayed_with_the_time_it_was_made():
    link = {"checked": True, "similar_to": "SU-A", "cluster_id": "SU-A", "similarity": 0.8}
    found = categorization_replay.events_of(_decision(link))
    assert _types(found) == ["feedback.categorized", "feedback.duplicate_suspected"]
    suspected = found[1]["data"]
    assert (suspected["similar_to"], suspected["cluster_id"]) == ("SU-A", "SU-A")
    assert suspected["suspected_at"] == "2026-12-03T08:30:00.000Z"
    assert found[0]["data"]["similar_to"] == "SU-A"
    # the live event staged at the decision tells the same time
    staged = [e["event"] for e in _decision(link)["outbox"]]
    assert staged[-1]["data"]["suspected_at"] == suspected["suspected_at"]


def test_no_link_or_an_undone_one_is_not_replayed():
    undone = {"checked": True, "cluster_id": "SU-B", "similar_to": None, "undone": True}
    for duplicates in (None, undone):
        assert _types(categorization_replay.events_of(_decision(duplicates))) == [
            "feedback.categorized"
        ]


def _case(link):
    return {
        "_id": "SU-B",
        "channel": "web",
        "text": "gorong2 mampet",
        "created_at": AT,
        "updated_at": AT,
        "history": [],
        "department_id": "bpbd",
        "similar_to": "SU-A",
        "cluster_id": "SU-A",
        "duplicate_link": link,
    }


def test_a_reviewed_link_is_replayed_by_intake():
    for state in ("confirmed", "undone"):
        link = {"state": state, "reviewed_by": "bpbd", "reviewed_at": AT}
        found = intake_replay.events_of(_case(link))
        assert _types(found) == ["feedback.received", "feedback.duplicate_reviewed"]
        data = found[-1]["data"]
        assert (data["decision"], data["similar_to"], data["cluster_id"]) == (state, "SU-A", "SU-A")
        assert data["reviewed_at"] == "2026-12-03T08:30:00.000Z"
    suspected = {"state": "suspected"}
    assert _types(intake_replay.events_of(_case(suspected))) == ["feedback.received"]
