"""Notification SIGKILLed twice during a burst of 200 status changes (issue 12): each citizen's
mail and each integrator's webhook arrives, none is lost, and none is sent twice beyond the
documented window, counted where they land: Mailpit's SMTP inbox and the webhook receiver.

What "twice" may mean here, from services/notification/handlers.py: a delivery is claimed
(``recorded`` -> ``sending``) before it is sent and settled (``sent``) after, and only a
``recorded`` delivery or one whose claim is older than store.SENDING_LEASE_S (45 s) is claimed.
A process killed after claiming leaves the claim to lapse: the redelivered event (or job) sees
it ``sending`` and schedules a look-again job for when it lapses, which sends it. A process
killed after the relay accepted the mail (or the receiver answered 2xx) and before the settling
write sends it once more, then. So a repeat is possible only for a delivery that was inside
that send-to-settle step at a kill: at most the handlers running at that moment (the status
events' consumer takes SUARA_MAX_WORKERS = 10 at a time; a look-again job for a mail comes 30 s
or more after its kill, so not at the next kill of this test, a few seconds later). Webhook
receivers deduplicate on ``webhook-id`` (Standard Webhooks), which a repeat keeps; a mail's
repeat keeps its Message-ID, ``<{delivery id}@{the sender's domain}>`` (services/notification/
outbound.message_id), which mail systems deduplicate on: mails are counted by it, and a repeat's
copies are told apart by when they arrived, around which kill.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
import requests

from services.notification import store
from tests.helpers import wait_for
from tests.support.client import API_KEY
from tests.support.webhooks import Receiver

INBOX = "http://127.0.0.1:8025"
ADMIN = {"X-API-Key": API_KEY}  # an admin key may move any department's case
ROADS = "Jalan berlubang besar di Jl. Dr. Wahidin depan pasar, bahaya motor"
CASES = 50
MOVES = ("acknowledged", "in_progress", "resolved", "closed")  # 4 x 50 = 200 status changes
KILL_AT = (60, 160)  # SIGKILL notification once this many moves were made
IN_FLIGHT = 10  # SUARA_MAX_WORKERS, the prefetch: messages of a queue one process handles at once
MOVERS = 8  # concurrent clients making the moves
STATE_WORDS = {  # the states' English words (services/notification/templates/citizen.yaml)
    "acknowledged": "acknowledged",
    "in_progress": "in progress",
    "resolved": "resolved",
    "closed": "closed",
}


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


@pytest.fixture
def inbox(native):
    try:
        requests.get(f"{INBOX}/api/v1/info", timeout=3).raise_for_status()
    except requests.RequestException:
        pytest.fail("Mailpit is not running: deploy/local-servers.sh start")


@pytest.fixture
def subscription(client, receiver, native):
    path = f"/crash/{uuid.uuid4().hex[:8]}"
    r = client.http.post(
        client.url("notification", "/api/v1/webhooks"),
        json={"url": receiver.url(path), "event_types": ["feedback.status_changed"]},
        headers=ADMIN,
        timeout=10,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    yield path, created["id"]
    client.http.delete(
        client.url("notification", f"/api/v1/webhooks/{created['id']}"), headers=ADMIN, timeout=10
    )


def mails_to(fragment: str) -> list[dict]:
    """Every mail in the inbox to an address containing ``fragment`` (all pages)."""
    found: list[dict] = []
    while True:
        page = requests.get(
            f"{INBOX}/api/v1/search",
            params={"query": f"to:{fragment}", "start": len(found), "limit": 500},
            timeout=10,
        )
        page.raise_for_status()
        body = page.json()
        found.extend(body["messages"])
        if not body["messages"] or len(found) >= body["messages_count"]:
            return found


def delivery_of(mail: dict) -> str:
    """The delivery id a mail carries as its Message-ID (``<{id}@domain>``, with the id's ``:``
    as ``.``): ``SU-....status.3.citizen``."""
    return mail["MessageID"].strip("<>").rsplit("@", 1)[0]


def arrived(mail: dict) -> float:
    return datetime.fromisoformat(mail["Created"]).timestamp()


def kill_after(mail: dict, kills: list[dict]) -> int | None:
    """The first kill at or after the mail arrived (the process that sent it died then)."""
    later = [i for i, k in enumerate(kills) if arrived(mail) <= k["at"]]
    return later[0] if later else None


def lapsed(delivery: dict) -> bool:
    """Was the delivery settled only after a claim lapsed (its process was killed holding it)?
    A claim is made after the delivery is recorded, and taken again SENDING_LEASE_S later."""
    created = datetime.fromisoformat(delivery["created_at"])
    settled = datetime.fromisoformat(delivery["settled_at"])
    return (settled - created).total_seconds() >= store.SENDING_LEASE_S


def status_mails(tag: str) -> dict[tuple[str, int], list[dict]]:
    """(feedback id, sequence) -> the status-change mails of this test, oldest first."""
    by_move: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for mail in mails_to(tag):
        feedback_id, kind, *rest = delivery_of(mail).split(".")
        if kind == "status":  # not the receipt (``{id}.received.citizen``)
            seq, audience = rest
            assert audience == "citizen", mail["MessageID"]
            by_move[(feedback_id, int(seq))].append(mail)
    for copies in by_move.values():
        copies.sort(key=arrived)
    return by_move


def hooks_of(receiver: Receiver, path: str) -> dict[tuple[str, int], Counter]:
    """(feedback id, sequence) -> how often each webhook-id was accepted (answered 2xx)."""
    by_move: dict[tuple[str, int], Counter] = defaultdict(Counter)
    for got in receiver.at(path):
        if 200 <= got.answered < 300:
            event = got.event
            by_move[(event["subject"], event["data"]["sequence"])][got.webhook_id] += 1
    return by_move


def test_killing_notification_mid_burst_loses_no_message_and_repeats_none(
    client, native, inbox, receiver, subscription
):
    path, webhook_id = subscription
    tag = f"crash-{uuid.uuid4().hex[:10]}"
    started = time.monotonic()

    # 50 cases of as many citizens, each told of its receipt before the burst begins
    ids = []
    for i in range(CASES):
        contact = {"name": "Warga", "email": f"{tag}-{i}@example.id", "language": "en"}
        r = client.submit(f"{ROADS} (laporan {tag}-{i})", contact=contact)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    for feedback_id in ids:
        client.wait_status(feedback_id)
    wait_for(
        lambda: sum(delivery_of(m).endswith(".received.citizen") for m in mails_to(tag)) == CASES,
        timeout=60,
        interval=0.5,
        message="every citizen's receipt mailed",
    )

    # the burst: each round moves every case one step on (8 clients); the third round waits
    # for the first restart, so that both kills fall inside the burst
    moved: list[tuple[str, int, str]] = []
    refused: list[str] = []
    lock = threading.Lock()
    first_restarted = threading.Event()

    def move(feedback_id: str, seq: int, status: str) -> None:
        note = "Ditambal hari ini" if status == "resolved" else None
        try:
            r = requests.post(
                client.url("intake", f"/api/v1/feedback/{feedback_id}/status"),
                json={"status": status, **({"note": note} if note else {})},
                headers=ADMIN,
                timeout=20,
            )
            ok = r.status_code == 200
            outcome = f"{feedback_id} -> {status}: {r.status_code} {r.text[:200]}"
        except requests.RequestException as exc:
            ok, outcome = False, f"{feedback_id} -> {status}: {exc}"
        with lock:
            if ok:
                moved.append((feedback_id, seq, status))
            else:
                refused.append(outcome)

    def burst() -> None:
        with ThreadPoolExecutor(MOVERS) as pool:
            for seq, status in enumerate(MOVES, start=1):
                if seq == 3:
                    first_restarted.wait(120)
                list(pool.map(lambda fid, s=seq, st=status: move(fid, s, st), ids))

    def made() -> int:
        with lock:
            return len(moved) + len(refused)

    mover = threading.Thread(target=burst, daemon=True)
    mover.start()
    kills: list[dict] = []
    try:
        for threshold in KILL_AT:
            wait_for(lambda t=threshold: made() >= t, timeout=120, message=f"{threshold} moves")
            pid = native.pids()["notification"]
            at_kill, moves = time.time(), made()
            native.kill_and_restart("notification")
            kills.append(
                {"at": at_kill, "moves": moves, "pid": pid, "restart_s": time.time() - at_kill}
            )
            first_restarted.set()
    finally:
        first_restarted.set()
        mover.join(180)
    assert not mover.is_alive(), "the burst did not finish"
    assert not refused, refused[:5]
    expected = {(fid, seq) for fid, seq, _ in moved}
    assert len(expected) == len(moved) == CASES * len(MOVES) == 200
    status_at = {(fid, seq): status for fid, seq, status in moved}
    # both kills hit notification's own process while the burst was under way
    assert len({k["pid"] for k in kills} | {native.pids()["notification"]}) == 3
    assert all(k["moves"] < len(expected) for k in kills), kills
    burst_done = time.monotonic()

    # every mail and every webhook arrives (a delivery the killed process held waits for its
    # claim to lapse: SENDING_LEASE_S, then the look-again job's wait tiers)
    def all_arrived():
        mails, hooks = status_mails(tag), hooks_of(receiver, path)
        return expected <= mails.keys() and expected <= hooks.keys() and (mails, hooks)

    try:
        wait_for(all_arrived, timeout=store.SENDING_LEASE_S + 90, interval=1)
    except AssertionError:
        mails, hooks = status_mails(tag), hooks_of(receiver, path)
        raise AssertionError(
            f"missing after {time.monotonic() - burst_done:.0f} s: "
            f"{len(expected - mails.keys())} mail(s), e.g. {sorted(expected - mails.keys())[:5]}; "
            f"{len(expected - hooks.keys())} webhook(s), e.g. {sorted(expected - hooks.keys())[:5]}"
        ) from None
    arrival_s = time.monotonic() - burst_done

    # and then nothing more can be sent: every delivery of these moves is settled ``sent`` (a
    # repeat needs a ``recorded`` one or a ``sending`` one whose claim lapses)
    logged: dict[str, dict] = {}

    def settled() -> bool:
        logged.clear()
        for feedback_id in ids:
            for d in client.deliveries(feedback_id):
                citizen = d["audience"] == "citizen" and d["kind"].startswith("status.")
                if citizen or d.get("webhook_id") == webhook_id:
                    logged[d["_id"]] = d
        return len(logged) == 2 * len(expected) and all(
            d["status"] == "sent" for d in logged.values()
        )

    try:
        wait_for(settled, timeout=60, interval=1)
    except AssertionError:
        states = Counter((d.get("channel") or "email", d["status"]) for d in logged.values())
        raise AssertionError(f"not every delivery settled sent: {dict(states)}") from None

    mails, hooks = status_mails(tag), hooks_of(receiver, path)
    # no mail nor webhook of anything but these moves, and each tells its own move
    assert mails.keys() == expected
    assert hooks.keys() == expected
    for (feedback_id, seq), copies in mails.items():
        for mail in copies:
            state = status_at[(feedback_id, seq)]
            subject = (
                f"Report {feedback_id} resolved: rate the resolution"  # a template of its own
                if state == "resolved"
                else f"Report {feedback_id}: {STATE_WORDS[state]}"
            )
            assert mail["Subject"] == subject, mail["MessageID"]
    for got in receiver.at(path):
        event = got.event
        assert event["data"]["to"] == status_at[(event["subject"], event["data"]["sequence"])]

    # what came twice (printed first: the figures help when an assertion below fails)
    repeated = {move: copies for move, copies in mails.items() if len(copies) > 1}
    mail_repeats = sum(len(copies) - 1 for copies in repeated.values())
    hook_repeats = sum(sum(counts.values()) - 1 for counts in hooks.values())
    bound = len(kills) * IN_FLIGHT
    # what the kills caught: deliveries settled only after a killed process's claim lapsed
    waited = Counter(d.get("channel") or "email" for d in logged.values() if lapsed(d))
    before_kill = [sum(arrived(c[0]) < k["at"] for c in mails.values()) for k in kills]
    restarts = ", ".join(f"{k['restart_s']:.1f}" for k in kills)
    print(
        f"\nnotification SIGKILLed at {[k['moves'] for k in kills]} of {len(expected)} moves "
        f"(restarted in {restarts} s; status mails in the inbox at each kill: {before_kill}); "
        f"all {len(expected)} mails and webhooks arrived {arrival_s:.0f} s after the burst; "
        f"settled only after a lapsed claim: {dict(waited)}; repeated: {mail_repeats} mail(s) "
        f"{sorted(repeated)}, {hook_repeats} webhook(s) (same webhook-id); bound {bound} each; "
        f"{time.monotonic() - started:.0f} s in all"
    )

    # webhooks: exactly one webhook-id accepted per move (a repeat keeps its id: a receiver
    # that deduplicates on it processes each move once), repeats only in the window
    distinct = {move: len(counts) for move, counts in hooks.items()}
    assert set(distinct.values()) == {1}, {m: c for m, c in hooks.items() if len(c) > 1}

    # mails: each move mailed, a repeat only of a mail that was between the relay and the
    # settling write at a kill: its first copy sent by the killed process before the kill,
    # the other by a later one; and a repeated delivery (mail or webhook) settled only after
    # a lapsed claim, SENDING_LEASE_S or more after it was recorded
    for (feedback_id, seq), copies in repeated.items():
        shown = [(m["MessageID"], m["Created"]) for m in copies]
        assert len({m["MessageID"] for m in copies}) == 1, shown  # the same Message-ID
        assert len(copies) <= 1 + len(kills), shown
        for before, after in zip(copies, copies[1:], strict=False):
            # a kill came between the copies: the first was sent by the process killed then
            k = kill_after(before, kills)
            assert k is not None and kills[k]["at"] <= arrived(after), shown
        assert lapsed(logged[f"{feedback_id}:status.{seq}:citizen"]), shown
    by_kill = Counter(kill_after(copies[0], kills) for copies in repeated.values())
    assert all(n <= IN_FLIGHT for n in by_kill.values()), by_kill  # at most those in hand
    for counts in hooks.values():
        for delivery_id, accepted in counts.items():
            assert accepted == 1 or lapsed(logged[delivery_id]), (delivery_id, accepted)
    assert mail_repeats <= bound
    assert hook_repeats <= bound
    assert all(n < len(expected) for n in before_kill), before_kill  # the kills came mid-work
