"""A department works its case to the end (issue 10, first part of the lifecycle)."""

from tests.helpers import wait_for

PUPR = {"X-API-Key": "pupr-secret"}
BPBD = {"X-API-Key": "bpbd-secret"}


def move(client, feedback_id, headers, **body):
    return client.http.post(
        client.url("intake", f"/api/v1/feedback/{feedback_id}/status"),
        json=body,
        headers=headers,
        timeout=10,
    )


def test_a_department_moves_its_case_to_resolved_and_everyone_sees_it(client, native):
    before = client.summary()["by_status"].get("resolved", 0)
    r = client.submit("Jalan berlubang besar di Jl. Dr. Wahidin depan pasar, bahaya motor")
    feedback_id = r.json()["id"]
    fb = client.wait_status(feedback_id)
    assert fb["department_id"] == "dinas-pupr"

    assert move(client, feedback_id, {}, status="acknowledged").status_code == 401
    assert move(client, feedback_id, BPBD, status="acknowledged").status_code == 403
    r = move(
        client,
        feedback_id,
        PUPR,
        status="acknowledged",
        note="cek CCTV dulu",
        note_visibility="internal",
    )
    assert r.status_code == 200, r.text
    assert r.json()["history"][-1]["note"] == "cek CCTV dulu"  # staff see internal notes
    assert move(client, feedback_id, PUPR, status="in_progress").status_code == 200

    refused = move(client, feedback_id, PUPR, status="acknowledged")
    assert refused.status_code == 409
    assert refused.json()["allowed"] == ["resolved", "rejected", "duplicate"]
    incomplete = move(client, feedback_id, PUPR, status="resolved")
    assert incomplete.status_code == 400 and "note" in incomplete.json()["fields"]
    bad = move(client, feedback_id, PUPR, status="fixed", colour="red")
    assert bad.status_code == 400 and {"status", "colour"} <= set(bad.json()["fields"])

    done = move(client, feedback_id, PUPR, status="resolved", note="Lubang sudah ditambal")
    assert done.status_code == 200, done.text

    public = client.feedback(feedback_id)
    assert public["status"] == "resolved"
    assert [h["status"] for h in public["history"]] == ["acknowledged", "in_progress", "resolved"]
    assert public["history"][0] == {"status": "acknowledged", "at": public["history"][0]["at"]}
    assert public["history"][-1]["note"] == "Lubang sudah ditambal"
    assert "cek CCTV" not in str(public)

    # reporting follows the case's own state
    wait_for(
        lambda: client.summary()["by_status"].get("resolved", 0) == before + 1,
        timeout=20,
        message="reporting to count the resolved case",
    )


def test_an_admin_key_moves_any_case_and_a_duplicate_must_name_a_real_case(client, native):
    a = client.submit("Lampu PJU mati di Jl. Merdeka, gelap kalau malam").json()["id"]
    b = client.submit("Lampu jalan mati di Jl. Merdeka sudah seminggu").json()["id"]
    client.wait_status(a), client.wait_status(b)
    admin = {"X-API-Key": "e2e-secret"}
    missing = move(client, b, admin, status="duplicate", duplicate_of="SU-ZZZZZZZZZZ")
    assert missing.status_code == 400 and "duplicate_of" in missing.json()["fields"]
    r = move(client, b, admin, status="duplicate", duplicate_of=a)
    assert r.status_code == 200, r.text
    assert client.feedback(b)["status"] == "duplicate"
    assert move(client, b, admin, status="in_progress").status_code == 409  # final
