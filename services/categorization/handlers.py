"""Categorization's use cases: one function per command, the store's database and the publisher
as arguments (the service class only maps AMQP and HTTP onto them)."""

from __future__ import annotations

from collections.abc import Callable

from pymongo.database import Database

from services.categorization import assignment, store, triage
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
) -> bool:
    """Decide a ``feedback.received`` once and announce it; False for a repeated event.

    History that comes with its category (``suara import``) keeps that category."""
    feedback_id = event.data["feedback_id"]
    decision = decide(event.data["text"])
    if given := event.data.get("category"):
        decision = assignment.as_given(decision, given, departments[given])
    doc = assignment.new_assignment(
        feedback_id,
        event.data["text"],
        decision,
        correlation_id=event.correlation_id,
        category_hint=event.data.get("category_hint"),
        imported=bool(event.data.get("imported")),
    )
    if store.insert(db, doc):
        outbox.relay_or_defer(db.decisions, feedback_id, publish, doc["outbox"])
        return True
    # a repeat: the first decision stands, and a crash may have left its events staged
    outbox.relay_or_defer(db.decisions, feedback_id, publish)
    return False


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
