"""Intake's logic: a feedback's record, its lifecycle, what the public may see of it.

Pure functions, except the use cases at the bottom, which take the store and the publisher
as arguments (so tests can hand in the real adapters or simple fakes).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.intake import duplicates, lifecycle, privacy, sla
from shared import outbox_entries
from shared.taxonomy import Department, department_id

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_id() -> str:
    """A tracking id a citizen can read out on the phone: SU- and 10 characters (50 bits)."""
    return "SU-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))


def keyed_id(*key: str) -> str:
    """The tracking id of a keyed submission (an Idempotency-Key, a source's external id): the
    same for every retry, so a repeat is found by ``_id`` alone, never by a secondary lookup."""
    digest = hashlib.sha256("\x1f".join(("suara-feedback", *key)).encode()).digest()
    bits = int.from_bytes(digest[:8], "big") >> 14  # 50 bits, as new_id has
    return "SU-" + "".join(_ALPHABET[(bits >> (5 * i)) & 31] for i in reversed(range(10)))


def media_id(feedback_id: str, n: int) -> str:
    """The id of a case's ``n``-th photo: the same for a repeated submission."""
    digest = hashlib.sha256(f"suara-media\x1f{feedback_id}\x1f{n}".encode()).hexdigest()
    return f"M-{digest[:24]}"


def submission_id(source: str | None, external_id: str | None, idempotency_key: str | None) -> str:
    """The id for a new submission: derived from its key if it has one, random otherwise."""
    if source is not None and external_id is not None:
        return keyed_id("amqp", source, external_id)
    if idempotency_key is not None:
        return keyed_id("http", idempotency_key)
    return new_id()


_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


def valid_correlation_id(value: str | None) -> str | None:
    """A caller's correlation id if it is a sane token, else None (a new one is made)."""
    return value if value and _CORRELATION_ID.fullmatch(value) else None


def fingerprint(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def new_record(
    submission: dict,
    *,
    channel: str,
    source: str | None = None,
    external_id: str | None = None,
    idempotency_key: str | None = None,
    request_fingerprint: str | None = None,
    correlation_id: str | None = None,
    now: datetime | None = None,
    feedback_id: str | None = None,
) -> dict:
    """The stored feedback, with its ``feedback.received`` event staged in the same document.

    Its id is derived from its key, if it has one (``submission_id``), unless given."""
    now = now or datetime.now(UTC)
    submitted = submission.get("submitted_at") or now  # imported history keeps its own time
    feedback_id = feedback_id or submission_id(source, external_id, idempotency_key)
    correlation_id = correlation_id or str(uuid.uuid4())
    contact = submission.get("contact") or {}
    location = submission.get("location")
    received = outbox_entries.entry(
        "intake",
        "feedback.received",
        {
            "feedback_id": feedback_id,
            "channel": channel,
            "source": source,
            "text": privacy.redact(submission["text"]),
            "language": contact.get("language"),
            "category_hint": submission.get("category_hint"),
            "location": privacy.event_location(location),
            "submitted_at": _iso(submitted),
            "imported": bool(submission.get("imported")),
            "category": submission.get("category"),
        },
        subject=feedback_id,
        correlation_id=correlation_id,
    )
    record = {
        "_id": feedback_id,
        "text": submission["text"],
        "location": location,
        "contact": contact or None,
        "category_hint": submission.get("category_hint"),
        "channel": channel,
        "source": source,
        "status": "received",
        "category": None,
        "department": None,
        "department_id": None,
        "priority": None,
        "categorization_revision": 0,
        "status_seq": 0,
        "version": 0,  # every later write is guarded by it and raises it (``guarded``)
        "due_at": None,
        "correlation_id": correlation_id,
        "created_at": submitted,
        "imported": bool(submission.get("imported")),
        "updated_at": now,
        **outbox_entries.staged([received], now),
    }
    # Open311's extras, photos' ids, and where replies go (a message's channel and sender)
    for field in ("attributes", "media_url", "media", "reply_to"):
        if submission.get(field):
            record[field] = submission[field]
    if submission.get("category"):  # the category the citizen (or an earlier system) chose
        record["requested_category"] = submission["category"]
    if source is not None and external_id is not None:
        record["external_key"] = f"{source}/{external_id}"
        record["external_id"] = external_id
    if idempotency_key is not None:
        record["idempotency_key"] = idempotency_key
        record["request_fingerprint"] = request_fingerprint
    return record


def receipt(record: dict, citizen_token: str) -> dict:
    """The answer to a submission (also replayed for a repeated Idempotency-Key): the only
    answer that carries the citizen's token, and the tracking link that holds it."""
    fid = record["_id"]
    return {
        "id": fid,
        "status": "received",
        "submitted_at": _iso(record["created_at"]),
        "citizen_token": citizen_token,
        "links": {
            "self": f"/api/v1/feedback/{fid}",
            "track": f"/track/{fid}?token={citizen_token}",
        },
    }


def public_view(record: dict, primary: dict | None = None) -> dict:
    """What anyone holding the tracking id may see: never the contact. ``primary``: the case
    this one repeats (``similar_to``, read by the caller), when it is linked to one."""
    return {
        "id": record["_id"],
        "status": record["status"],
        "category": record.get("category"),
        "department": record.get("department"),
        "department_id": record.get("department_id"),
        "priority": record.get("priority"),
        "channel": record["channel"],
        "submitted_at": _iso(record["created_at"]),
        "updated_at": _iso(record["updated_at"]),
        "due_at": _iso_or_none(record.get("due_at")),
        "overdue": record.get("overdue_at") is not None,
        "resolved_at": _iso_or_none(record.get("resolved_at")),
        "rating": {"score": record["rating"]["score"]} if record.get("rating") else None,
        "history": history_view(record),
        "me_too_count": record.get("me_too_count") or 0,
        "already_reported": already_reported(record, primary),
    }


def staff_view(record: dict, primary: dict | None = None) -> dict:
    """What a department or an admin sees: the internal notes too, the photos, when the
    citizen's personal data was erased (still never the contact), and the "me too" links: the
    ids that repeat this case, and the case this one repeats with the link's state."""
    return {
        **public_view(record, primary),
        "history": history_view(record, internal=True),
        "photos": [f"/media/{m}" for m in record.get("media") or []],
        "erased_at": _iso_or_none(record.get("erased_at")),
        "me_too": list(record.get("me_too") or []),
        "similar_to": record.get("similar_to"),
        "cluster_id": record.get("cluster_id"),
        "duplicate_link": link_view(record),
    }


def already_reported(record: dict, primary: dict | None) -> dict | None:
    """What the citizen of a linked me-too case is told: the problem is reported already as
    ``id``, followed by its department, and its current public state; None when the case is
    not (or no longer) linked."""
    if not duplicates.is_linked(record) or primary is None:
        return None
    return {
        "id": primary["_id"],
        "status": primary["status"],
        "department": primary.get("department"),
        "department_id": primary.get("department_id"),
        "link": duplicates.state_of(record),
        "links": {
            "self": f"/api/v1/feedback/{primary['_id']}",
            "track": f"/track/{primary['_id']}",
        },
    }


def link_view(record: dict) -> dict | None:
    """The "me too" link of a case, as staff see it (who reviewed it is a staff member's
    key name, never a citizen)."""
    link = duplicates.link_of(record)
    if link is None:
        return None
    return {
        "state": link["state"],
        "similar_to": record.get("similar_to"),
        "similarity": link.get("similarity"),
        "distance_m": link.get("distance_m"),
        "suspected_at": link.get("suspected_at"),
        "linked_at": _iso_or_none(link.get("linked_at")),
        "reviewed_by": link.get("reviewed_by"),
        "reviewed_at": _iso_or_none(link.get("reviewed_at")),
    }


def guarded(record: dict, update: dict) -> tuple[dict, dict]:
    """(filter, update) that applies ``update`` only to the case as it was read, and raises its
    version: every change after the insert goes through here (optimistic concurrency)."""
    version = record.get("version")
    query = {"_id": record["_id"], "version": {"$exists": False} if version is None else version}
    update = {**update, "$set": {**update.get("$set", {}), "version": (version or 0) + 1}}
    return query, update


def applied(record: dict, update: dict) -> dict:
    """The case as ``update`` (a guarded change: ``$set``, and ``$push`` of its history) left
    it, without reading it again."""
    result = {**record, **update.get("$set", {})}
    pushed = update.get("$push", {}).get("history")
    if pushed is not None:
        steps = pushed["$each"] if isinstance(pushed, dict) and "$each" in pushed else [pushed]
        result["history"] = [*(record.get("history") or []), *steps]
    return result


def _event(record: dict, event_type: str, data: dict) -> dict:
    return outbox_entries.entry(
        "intake",
        event_type,
        {"feedback_id": record["_id"], **data},
        subject=record["_id"],
        correlation_id=record.get("correlation_id") or record["_id"],
    )


def _staging(update: dict, events: list[dict], now: datetime) -> dict:
    """``update`` that also stages ``events`` in the case's outbox."""
    if not events:
        return update
    return {
        **update,
        "$set": {**update.get("$set", {}), "outbox_at": now},
        "$push": {**update.get("$push", {}), "outbox": {"$each": events}},
    }


def categorization_update(
    record: dict, data: dict, policy: sla.Policy, now: datetime | None = None
) -> tuple[dict, dict] | None:
    """(filter, update) applying a ``feedback.categorized`` event to the case as read, or None
    for a repeated or older revision. A case in the system's own states takes the status the
    categorization implies; one a department is working keeps its state; a case handed over
    by a transfer keeps its department. The due time follows the category and priority."""
    revision = data.get("revision", 1)
    if record.get("categorization_revision", 0) >= revision:
        return None
    fields = {
        "category": data["category"],
        "priority": data["priority"],
        "categorization_revision": revision,
        "status": lifecycle.after_categorization(record["status"], bool(data.get("needs_review"))),
        "updated_at": now or datetime.now(UTC),
    }
    if data.get("cluster_id") and not record.get("cluster_id"):
        fields["cluster_id"] = data["cluster_id"]  # the "me too" cluster (issue 15)
    if not record.get("department_pinned"):
        fields["department"] = data["department"]
        # events of before department ids: the id of the department of that name
        fields["department_id"] = data.get("department_id") or department_id(data["department"])
    if not record.get("imported"):
        submitted = _aware(record["created_at"])
        fields["due_at"] = policy.due_at(submitted, data["category"], data["priority"])
        if fields["due_at"] != _aware_or_none(record.get("due_at")):
            fields["due_soon_at"] = None  # a new due time: its own warning
    return guarded(record, {"$set": fields})


def status_change(
    record: dict, move: lifecycle.Move, by: str, actor: str, now: datetime | None = None
) -> tuple[dict, dict, list[dict]]:
    """(filter, update, staged events) moving a case: the update applies only to the case as
    it was read, records the move in its history and stages ``feedback.status_changed`` (the
    note only when public, and redacted). ``actor``: department, admin, citizen or system."""
    now = now or datetime.now(UTC)
    changes, step, event = _move(record, move, by, actor, now)
    update = _staging({"$set": changes, "$push": {"history": step}}, [event], now)
    return (*guarded(record, update), [event])


def _move(record: dict, move: lifecycle.Move, by: str, actor: str, now: datetime):
    seq = record.get("status_seq", 0) + 1
    note = (move.note or "").strip() or None
    public_note = privacy.redact(note) if note and move.visibility == "public" else None
    event = _event(
        record,
        "feedback.status_changed",
        {
            "from": record["status"],
            "to": move.status,
            "department_id": record.get("department_id"),
            "note": public_note,
            "duplicate_of": move.duplicate_of,
            "sequence": seq,
            "changed_at": _iso(now),
            "actor": actor,
            # the "me too" cases whose citizens hear this case's updates (issue 15)
            "followers": duplicates.followers(record),
        },
    )
    step = {"status": move.status, "from": record["status"], "at": now, "by": by}
    if note:
        step.update(note=note, visibility=move.visibility)
    if move.duplicate_of:
        step["duplicate_of"] = move.duplicate_of
    changes = {"status": move.status, "status_seq": seq, "updated_at": now}
    if move.status == "resolved":
        changes["resolved_at"] = now
    if move.duplicate_of:
        changes["duplicate_of"] = move.duplicate_of
    return changes, step, event


def transfer(
    record: dict, target: Department, reason: str, by: str, now: datetime | None = None
) -> tuple[dict, dict, list[dict]]:
    """(filter, update, staged events) handing a case to another department: its history
    stays; a case the old department had acknowledged goes back to ``categorized``, so the
    new one acknowledges it (``feedback.status_changed`` then announces that too); later
    categorizations keep the department a person chose (``department_pinned``)."""
    now = now or datetime.now(UTC)
    status = lifecycle.after_transfer(record["status"])
    seq = record.get("status_seq", 0) + 1
    events, history = [], []
    changes = {
        "department": target.name,
        "department_id": target.id,
        "department_pinned": True,
        "updated_at": now,
    }
    if status != record["status"]:
        moved, step, event = _move(record, lifecycle.Move(status), by, "system", now)
        changes.update(moved)
        history.append(step)
        events.append(event)
        seq = moved["status_seq"] + 1
    changes["status_seq"] = seq
    history.append(
        {
            "status": status,
            "from": record["status"],
            "at": now,
            "by": by,
            "transfer": {"from": record.get("department_id"), "to": target.id},
            "note": reason,
            "visibility": "internal",
        }
    )
    events.append(
        _event(
            record,
            "feedback.reassigned",
            {
                "from_department_id": record.get("department_id"),
                "department_id": target.id,
                "department": target.name,
                "reason": privacy.redact(reason),
                "status": status,
                "sequence": seq,
                "reassigned_at": _iso(now),
            },
        )
    )
    update = _staging({"$set": changes, "$push": {"history": {"$each": history}}}, events, now)
    return (*guarded(record, update), events)


def rating(
    record: dict, score: int, comment: str | None, now: datetime | None = None
) -> tuple[dict, dict, list[dict]]:
    """(filter, update, staged events) of the citizen's rating: ``feedback.rated``, and a
    resolved case closes (``feedback.status_changed``)."""
    now = now or datetime.now(UTC)
    comment = (comment or "").strip() or None
    events = [
        _event(
            record,
            "feedback.rated",
            {
                "score": score,
                "comment": privacy.redact(comment) if comment else None,
                "department_id": record.get("department_id"),
                "category": record.get("category"),
                "rated_at": _iso(now),
            },
        )
    ]
    changes: dict = {"rating": {"score": score, "comment": comment, "at": now}, "updated_at": now}
    update: dict = {"$set": changes}
    if record["status"] == "resolved":
        moved, step, event = _move(record, lifecycle.Move("closed"), "citizen", "citizen", now)
        changes.update(moved)
        update["$push"] = {"history": step}
        events.append(event)
    return (*guarded(record, _staging(update, events, now)), events)


def warning_due(record: dict, policy: sla.Policy, now: datetime) -> bool:
    """Has the case reached its warning time, still worked, not warned, not overdue yet?"""
    due = _aware_or_none(record.get("due_at"))
    warn = sla.warning_time(_aware(record["created_at"]), due, policy.warning_at)
    return (
        warn is not None
        and record["status"] in sla.RUNNING
        and not record.get("imported")
        and record.get("due_soon_at") is None
        and record.get("overdue_at") is None
        and warn <= now <= due
    )


def deadline_facts(record: dict) -> dict:
    """What ``feedback.due_soon`` and ``feedback.overdue`` say of a case (its replay too)."""
    return {
        "department_id": record.get("department_id"),
        "department": record.get("department"),
        "category": record.get("category"),
        "priority": record.get("priority"),
        "status": record["status"],
        "due_at": _iso(record["due_at"]),
    }


def _deadline_mark(record: dict, event_type: str, field: str, stamp: str, now: datetime):
    """(filter, update, staged events) recording ``field`` once, with ``event_type`` staged in
    the same write: the filter finds the case as read and ``field`` still unset."""
    event = _event(record, event_type, {**deadline_facts(record), stamp: _iso(now)})
    update = _staging({"$set": {field: now, "updated_at": now}}, [event], now)
    query, update = guarded(record, update)
    return {**query, field: None}, update, [event]


def due_soon(record: dict, now: datetime | None = None) -> tuple[dict, dict, list[dict]]:
    """(filter, update, staged events) warning a case's department before its due time:
    ``feedback.due_soon`` is staged once, in the same write that records ``due_soon_at``."""
    now = now or datetime.now(UTC)
    return _deadline_mark(record, "feedback.due_soon", "due_soon_at", "warned_at", now)


def overdue(record: dict, now: datetime | None = None) -> tuple[dict, dict, list[dict]]:
    """(filter, update, staged events) marking a case past its due time: ``feedback.overdue``
    is staged once, in the same write that records ``overdue_at``."""
    now = now or datetime.now(UTC)
    return _deadline_mark(record, "feedback.overdue", "overdue_at", "overdue_at", now)


# ---------------------------------------------------------------- erasure
# What the erasure of a citizen's personal data leaves of a case: its lifecycle, category,
# department, area and public history (the city's statistics), and the text with e-mail
# addresses, phone numbers and NIK replaced (what already left intake, in feedback.received and
# Open311's description). Gone: the contact, the reply address, the street address, the exact
# pin (rounded as Open311 shows it), the photos, the request's fingerprint, the rating's comment,
# and identifiers in the history's notes.
AREA_DECIMALS = 3  # about 110 m: the precision Open311 already publishes


def is_erased(document: dict) -> bool:
    """Whether a case (or a status question) had its personal data erased."""
    return document.get("erased_at") is not None


def erasure(record: dict, now: datetime | None = None) -> tuple[dict, dict, list[dict]] | None:
    """(filter, update, staged events) erasing the citizen's personal data from the case as it
    was read, with ``feedback.erased`` staged in the same write; None when it was erased
    already (a repeat changes and announces nothing). The photos' ids are kept as
    ``erased_media``, so that their documents can be deleted after the write (and again after
    a crash)."""
    if is_erased(record):
        return None
    now = now or datetime.now(UTC)
    language = (record.get("contact") or {}).get("language")
    changes: dict = {
        # the language the citizen chose is kept: it names no one, and the city's counts by
        # language (and a rebuild of them, suara replay) keep it
        "contact": {"language": language} if language else None,
        "reply_to": None,
        "text": privacy.redact(record["text"]),
        "location": erased_location(record.get("location")),
        "media": None,
        "media_url": None,
        "erased_media": list(record.get("media") or []),
        "request_fingerprint": None,  # a hash of the request, contact included
        "erased_at": now,
    }
    if record.get("history"):
        changes["history"] = [_erased_step(step) for step in record["history"]]
    if record.get("rating"):
        changes["rating"] = {**record["rating"], "comment": None}
    event = _event(record, "feedback.erased", {"erased_at": _iso(now)})
    return (*guarded(record, _staging({"$set": changes}, [event], now)), [event])


def erased_location(location: dict | None) -> dict | None:
    """The area of a location, without the street address and with the pin rounded."""
    if not location:
        return None
    kept = {k: location.get(k) for k in ("kecamatan", "kelurahan")}
    for k in ("lat", "lon"):
        if location.get(k) is not None:
            kept[k] = round(location[k], AREA_DECIMALS)
    return {k: v for k, v in kept.items() if v is not None} or None


def _erased_step(step: dict) -> dict:
    """A history step with identifiers in its note replaced (a citizen's reopen reason, a
    staff note that names a phone number)."""
    return {**step, "note": privacy.redact(step["note"])} if step.get("note") else step


def erasure_receipt(record: dict) -> dict:
    """The answer to an erasure (the same for a repeat: the first time)."""
    return {"id": record["_id"], "erased_at": _iso(record["erased_at"])}


# ---------------------------------------------------------------- "me too" (issue 15)
# services/intake/duplicates.py holds the rules; here, the changes they make to a case.


def duplicate_suspicion(
    record: dict, data: dict, state: str, now: datetime | None = None
) -> tuple[dict, dict, list[dict]] | None:
    """(filter, update, staged events) recording categorization's ``feedback.duplicate_suspected``
    on the new case, with the link's ``state`` (``suspected``: it joined the primary's set;
    ``lapsed``: it could not); None when a link is recorded already (a redelivery, or a later
    suggestion: the first one stands). Nothing is announced."""
    if duplicates.link_of(record) is not None:
        return None
    now = now or datetime.now(UTC)
    link = {
        "state": state,
        "similarity": data["similarity"],
        "distance_m": data.get("distance_m"),
        "suspected_at": data["suspected_at"],
        "linked_at": now,
    }
    changes = {
        "similar_to": data["similar_to"],
        "cluster_id": data["cluster_id"],
        "duplicate_link": link,
    }
    return (*guarded(record, {"$set": changes}), [])


def duplicate_review(
    record: dict, decision: str, by: str, actor: str, now: datetime | None = None
) -> tuple[dict, dict, list[dict]]:
    """(filter, update, staged events) of a department's review of a suspected link, with
    ``feedback.duplicate_reviewed`` staged. ``confirmed``: the case also moves to ``duplicate``
    of its primary (``feedback.status_changed``), when its state allows that move (a resolved
    case keeps its state); ``undone``: it stands as a case of its own (the handler takes it out
    of the primary's set)."""
    now = now or datetime.now(UTC)
    primary_id = record["similar_to"]
    link = {**record["duplicate_link"], "state": decision, "reviewed_by": by, "reviewed_at": now}
    changes: dict = {"duplicate_link": link}
    update: dict = {"$set": changes}
    events = []
    if decision == "confirmed" and "duplicate" in lifecycle.allowed(record["status"], "staff"):
        move = lifecycle.Move("duplicate", duplicate_of=primary_id)
        moved, step, event = _move(record, move, by, actor, now)
        changes.update(moved)
        update["$push"] = {"history": step}
        events.append(event)
    events.append(
        _event(
            record,
            "feedback.duplicate_reviewed",
            {
                "similar_to": primary_id,
                "cluster_id": record.get("cluster_id") or primary_id,
                "decision": decision,
                "department_id": record.get("department_id"),
                "reviewed_at": _iso(now),
            },
        )
    )
    return (*guarded(record, _staging(update, events, now)), events)


# ---------------------------------------------------------------- the work list
# Each case still being worked has an entry in the small collection ``worklist`` (services/
# intake/store.py): what GET /api/v1/cases lists and the deadline sweep reads, so neither ever
# reads a closed case. An entry is the projection of its case at one ``version``.
PURGE_AFTER = timedelta(minutes=10)  # a closed case's entry (a tombstone) is kept this long


def worklist_entry(record: dict, policy: sla.Policy) -> dict:
    """The case's entry in the work list: ``open`` while it is worked (closed ones are kept a
    while as tombstones, so that a late sync cannot bring them back); ``wake_at`` is when the
    deadline sweep must look at it next (its due time, or the end of its reopen window)."""
    status = record["status"]
    due = _aware_or_none(record.get("due_at"))
    is_open = status not in lifecycle.FINAL and not record.get("imported")
    hidden = duplicates.hidden_in_lists(record, policy.me_too_hidden_from)
    wake = None
    # a linked me-too case has no deadline of its own: its primary is the one being worked
    # (undone, it gets its own back, and the sweep looks at it at once if it is due)
    running = status in sla.RUNNING and not hidden
    if is_open and running and due is not None and not record.get("overdue_at"):
        warn = sla.warning_time(_aware(record["created_at"]), due, policy.warning_at)
        wake = warn if warn is not None and record.get("due_soon_at") is None else due
    elif is_open and status == "resolved" and record.get("resolved_at") is not None:
        wake = _aware(record["resolved_at"]) + policy.reopen_window
    return {
        "_id": record["_id"],
        "version": record.get("version", 0),
        "open": is_open,
        "status": status,
        "department_id": record.get("department_id"),
        "category": record.get("category"),
        "priority": record.get("priority"),
        "due_at": due,
        "overdue": record.get("overdue_at") is not None,
        "wake_at": wake,
        # "me too" (issue 15): the primary's set, and a me-too case's link (hidden: left out
        # of the lists unless asked for)
        "me_too": list(record.get("me_too") or []),
        "me_too_count": record.get("me_too_count") or 0,
        "similar_to": record.get("similar_to"),
        "cluster_id": record.get("cluster_id"),
        "link_state": duplicates.state_of(record),
        "hidden": hidden,
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
        # the list's order, oldest due first (no due time: last), and its cursor
        "order": f"{_iso(due) if due else '~'}|{record['_id']}",
        **({} if is_open else {"closed_at": record["updated_at"]}),
    }


def case_item(entry: dict) -> dict:
    """One case in GET /api/v1/cases."""
    return {
        "id": entry["_id"],
        "status": entry["status"],
        "department_id": entry.get("department_id"),
        "category": entry.get("category"),
        "priority": entry.get("priority"),
        "due_at": _iso_or_none(entry.get("due_at")),
        "overdue": bool(entry.get("overdue")),
        "me_too_count": entry.get("me_too_count") or 0,
        "me_too": list(entry.get("me_too") or []),
        "similar_to": entry.get("similar_to"),
        "cluster_id": entry.get("cluster_id"),
        "duplicate_link": entry.get("link_state"),
        "submitted_at": _iso(entry["created_at"]),
        "updated_at": _iso(entry["updated_at"]),
        "links": {"self": f"/api/v1/feedback/{entry['_id']}"},
    }


def history_view(record: dict, internal: bool = False) -> list[dict]:
    """A case's history as the API shows it: public notes to anyone, internal ones to staff."""
    steps = [{**h, "at": _iso(h["at"])} for h in record.get("history") or []]
    return steps if internal else lifecycle.public_history(steps)


def _aware(value: datetime) -> datetime:
    """A stored time (pymongo returns naive UTC) as an aware one."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _aware_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else _aware(value)


def _iso(value: datetime) -> str:
    return _aware(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _iso_or_none(value: datetime | None) -> str | None:
    return None if value is None else _iso(value)


def key_field(record: dict) -> str | None:
    """The field that makes ``record`` idempotent, if any."""
    for field in ("external_key", "idempotency_key"):
        if record.get(field) is not None:
            return field
    return None


def status_question(message, key: str, case: dict | None, now: datetime) -> dict:
    """A status question (``STATUS SU-...``) as stored, with ``feedback.status_requested``
    staged: the asked case's public state, and an id by which notification finds where the
    answer goes (the sender stays here)."""
    question_id = "Q-" + keyed_id("question", key)[3:]
    asked = message.asks_status_of
    event = outbox_entries.entry(
        "intake",
        "feedback.status_requested",
        {
            "feedback_id": asked,
            "question_id": question_id,
            "channel": message.channel,
            "found": case is not None,
            "status": case["status"] if case else None,
            "department_id": case.get("department_id") if case else None,
            "due_at": _iso_or_none(case.get("due_at")) if case else None,
            "asked_at": _iso(now),
        },
        subject=asked,
        correlation_id=(case or {}).get("correlation_id") or question_id,
    )
    return {
        "_id": question_id,
        "key": key,
        "asked": asked,
        "reply_to": {"channel": message.channel, "address": message.sender},
        "created_at": now,
        **outbox_entries.staged([event], now),
    }


def case_reply(case: dict, track_url: str) -> dict:
    """Where replies to a case go (for notification only: the contact is personal data): its
    own channel and contact, its tracking link, and when the citizen last wrote to us on that
    channel (the submission: WhatsApp answers freely only within 24 hours of it)."""
    reply_to = case.get("reply_to") or {}
    contact = case.get("contact") or {}
    return {
        "channel": reply_to.get("channel") or case["channel"],
        "address": reply_to.get("address"),
        "email": contact.get("email"),
        "phone": contact.get("phone"),
        "name": contact.get("name"),
        "language": contact.get("language") or "id",
        "track_url": track_url,
        "last_inbound_at": _iso(case["created_at"]),
    }


def question_reply(question: dict) -> dict:
    """Where the answer to a status question goes: its sender, who wrote when they asked."""
    return {**question["reply_to"], "last_inbound_at": _iso(question["created_at"])}


def reply_email(reply: dict) -> str | None:
    """The e-mail address a reply may be mailed to: the contact's, or a mail's sender."""
    if reply.get("email"):
        return reply["email"]
    return reply.get("address") if reply["channel"] == "email" else None


def with_optout(reply: dict, unsubscribe_url: str | None, opted_out: bool) -> dict:
    """The reply address with its unsubscribe link; an address that opted out is withheld
    (whoever reads this at send time stops at once) and said to be."""
    reply = {**reply, "unsubscribe_url": unsubscribe_url, "email_opted_out": opted_out}
    if opted_out:
        if "email" in reply:
            reply["email"] = None
        if reply["channel"] == "email":
            reply["address"] = None
    return reply


class IdTaken(Exception):
    """The derived id belongs to another key (a 50-bit collision): store it under a new id."""


@dataclass(frozen=True)
class Submitted:
    record: dict
    created: bool  # False: an earlier identical submission was found
