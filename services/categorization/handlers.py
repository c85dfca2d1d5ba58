"""Categorization's use cases: one function per command, the store's database and the publisher
as arguments (the service class only maps AMQP and HTTP onto them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pymongo.database import Database

from services.categorization import assignment, duplicates, store, triage
from shared import metrics, outbox
from shared.events import Event


class NotCategorized(LookupError):
    """No decision is stored for this feedback."""


class ChangedMeanwhile(Exception):
    """Someone changed the decision between its read and the correction."""


def categorize(
    db: Database,
    publish: Callable[[dict], None],
    event: Event,
    decide: Callable[[str], triage.Decision],
    departments: dict[str, str],
    settings: duplicates.Settings | None = None,
) -> bool:
    """Decide a ``feedback.received`` once and announce it; False for a repeated event.

    History that comes with its category (``suara import``) keeps that category. The "me too"
    check runs before the decision is stored and is stored with it, so a repeated event links
    nothing new; the case then joins its place documents (on a repeat too: a crash may have
    come between)."""
    settings = settings or duplicates.Settings()
    feedback_id = event.data["feedback_id"]
    decision = decide(event.data["text"])
    if given := event.data.get("category"):
        decision = assignment.as_given(decision, given, departments[given])
    now = datetime.now(UTC)
    record, nearby = _check(db, event.data, settings, now)
    doc = assignment.new_assignment(
        feedback_id,
        event.data["text"],
        decision,
        correlation_id=event.correlation_id,
        category_hint=event.data.get("category_hint"),
        imported=bool(event.data.get("imported")),
        duplicates=record,
        now=now,
    )
    if store.insert(db, doc):
        outbox.relay_or_defer(db.decisions, feedback_id, publish, doc["outbox"])
        _file(db, feedback_id, record, settings, now, nearby)
        return True
    # a repeat: the first decision stands, and a crash may have left its events staged
    outbox.relay_or_defer(db.decisions, feedback_id, publish)
    stored = store.get(db, feedback_id) or {}
    _file(db, feedback_id, stored.get("duplicates"), settings, now)
    return False


def _check(
    db: Database, data: dict, settings: duplicates.Settings, now: datetime
) -> tuple[dict, list[dict]]:
    """The "me too" record of a new feedback, and the place documents it read."""
    reason = duplicates.skip_reason(data, settings)
    if reason:
        return duplicates.not_checked(reason), []
    place = duplicates.place_of(data.get("location"))
    nearby = store.places(db, duplicates.nearby_keys(place, settings))
    return duplicates.check(data, settings, nearby, now), nearby


def _file(
    db: Database,
    feedback_id: str,
    record: dict | None,
    settings: duplicates.Settings,
    now: datetime,
    places: list[dict] | None = None,
) -> None:
    """Put an open, checked case in its place documents (idempotent), pruning them."""
    if not record or not record.get("checked") or not record.get("open", True):
        return
    keys = record["home_keys"]
    if places is None:
        places = store.places(db, keys)
    slot = duplicates.slot(feedback_id)
    evict = {
        doc["_id"]: duplicates.evictions(doc.get("cases") or {}, slot, now, settings)
        for doc in places
        if doc["_id"] in keys
    }
    store.file_case(db, keys, duplicates.entry(feedback_id, record), evict, now)


def status_changed(db: Database, event: Event, settings: duplicates.Settings) -> None:
    """A case's status moved (intake): one that is resolved, closed, rejected or a duplicate
    leaves its place documents, with the cases that joined its cluster and were not undone
    (they are answered with it: ``followers``); a reopened one comes back."""
    data = event.data
    feedback_id, to = data["feedback_id"], data["to"]
    if to in duplicates.CLOSED_STATUSES:
        is_open = False
    elif to in duplicates.REOPENED_STATUSES:
        is_open = True
    else:
        return  # still open: nothing changes for "me too"
    doc = store.move_case(db, feedback_id, is_open, data["sequence"])
    if doc is None:
        if store.get(db, feedback_id) is None:  # retried, then dead-lettered if it never comes
            raise NotCategorized(f"{feedback_id}: no decision yet for its status change")
        return  # no check ran for it, or a later change was recorded already
    record = doc["duplicates"]
    if is_open:
        _file(db, feedback_id, record, settings, datetime.now(UTC))
        return
    followers = [f for f in data.get("followers") or [] if f != feedback_id]
    keys = list(record["nearby_keys"])
    for other in store.duplicates_of(db, followers):
        keys.extend((other.get("duplicates") or {}).get("home_keys") or [])
    keys = list(dict.fromkeys(keys))
    # the cases whose cluster is this one (none when it joined another: that one stays)
    members = duplicates.cluster_members(store.places(db, keys), feedback_id, followers)
    store.unfile_cases(db, keys, members)


def duplicate_reviewed(db: Database, event: Event, settings: duplicates.Settings) -> None:
    """A department confirmed or undid a link (intake). Undone: the feedback is a case of its
    own again, its cluster its own id, in its decision and in its place documents, so later
    reports link to the right case. Confirmed: nothing changes."""
    data = event.data
    if data["decision"] != "undone":
        return
    feedback_id = data["feedback_id"]
    current = store.get(db, feedback_id)
    if current is None:
        raise NotCategorized(f"{feedback_id}: no decision yet for its review")
    record = current.get("duplicates") or {}
    if not record.get("checked"):
        return
    change = {"cluster_id": feedback_id, "similar_to": None, "undone": True}
    store.update_duplicates(db, feedback_id, change)
    _file(db, feedback_id, {**record, **change}, settings, datetime.now(UTC))


def correct(
    db: Database,
    publish: Callable[[dict], None],
    feedback_id: str,
    category: str,
    department: str,
    *,
    client: str,
) -> dict:
    """A staff correction: the new decision (``feedback.categorized`` with ``method: manual``
    announced), kept as a training example."""
    current = store.get(db, feedback_id)
    if current is None:
        raise NotCategorized(feedback_id)
    update = assignment.correction(current, category, department, client=client)
    updated = store.correct(db, feedback_id, update, current["revision"])
    if updated is None:
        raise ChangedMeanwhile(feedback_id)
    store.add_correction(db, feedback_id, current["text"], category, current["category"], client)
    outbox.relay_or_defer(db.decisions, feedback_id, publish)
    return updated


def read_metrics(db: Database, model) -> None:
    """Categorization's scrape-time metrics: the review queue's size and the model in use."""
    metrics.REVIEW_QUEUE.set(store.review_queue_size(db))
    metrics.MODEL_INFO.clear()
    metrics.MODEL_INFO.labels(model.version).set(1)
