"""The forum report's samples and report against the real FerretDB: a month's sample of a
category never holds more than its cap, a repeated event adds nothing, and the report reads
the period's cells and samples (services/reporting/store.py, forum_report.py)."""

from __future__ import annotations

import random
import threading
from datetime import date

from services.reporting import forum, forum_report, projections, store
from shared import events

TODAY = date(2026, 12, 2)
TEXTS = {
    "flooding": "Banjir rob setinggi lutut di gang {n}, air masuk rumah, hubungi 081234567890",
    "waste": "Sampah menumpuk di TPS pasar {n}, bau sekali, e-mail warga{n}@contoh.id",
}


def event(service, event_type, data):
    built = events.build(service, event_type, data, subject=data["feedback_id"], correlation_id="f")
    return events.decode(events.encode(built), expected=events.spec(service, event_type))


def received(fid: str, text: str, kelurahan: str, submitted_at: str):
    return event(
        "intake",
        "feedback.received",
        {
            "feedback_id": fid,
            "channel": "web",
            "text": text,
            "language": "id",
            "location": {"kecamatan": "Pekalongan Utara", "kelurahan": kelurahan},
            "submitted_at": submitted_at,
        },
    )


def categorized(fid: str, category: str):
    return event(
        "categorization",
        "feedback.categorized",
        {
            "feedback_id": fid,
            "category": category,
            "department": "dlh" if category == "waste" else "bpbd",
            "department_id": "dlh" if category == "waste" else "bpbd",
            "confidence": 0.9,
            "priority": "normal",
            "method": "model",
            "revision": 1,
            "categorized_at": "2026-12-02T01:01:00.000Z",
        },
    )


def submit(db, fid: str, category: str, text: str, kelurahan: str = "Bandengan", at=None):
    """What reporting's handlers do with a case's two events (service.py)."""
    store.apply(
        db, projections.on_received(received(fid, text, kelurahan, at or "2026-12-02T01:00:00Z"))
    )
    cat = categorized(fid, category)
    store.apply(db, projections.on_categorized(cat))
    return store.sample_case(db, cat.data)


def test_a_sample_holds_the_lowest_ranked_cases_and_a_repeat_adds_nothing(db, monkeypatch):
    monkeypatch.setattr(forum, "SAMPLE_CAP", 5)
    ids = [f"fb-{n:03d}" for n in range(30)]
    work = ids + ids[::3]  # some twice
    random.Random(5).shuffle(work)
    lanes = [work[i::3] for i in range(3)]
    threads = [
        threading.Thread(
            target=lambda lane: [
                submit(db, fid, "flooding", TEXTS["flooding"].format(n=fid)) for fid in lane
            ],
            args=(lane,),
        )
        for lane in lanes
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    expected = sorted(ids, key=forum.sample_entry)[:5]  # whatever the order and the writers
    assert store.sampled_ids(db, ["2026-12|flooding"]) == {"2026-12|flooding": expected}
    assert store.sample_case(db, categorized(expected[0], "flooding").data) is True  # a repeat
    assert store.sample_case(db, categorized("fb-new-high", "flooding").data) is (
        forum.sample_entry("fb-new-high") < forum.sample_entry(expected[-1])
    )
    doc = db.forum_samples.find_one({"_id": "2026-12|flooding"})
    assert len(doc["entries"]) == 5


def test_the_forum_report_from_the_buckets_and_the_samples(db):
    for n in range(4):
        submit(db, f"fl-{n}", "flooding", TEXTS["flooding"].format(n=n))
    for n in range(2):
        submit(db, f"ws-{n}", "waste", TEXTS["waste"].format(n=n))
    submit(db, "elsewhere", "waste", TEXTS["waste"].format(n=9), kelurahan="Tirto")
    submit(db, "last-month", "flooding", "Banjir bulan lalu", at="2026-11-30T01:00:00Z")
    args = {"kelurahan": "Bandengan", "from": "2026-12-02", "to": "2026-12-02"}
    report = forum_report.report(db, args, now=TODAY)
    assert report["period"] == {"from": "2026-12-02", "to": "2026-12-02", "kelurahan": "Bandengan"}
    assert report["compared_with"] == {"from": "2026-12-01", "to": "2026-12-01"}
    assert report["total"] == 6
    themes = {t["category"]: t for t in report["themes"]}
    assert set(themes) == {"flooding", "waste"}
    assert themes["flooding"]["cases"] == 4 and themes["waste"]["cases"] == 2
    assert themes["flooding"]["areas"][0]["kecamatan"] == "Pekalongan Utara"
    assert themes["flooding"]["sampled_texts"] == 4  # not last month's, nor Tirto's
    assert themes["waste"]["sampled_texts"] == 2
    assert len(themes["flooding"]["representative_texts"]) == 3
    words = [t["term"] for t in themes["flooding"]["terms"]]
    assert "banjir" in words and "phone" not in words
    shown = " ".join(r["text"] for t in themes.values() for r in t["representative_texts"])
    assert "081234567890" not in shown and "@contoh.id" not in shown  # redacted here too
    assert "[phone]" in shown and "[email]" in shown

    # the month before: the trend of a period that starts on the 1st
    month = forum_report.report(db, {"from": "2026-12-01", "to": "2026-12-31"}, now=TODAY)
    flooding = next(t for t in month["themes"] if t["category"] == "flooding")
    assert flooding["trend"] == {"previous": 1, "change": 3, "ratio": 4.0}
