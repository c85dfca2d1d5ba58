"""The "me too" link (issue 15), pure: its rules (services/intake/duplicates.py), the changes
intake makes of it (feedback.py), what the citizen and the department see, and what
notification tells a follower's citizen."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from services.intake import duplicates, feedback, lifecycle, pages, sla
from services.notification import deliveries, messages
from shared import events, quiet, workcalendar

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
POLICY = sla.Policy(
    workcalendar.calendar("Asia/Jakarta", "mon-sun", "00:00-24:00", None),
    reopen_window=timedelta(days=14),
)
PRIMARY, ME_TOO = "SU-0000000001", "SU-0000000002"


def case(fid: str = ME_TOO, status: str = "categorized", **fields) -> dict:
    return {
        "_id": fid,
        "status": status,
        "channel": "http",
        "department": "BPBD",
        "department_id": "bpbd",
        "category": "flooding",
        "priority": "normal",
        "created_at": NOW - timedelta(hours=1),
        "updated_at": NOW,
        "due_at": NOW + timedelta(hours=20),
        "version": 3,
        "status_seq": 1,
        **fields,
    }


def linked(state: str = "suspected", **fields) -> dict:
    link = {"state": state, "similarity": 0.8, "distance_m": 20.0, "suspected_at": "x"}
    return case(similar_to=PRIMARY, cluster_id=PRIMARY, duplicate_link=link, **fields)


@pytest.mark.parametrize(
    ("state", "decision", "changes"),
    [("suspected", "confirmed", True), ("suspected", "undone", True)]
    + [("confirmed", "confirmed", False), ("undone", "undone", False)],
)
def test_a_suspected_link_is_reviewed_and_a_repeat_changes_nothing(state, decision, changes):
    assert duplicates.check_review(linked(state), decision) is changes


@pytest.mark.parametrize(
    ("record", "decision"),
    [(case(), "confirmed"), (linked("lapsed"), "undone")]
    + [(linked("confirmed"), "undone"), (linked("undone"), "confirmed")],
)
def test_no_link_or_the_other_decision_is_refused(record, decision):
    with pytest.raises(duplicates.LinkRefused):
        duplicates.check_review(record, decision)


def test_followers_are_the_set_in_order_capped_and_never_the_case_itself():
    many = [f"SU-{n:010d}" for n in range(3, 1203)]
    record = case(PRIMARY, me_too=[ME_TOO, PRIMARY, *many])
    found = duplicates.followers(record)
    assert found[0] == ME_TOO and PRIMARY not in found
    assert len(found) == duplicates.FOLLOWERS_CAP == 1000
    # the contract takes it
    assert events.FeedbackStatusChanged().validate({"followers": found}).get("followers") is None


def test_a_me_too_case_joins_only_an_open_primary_and_only_while_it_is_open():
    assert duplicates.may_join(case(PRIMARY), case())
    assert not duplicates.may_join(None, case())
    assert not duplicates.may_join(case(PRIMARY, "closed"), case())
    assert not duplicates.may_join(case(PRIMARY), case(status="rejected"))
    assert not duplicates.may_join(case(PRIMARY), case(PRIMARY))


def test_the_suspicion_is_recorded_once():
    data = {
        "similar_to": PRIMARY,
        "cluster_id": PRIMARY,
        "similarity": 0.9,
        "distance_m": None,
        "suspected_at": "2026-12-02T02:59:00.000Z",
    }
    query, update, staged = feedback.duplicate_suspicion(case(), data, "suspected", NOW)
    assert query == {"_id": ME_TOO, "version": 3} and staged == []
    assert update["$set"]["duplicate_link"]["state"] == "suspected"
    assert update["$set"]["similar_to"] == PRIMARY
    assert feedback.duplicate_suspicion(linked("undone"), data, "suspected", NOW) is None


def test_confirming_moves_a_working_case_to_duplicate_and_announces_both():
    query, update, staged = feedback.duplicate_review(
        linked(), "confirmed", "bpbd", "department", NOW
    )
    kinds = [e["event"]["type"].rsplit(".", 2)[-2:] for e in staged]
    assert kinds == [["feedback", "status_changed"], ["feedback", "duplicate_reviewed"]]
    moved, reviewed = (e["event"]["data"] for e in staged)
    assert (moved["to"], moved["duplicate_of"], moved["sequence"]) == ("duplicate", PRIMARY, 2)
    assert reviewed == {
        "feedback_id": ME_TOO,
        "similar_to": PRIMARY,
        "cluster_id": PRIMARY,
        "decision": "confirmed",
        "department_id": "bpbd",
        "reviewed_at": "2026-12-02T03:00:00.000Z",
    }
    assert update["$set"]["status"] == "duplicate"
    assert update["$set"]["duplicate_link"]["reviewed_by"] == "bpbd"


def test_confirming_a_resolved_case_records_the_link_without_a_move():
    _, update, staged = feedback.duplicate_review(
        linked(status="resolved"), "confirmed", "bpbd", "department", NOW
    )
    assert [e["event"]["data"].get("decision") for e in staged] == ["confirmed"]
    assert "status" not in update["$set"]


def test_undone_announces_the_review_only():
    _, update, staged = feedback.duplicate_review(linked(), "undone", "ops", "admin", NOW)
    assert [e["event"]["data"]["decision"] for e in staged] == ["undone"]
    assert update["$set"]["duplicate_link"]["state"] == "undone"


def test_a_linked_me_too_case_is_hidden_without_a_deadline_and_undone_gets_both_back():
    entry = feedback.worklist_entry(linked(), POLICY)
    assert (entry["hidden"], entry["wake_at"], entry["link_state"]) == (True, None, "suspected")
    entry = feedback.worklist_entry(linked("undone"), POLICY)
    assert entry["hidden"] is False and entry["wake_at"] is not None
    primary = feedback.worklist_entry(case(PRIMARY, me_too=[ME_TOO], me_too_count=1), POLICY)
    item = feedback.case_item(primary)
    assert (item["me_too_count"], item["me_too"], item["duplicate_link"]) == (1, [ME_TOO], None)


def test_the_status_change_of_a_primary_names_its_followers():
    _, _, (event,) = feedback.status_change(
        case(PRIMARY, me_too=[ME_TOO]), lifecycle.Move("acknowledged"), "bpbd", "department", NOW
    )
    assert event["event"]["data"]["followers"] == [ME_TOO]


def test_the_citizen_is_told_the_primary_and_its_state_only_while_linked():
    primary = case(PRIMARY, "in_progress", me_too=[ME_TOO], me_too_count=1)
    view = feedback.public_view(linked(), primary)
    assert view["already_reported"] == {
        "id": PRIMARY,
        "status": "in_progress",
        "department": "BPBD",
        "department_id": "bpbd",
        "link": "suspected",
        "links": {"self": f"/api/v1/feedback/{PRIMARY}", "track": f"/track/{PRIMARY}"},
    }
    assert feedback.public_view(linked("undone"), primary)["already_reported"] is None
    assert feedback.public_view(primary)["me_too_count"] == 1
    assert "me_too" not in feedback.public_view(primary)  # the ids are for staff
    staff = feedback.staff_view(linked(), primary)
    assert (staff["similar_to"], staff["duplicate_link"]["state"]) == (PRIMARY, "suspected")


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("id", ["sudah dilaporkan sebagai", "Sedang dikerjakan", "ditindaklanjuti oleh BPBD"]),
        ("en", ["already reported as", "In progress", "being followed by BPBD"]),
    ],
)
def test_the_track_page_says_it_is_reported_already(lang, words):
    primary = case(PRIMARY, "in_progress", department="BPBD <b>", me_too=[ME_TOO])
    view = feedback.public_view(linked(), {**primary, "department": "BPBD"})
    context = pages.track_context(view, lang, token_ok=True, may_reopen=False)
    html = pages.render(
        "track.html",
        lang,
        token="t",
        csrf="c",
        notice=None,
        problem=None,
        photos=[],
        text="banjir",
        **context,
    )
    assert 'id="already-reported"' in html and PRIMARY in html
    for word in words:
        assert word in html
    escaped = feedback.public_view(linked(), primary)
    context = pages.track_context(escaped, lang, token_ok=True, may_reopen=False)
    html = pages.render(
        "track.html",
        lang,
        token="t",
        csrf="c",
        notice=None,
        problem=None,
        photos=[],
        text="x",
        **context,
    )
    assert "BPBD &lt;b&gt;" in html and "BPBD <b>" not in html
    plain = pages.track_context(feedback.public_view(case()), lang, token_ok=True, may_reopen=False)
    html = pages.render(
        "track.html",
        lang,
        token="t",
        csrf="c",
        notice=None,
        problem=None,
        photos=[],
        text="x",
        **plain,
    )
    assert 'id="already-reported"' not in html


# ---------------------------------------------------------------- notification


def status_changed(followers: list[str], actor: str = "department") -> events.Event:
    data = {
        "feedback_id": PRIMARY,
        "from": "acknowledged",
        "to": "in_progress",
        "department_id": "bpbd",
        "note": "pompa dipasang",
        "duplicate_of": None,
        "sequence": 3,
        "changed_at": "2026-12-02T03:00:00.000Z",
        "actor": actor,
        "followers": followers,
    }
    built = events.build(
        "intake", "feedback.status_changed", data, subject=PRIMARY, correlation_id="c"
    )
    return events.decode(
        events.encode(built), expected=events.spec("intake", "feedback.status_changed")
    )


def test_each_follower_hears_the_move_once_on_its_own_case():
    other = "SU-0000000003"
    planned = deliveries.plan(status_changed([ME_TOO, other, ME_TOO, PRIMARY]), NOW)
    ids = [d["_id"] for d in planned]
    assert ids == [
        f"{PRIMARY}:status.3:citizen",
        f"{ME_TOO}:followed.{PRIMARY}.3:citizen",
        f"{other}:followed.{PRIMARY}.3:citizen",
    ]
    follower = planned[1]
    assert (follower["feedback_id"], follower["audience"], follower["recipient"]) == (
        ME_TOO,
        "citizen",
        "citizen",
    )
    assert (follower["followed_id"], follower["case_status"]) == (PRIMARY, "in_progress")
    assert [d["_id"] for d in deliveries.plan(status_changed([ME_TOO]), NOW)][1:] == ids[1:2]
    # the primary's citizen's own move goes to the department, and to the followers
    own = deliveries.plan(status_changed([ME_TOO], actor="citizen"), NOW)
    assert [d["audience"] for d in own] == ["department", "citizen"]
    assert deliveries.plan(status_changed([]), NOW)[1:] == []


def test_a_follower_is_held_by_quiet_hours_like_any_status_message():
    assert messages.kind_of(f"followed.{PRIMARY}.3") == "followed"
    assert quiet.held(f"followed.{PRIMARY}.3")


@pytest.mark.parametrize(
    ("lang", "subject", "said"),
    [
        ("id", f"Laporan {PRIMARY} (sama dengan laporan Anda {ME_TOO}): sedang dikerjakan", "kini"),
        ("en", f"Report {PRIMARY} (the same as your report {ME_TOO}): in progress", "is now"),
    ],
)
def test_the_followers_mail_names_both_reports(lang, subject, said):
    values = {
        "id": ME_TOO,
        "followed": PRIMARY,
        "status": "in_progress",
        "note": "pompa <b>dipasang</b>",
        "track": f"https://suara.example/track/{ME_TOO}?token=t",
        "unsubscribe": "https://suara.example/unsubscribe/h?token=u",
    }
    mail = messages.citizen_mail(f"followed.{PRIMARY}.3", lang, values)
    assert mail.subject == subject
    assert PRIMARY in mail.text and ME_TOO in mail.text and values["track"] in mail.text
    assert "&lt;b&gt;" in mail.html and "<b>dipasang" not in mail.html
    line = messages.reply_text(f"followed.{PRIMARY}.3", lang, values)
    assert PRIMARY in line and len(line) <= messages.REPLY_LIMIT
    params = messages.reply_template_params(f"followed.{PRIMARY}.3", lang, values)
    assert params[0] == ME_TOO and said in params[1] and PRIMARY in params[1]


def test_a_suspected_link_hides_the_case_only_from_the_similarity_set():
    sure, unsure = linked(), linked()
    sure["duplicate_link"]["similarity"], unsure["duplicate_link"]["similarity"] = 0.9, 0.6
    assert duplicates.hidden_in_lists(sure, 0.8) and not duplicates.hidden_in_lists(unsure, 0.8)
    assert duplicates.hidden_in_lists(unsure)  # 0: every suspected link hides its case
    unsure["duplicate_link"]["state"] = "confirmed"  # a department said so
    assert duplicates.hidden_in_lists(unsure, 0.8)
    assert not duplicates.hidden_in_lists(linked("undone"), 0.0)
    assert not duplicates.hidden_in_lists(linked(status="rejected"), 0.0)  # final anyway


def test_an_unsure_me_too_case_keeps_its_own_deadline_and_stays_listed():
    unsure = linked(due_at=datetime(2026, 12, 9, tzinfo=UTC))
    unsure["duplicate_link"]["similarity"] = 0.6
    policy = dataclasses.replace(POLICY, me_too_hidden_from=0.8)
    entry = feedback.worklist_entry(unsure, policy)
    assert entry["hidden"] is False and entry["wake_at"] is not None
    assert feedback.worklist_entry(unsure, POLICY)["hidden"] is True
