"""Me too (issue 15), end to end: categorization's ``feedback.duplicate_suspected`` (published
here as categorization would, for reports without a location) links a new report to the case
it repeats; the new report's citizen sees it on their tracking page and hears the primary's
moves by e-mail (Mailpit); the department sees one case with its count, and undoes the link."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from shared import events
from tests.e2e.test_mail_out import inbox, mails_to  # noqa: F401 - inbox is a fixture
from tests.helpers import wait_for

BPBD = {"X-API-Key": "bpbd-secret"}
TEXT = "Banjir rob masuk rumah warga di Panjang Wetan, air setinggi lutut"


def publish_suspected(client, feedback_id: str, similar_to: str) -> None:
    """What categorization publishes when it finds that ``feedback_id`` repeats ``similar_to``."""
    data = {
        "feedback_id": feedback_id,
        "similar_to": similar_to,
        "cluster_id": similar_to,
        "similarity": 0.86,
        "distance_m": 40.0,
        "kelurahan": "Panjang Wetan",
        "category": "flooding",
        "department_id": "bpbd",
        "suspected_at": events.now_iso(),
    }
    event = events.build(
        "categorization",
        "feedback.duplicate_suspected",
        data,
        subject=feedback_id,
        correlation_id=f"me-too-{feedback_id}",
    )
    client.publish(
        "categorization.events",
        "feedback.duplicate_suspected",
        json.dumps(event).encode(),
        events.CONTENT_TYPE,
    )


# The link here is one categorization never made (its reports have no location, so it runs no
# check): the test undoes it, so a replay of reporting (test_replay.py) still tells what the
# live events told. A link left standing would be counted live and not by the replay.
def report(client, address: str) -> dict:
    # no location: categorization runs no check of its own (test_me_too_clusters.py covers it),
    # so the link is the one this test publishes, not one to another test's case nearby
    r = client.submit(TEXT, contact={"name": "Warga", "email": address, "language": "en"})
    assert r.status_code == 201, r.text
    return r.json()


def staff(client, feedback_id: str) -> dict:
    r = client.http.get(
        client.url("intake", f"/api/v1/feedback/{feedback_id}"), headers=BPBD, timeout=10
    )
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.usefixtures("inbox")
def test_a_me_too_citizen_follows_the_primary_and_the_department_sees_one_case(client):
    first, second = (f"warga-{uuid.uuid4().hex[:10]}@example.id" for _ in range(2))
    primary = report(client, first)["id"]
    receipt = report(client, second)
    me_too = receipt["id"]
    for fid in (primary, me_too):
        assert client.wait_status(fid)["department_id"] == "bpbd"

    for _ in range(2):  # delivered twice: counted once
        publish_suspected(client, me_too, primary)
    wait_for(
        lambda: staff(client, me_too)["similar_to"] == primary,
        timeout=30,
        message="intake to link the me-too case",
    )
    wait_for(lambda: staff(client, primary)["me_too"] == [me_too], timeout=30)
    assert staff(client, primary)["me_too_count"] == 1
    listed = client.cases(BPBD).json()["cases"]
    assert primary in {c["id"] for c in listed} and me_too not in {c["id"] for c in listed}
    assert me_too in {c["id"] for c in client.cases(BPBD, include_me_too="true").json()["cases"]}

    # the citizen sees that it is reported already, and followed
    page = requests.get(
        client.url("intake", receipt["links"]["track"]),
        headers={"Accept-Language": "en"},
        timeout=10,
    )
    assert page.status_code == 200
    assert f"already reported as {primary} and being followed by BPBD" in page.text
    assert client.feedback(me_too)["already_reported"]["id"] == primary

    # the primary moves: its followers' citizens hear it too, once
    assert client.move(primary, BPBD, status="acknowledged").status_code == 200
    subject = f"Report {primary} (the same as your report {me_too}): acknowledged"
    wait_for(
        lambda: [m for m in mails_to(second) if m["Subject"] == subject],
        timeout=30,
        message="the follower's mail",
    )
    followed = [d for d in client.deliveries(me_too) if d["kind"].startswith("followed.")]
    assert [(d["kind"], d["status"]) for d in followed] == [(f"followed.{primary}.1", "sent")]
    assert not [m for m in mails_to(first) if "the same as your report" in m["Subject"]]

    # undone: the case stands on its own, and hears the primary no more
    r = client.post(f"/api/v1/feedback/{me_too}/duplicate", {"decision": "undone"}, BPBD)
    assert r.status_code == 200, r.text
    assert r.json()["duplicate_link"]["state"] == "undone"
    assert staff(client, primary)["me_too_count"] == 0
    assert me_too in {c["id"] for c in client.cases(BPBD).json()["cases"]}
    assert client.move(primary, BPBD, status="in_progress").status_code == 200
    wait_for(
        lambda: any(
            d["kind"] == "status.2" and d["status"] == "sent" for d in client.deliveries(primary)
        ),
        timeout=30,
    )
    assert [d["kind"] for d in client.deliveries(me_too) if d["kind"].startswith("followed.")] == [
        f"followed.{primary}.1"
    ]
    assert client.feedback(me_too)["already_reported"] is None
