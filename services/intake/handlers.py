"""Intake's use cases: take a submission from any channel, store it once, announce it.

Each takes the database and the publisher as arguments: the adapters the service injects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pymongo.database import Database

from services.intake import (
    channels,
    duplicates,
    feedback,
    lifecycle,
    open311,
    sla,
    store,
    tokens,
)
from shared import observability, outbox
from shared.events import InvalidMessage
from shared.http import Caller
from shared.taxonomy import TAXONOMY

log = logging.getLogger(__name__)


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different request."""


def submit_http(
    db: Database,
    publish: Callable[[dict], None],
    body: dict,
    submission: dict,
    *,
    idempotency_key: str | None,
    correlation_id: str | None,
) -> feedback.Submitted:
    """Store a web submission once per Idempotency-Key; a repeat gets the first record back."""
    fingerprint = feedback.fingerprint(body)

    def record(feedback_id: str | None = None) -> dict:
        return feedback.new_record(
            submission,
            channel="http",
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint if idempotency_key else None,
            correlation_id=feedback.valid_correlation_id(correlation_id),
            feedback_id=feedback_id,
        )

    result = _insert(db, record)
    if result.created:
        outbox.relay_or_defer(db.feedback, result.record["_id"], publish, result.record["outbox"])
    elif result.record.get("request_fingerprint") != fingerprint:
        raise IdempotencyConflict(idempotency_key)
    return result


def submit_web(
    db: Database,
    publish: Callable[[dict], None],
    submission: dict,
    photos: list,
    *,
    form_key: str,
) -> feedback.Submitted:
    """A report from the web form (channel ``web``), with its photos (already cleaned). The
    form's CSRF token keys it: a double click, or the browser sending it again, stores one."""
    fingerprint = feedback.fingerprint(
        {**submission, "photos": [p.data.hex()[:64] for p in photos]}
    )
    result = _submit_with_photos(db, publish, submission, photos, "web", form_key, fingerprint)
    if not result.created and result.record.get("request_fingerprint") != fingerprint:
        raise IdempotencyConflict(form_key)
    return result


def _submit_with_photos(
    db: Database,
    publish: Callable[[dict], None],
    submission: dict,
    photos: list,
    channel: str,
    key: str,
    fingerprint: str | None,
) -> feedback.Submitted:
    """Store a keyed submission of ``channel`` once, its photos first (under ids derived from
    the case's, so a repeat stores none twice), and announce it."""
    now = datetime.now(UTC)
    feedback_id = feedback.keyed_id(channel, key)
    media = [feedback.media_id(feedback_id, n) for n in range(len(photos))]
    for media_id, photo in zip(media, photos, strict=True):
        store.save_photo(db, media_id, feedback_id, photo, now)

    def record(new_id: str | None = None) -> dict:
        return feedback.new_record(
            {**submission, "media": media},
            channel=channel,
            idempotency_key=f"{channel}:{key}",
            request_fingerprint=fingerprint,
            feedback_id=new_id or feedback_id,
        )

    result = _insert(db, record)
    if result.created:
        if result.record["_id"] != feedback_id:  # stored under another id (a collision)
            store.move_photos(db, media, result.record["_id"])
        outbox.relay_or_defer(db.feedback, result.record["_id"], publish, result.record["outbox"])
    elif feedback.is_erased(result.record):  # a provider's late retry must not bring them back
        store.delete_photos(db, media)
    return result


def photo_for(
    db: Database, keys: tuple[str, ...], media_id: str, token: str | None, caller: Caller | None
) -> dict:
    """A photo, for the holder of its case's citizen token or for staff (an admin, or the
    case's department). Raises NotFound or WrongToken."""
    found = store.photo(db, media_id)
    if found is None:
        raise NotFound(media_id)
    case = store.get(db, found["feedback_id"])
    if case is not None and feedback.is_erased(case):
        raise NotFound(media_id)  # its deletion is under way (or a crash left it behind)
    if caller is not None:
        if caller.admin:
            return found
        if case is not None and case.get("department_id") == caller.department_id:
            return found
        raise NotYours(media_id)
    if token is None or not tokens.verify(store.secret_keys(db, keys), found["feedback_id"], token):
        raise WrongToken(media_id)
    return found


def _insert(db: Database, record: Callable[..., dict]) -> feedback.Submitted:
    """Store the record ``record()`` builds under its derived id, or under a random one if
    that id belongs to another key."""
    try:
        result = store.insert(db, record())
    except feedback.IdTaken:
        result = store.insert(db, record(feedback.new_id()))
    # the request's log lines from here on name the case it made (shared/observability.py)
    observability.bind(
        feedback_id=result.record["_id"], correlation_id=result.record.get("correlation_id")
    )
    return result


def submit_command(db: Database, publish: Callable[[dict], None], command: dict) -> bool:
    """Store a ``feedback.submit`` command once per (source, external_id); False if a repeat."""

    def record(feedback_id: str | None = None) -> dict:
        return feedback.new_record(
            command,
            channel="amqp",
            source=command["source"],
            external_id=command["external_id"],
            feedback_id=feedback_id,
        )

    result = _insert(db, record)
    if result.created:
        outbox.relay_or_defer(db.feedback, result.record["_id"], publish, result.record["outbox"])
        return True
    log.info("duplicate submission %s/%s ignored", command["source"], command["external_id"])
    return False


class NotFound(Exception):
    """No case with this id."""


class NotYours(Exception):
    """A department may move only the cases assigned to it."""


class WrongToken(Exception):
    """The citizen token does not belong to this case (or the unsubscribe token to this
    address)."""


class ChangedMeanwhile(Exception):
    """The case kept changing between our reads and our writes: the caller may try again."""


ATTEMPTS = 5  # reads and guarded writes of one change before ChangedMeanwhile

Change = tuple[dict, dict, list[dict]]


def _change(
    db: Database,
    publish: Callable[[dict], None],
    policy: sla.Policy,
    feedback_id: str,
    build: Callable[[dict], Change | None],
    read: Callable[[Database, str], dict | None] = store.get,
) -> tuple[dict, bool]:
    """Read the case, ``build`` its change (which may refuse it), write it guarded by the
    version read, announce its events and bring the work list up to date; read again and
    build again if the case changed meanwhile. Returns the case as changed and True, or as
    found and False when ``build`` returns None (nothing to change)."""
    for _ in range(ATTEMPTS):
        record = read(db, feedback_id)
        if record is None:
            raise NotFound(feedback_id)
        change = build(record)
        if change is None:
            store.sync_worklist(db, record, policy)  # a crash may have left it behind
            return record, False
        query, update, staged = change
        if store.write(db, (query, update), staged):
            if staged:
                outbox.relay_or_defer(db.feedback, feedback_id, publish, staged)
            record = feedback.applied(record, update)
            store.sync_worklist(db, record, policy)
            return record, True
    raise ChangedMeanwhile(feedback_id)


def apply_categorization(
    db: Database, policy: sla.Policy, data: dict, now: datetime | None = None
) -> None:
    """Apply a ``feedback.categorized`` event: the case's category, department and due time."""

    def build(record: dict) -> Change | None:
        change = feedback.categorization_update(record, data, policy, now)
        return None if change is None else (*change, [])

    try:
        _change(db, lambda event: None, policy, data["feedback_id"], build)
    except NotFound:  # categorization only knows of cases intake stored: a bug, not a loss
        log.error("categorized %s: no such case", data["feedback_id"])


def _own(record: dict, caller: Caller) -> None:
    if not caller.admin and record.get("department_id") != caller.department_id:
        raise NotYours(record["_id"])


def change_status(
    db: Database,
    publish: Callable[[dict], None],
    policy: sla.Policy,
    feedback_id: str,
    move: lifecycle.Move,
    caller: Caller,
) -> dict:
    """A department (or an admin) moves a case; ``feedback.status_changed`` is announced.
    Raises NotFound, NotYours, lifecycle.MoveInvalid / MoveRefused or ChangedMeanwhile."""
    if move.duplicate_of and move.duplicate_of != feedback_id:
        if store.get(db, move.duplicate_of) is None:
            raise lifecycle.MoveInvalid({"duplicate_of": ["no case with this id"]})

    def build(record: dict) -> Change:
        _own(record, caller)
        lifecycle.check(record["status"], move, "staff", feedback_id)
        actor = "admin" if caller.admin else "department"
        return feedback.status_change(record, move, caller.name, actor)

    return _change(db, publish, policy, feedback_id, build)[0]


def transfer(
    db: Database,
    publish: Callable[[dict], None],
    policy: sla.Policy,
    feedback_id: str,
    target_id: str,
    reason: str,
    caller: Caller,
) -> dict:
    """A department (or an admin) hands a case to another department (``feedback.reassigned``).
    Raises NotFound, NotYours, lifecycle.MoveInvalid / MoveRefused or ChangedMeanwhile."""

    def build(record: dict) -> Change:
        _own(record, caller)
        known = set(TAXONOMY.department_ids)
        lifecycle.check_transfer(record["status"], record.get("department_id"), target_id, known)
        return feedback.transfer(record, TAXONOMY.department(target_id), reason, caller.name)

    return _change(db, publish, policy, feedback_id, build)[0]


def citizen_token(db: Database, configured: tuple[str, ...], feedback_id: str) -> str:
    return tokens.citizen_token(store.secret_keys(db, configured), feedback_id)


def _citizen(db: Database, configured: tuple[str, ...], feedback_id: str, token: str) -> None:
    if not tokens.verify(store.secret_keys(db, configured), feedback_id, token):
        raise WrongToken(feedback_id)


def rate(
    db: Database,
    publish: Callable[[dict], None],
    policy: sla.Policy,
    keys: tuple[str, ...],
    feedback_id: str,
    token: str,
    score: int,
    comment: str | None,
) -> dict:
    """The citizen rates the resolution (``feedback.rated``); a resolved case closes.
    Raises NotFound, WrongToken, lifecycle.MoveRefused or ChangedMeanwhile."""
    _citizen(db, keys, feedback_id, token)

    def build(record: dict) -> Change:
        if not lifecycle.may_rate(record["status"], record.get("rating")):
            raise lifecycle.MoveRefused(record["status"], "rated", ())
        return feedback.rating(record, score, comment)

    return _change(db, publish, policy, feedback_id, build)[0]


def reopen(
    db: Database,
    publish: Callable[[dict], None],
    policy: sla.Policy,
    keys: tuple[str, ...],
    feedback_id: str,
    token: str,
    reason: str,
    now: datetime | None = None,
) -> dict:
    """The citizen reopens a resolved case within the window (the reason goes to the
    department, not to the public history). Raises NotFound, WrongToken, MoveRefused (also
    when the window has passed) or ChangedMeanwhile."""
    _citizen(db, keys, feedback_id, token)

    def build(record: dict) -> Change:
        at = now or datetime.now(UTC)
        resolved_at = record.get("resolved_at")
        resolved_at = resolved_at and resolved_at.replace(tzinfo=UTC)
        if not lifecycle.may_reopen(record["status"], resolved_at, at, policy.reopen_window):
            allowed = ("reopened",) if record["status"] == "resolved" else ()
            raise lifecycle.MoveRefused(record["status"], "reopened", allowed)
        move = lifecycle.Move("reopened", reason, "internal")
        return feedback.status_change(record, move, "citizen", "citizen", at)

    return _change(db, publish, policy, feedback_id, build)[0]


def erase(
    db: Database,
    publish: Callable[[dict], None],
    policy: sla.Policy,
    feedback_id: str,
    now: datetime | None = None,
) -> dict:
    """An admin erases the citizen's personal data from a case (feedback.erasure says what goes
    and what stays): one write guarded by the case's version stages ``feedback.erased``; then
    the photos and the senders of questions about the case are deleted. Idempotent: a repeat
    writes and announces nothing, and returns the case as first erased (it deletes again
    whatever a crash left behind). Raises NotFound or ChangedMeanwhile."""
    at = now or datetime.now(UTC)
    # read with the contact: the erasure keeps the language the citizen chose
    erased = _change(
        db, publish, policy, feedback_id, lambda r: feedback.erasure(r, at), store.get_private
    )
    record = erased[0]
    _purge(db, record)
    return record


def finish_erasure(db: Database, policy: sla.Policy, feedback_id: str) -> None:
    """After ``feedback.erased`` (intake follows its own event): delete what the erasure's
    write left to delete, had the process died right after it."""
    record = store.get(db, feedback_id)
    if record is not None and feedback.is_erased(record):
        _purge(db, record)
        store.sync_worklist(db, record, policy)


def _purge(db: Database, record: dict) -> None:
    """The erasure's deletions outside the case's own document (each idempotent)."""
    store.delete_photos(db, record.get("erased_media") or [])
    store.erase_questions(db, record["_id"], record["erased_at"])


def sync_worklist(db: Database, policy: sla.Policy, feedback_id: str) -> None:
    """Bring a case's work-list entry up to date (after an event of it: a crash between its
    write and the entry's is so repaired)."""
    record = store.get(db, feedback_id)
    if record is not None:
        store.sync_worklist(db, record, policy)


def sweep_deadlines(
    db: Database, publish: Callable[[dict], None], policy: sla.Policy, now: datetime | None = None
) -> int:
    """Look at the cases whose deadline has come: a case near its due time is announced
    ``feedback.due_soon`` (once per due time), a case past it overdue (once: the write that
    stages ``feedback.overdue`` records ``overdue_at``); a resolved case whose reopen window
    has passed closes. Reads only the work list's due entries and, by ``_id``, their cases.
    Returns how many cases changed."""
    now = now or datetime.now(UTC)
    changed = 0

    def build(record: dict) -> Change | None:
        due = record.get("due_at") and record["due_at"].replace(tzinfo=UTC)
        resolved_at = record.get("resolved_at") and record["resolved_at"].replace(tzinfo=UTC)
        if sla.is_overdue(record["status"], due, now) and record.get("overdue_at") is None:
            return feedback.overdue(record, now)
        if feedback.warning_due(record, policy, now):
            return feedback.due_soon(record, now)
        if lifecycle.closes_by_itself(record["status"], resolved_at, now, policy.reopen_window):
            return feedback.status_change(record, lifecycle.Move("closed"), "system", "system", now)
        return None  # a stale entry: the sync brings it up to date

    for feedback_id in store.due(db, now):
        try:
            changed += int(_change(db, publish, policy, feedback_id, build)[1])
        except NotFound:
            continue
        except ChangedMeanwhile:
            log.info("deadline of %s: the case keeps changing; next sweep", feedback_id)
    store.purge_worklist(db, now - feedback.PURGE_AFTER)
    return changed


def list_cases(db: Database, caller: Caller, query: dict) -> dict:
    """A department's work list (a department key sees only its own), oldest due first."""
    department = query.get("department_id")
    if not caller.admin:
        if department not in (None, caller.department_id):
            raise NotYours(department)
        department = caller.department_id
    limit = query["limit"]
    entries = store.list_cases(
        db,
        department_id=department,
        status=query.get("status"),
        overdue=query.get("overdue"),
        after=query.get("cursor"),
        limit=limit + 1,
        include_me_too=bool(query.get("include_me_too")),
    )
    page = entries[:limit]
    more = len(entries) > limit
    return {
        "cases": [feedback.case_item(e) for e in page],
        "next_cursor": page[-1]["order"] if more else None,
    }


# ---------------------------------------------------------------- "me too" (issue 15)


def _primary_of(db: Database, record: dict) -> dict | None:
    """The case a linked me-too case repeats (one read by ``_id``), else None."""
    if not duplicates.is_linked(record) or not record.get("similar_to"):
        return None
    return store.get(db, record["similar_to"])


def public_view(db: Database, record: dict) -> dict:
    """``feedback.public_view``, with the primary's current state for a linked me-too case."""
    return feedback.public_view(record, _primary_of(db, record))


def staff_view(db: Database, record: dict) -> dict:
    return feedback.staff_view(record, _primary_of(db, record))


def apply_duplicate_suspected(
    db: Database, policy: sla.Policy, data: dict, now: datetime | None = None
) -> dict:
    """Apply ``feedback.duplicate_suspected`` (categorization): the new case joins the
    primary's set (``store.join_primary``: idempotent), then records its link, ``suspected``;
    when the primary is unknown or final (or the new case final), the link is recorded on the
    new case only, ``lapsed``. The primary is written first, so a crash between the two writes
    is finished by the redelivery (which finds no link on the new case yet, and the set
    unchanged by a second join); a link recorded already decides (a redelivery after an undo
    does not join again). Returns the new case. Raises InvalidMessage for a case that repeats
    itself or that intake does not know (categorization only knows the cases intake stored:
    the message is dead-lettered with the reason)."""
    feedback_id, primary_id = data["feedback_id"], data["similar_to"]
    if feedback_id == primary_id:
        raise InvalidMessage(f"feedback.duplicate_suspected: {feedback_id} cannot repeat itself")
    record = store.get(db, feedback_id)
    if record is None:
        raise InvalidMessage(f"feedback.duplicate_suspected: no case {feedback_id} in intake")
    if duplicates.link_of(record) is None:
        primary = store.get(db, primary_id)
        joined = duplicates.may_join(primary, record) and store.join_primary(
            db, primary_id, feedback_id
        )
        if primary is None:
            log.warning("%s repeats %s, unknown to intake: lapsed", feedback_id, primary_id)
        state = "suspected" if joined else "lapsed"

        def build(current: dict) -> Change | None:
            return feedback.duplicate_suspicion(current, data, state, now)

        record = _change(db, lambda event: None, policy, feedback_id, build)[0]
    _reconcile_primary(db, policy, record)
    return record


def _reconcile_primary(db: Database, policy: sla.Policy, record: dict) -> None:
    """Bring the primary's set in line with the me-too case's link (idempotent writes by
    ``_id``): in it while linked, out of it otherwise. Repairs a crash between the two writes
    of a suggestion or a review, whoever comes next (a redelivery, the department's retry)."""
    primary_id = record.get("similar_to")
    if not primary_id or duplicates.link_of(record) is None:
        return
    if duplicates.is_linked(record):
        store.join_primary(db, primary_id, record["_id"])
    else:
        store.leave_primary(db, primary_id, record["_id"])
    sync_worklist(db, policy, primary_id)


def review_duplicate(
    db: Database,
    publish: Callable[[dict], None],
    policy: sla.Policy,
    feedback_id: str,
    decision: str,
    caller: Caller,
    now: datetime | None = None,
) -> dict:
    """A department confirms or undoes a me-too case's link (``feedback.duplicate_reviewed``,
    recorded with who and when; it trains nothing). The department of the me-too case or of its
    primary may (an admin too). ``confirmed``: the case moves to ``duplicate`` of the primary
    when its state allows it, and its citizen keeps following the primary; ``undone``: the case
    is written first (a case of its own again, back in the lists), then it leaves the primary's
    set, so a crash between the two leaves it following a case it does not repeat until the
    retry (a repeat of the same decision answers as before and finishes the primary's write),
    never hidden behind one. Raises NotFound, NotYours, duplicates.LinkRefused or
    ChangedMeanwhile."""
    record = store.get(db, feedback_id)
    if record is None:
        raise NotFound(feedback_id)
    primary = store.get(db, record["similar_to"]) if record.get("similar_to") else None
    owners = {record.get("department_id"), (primary or {}).get("department_id")} - {None}
    if not caller.admin and caller.department_id not in owners:
        raise NotYours(feedback_id)
    actor = "admin" if caller.admin else "department"

    def build(current: dict) -> Change | None:
        if not duplicates.check_review(current, decision):
            return None  # the same decision again: answered as before
        return feedback.duplicate_review(current, decision, caller.name, actor, now)

    record = _change(db, publish, policy, feedback_id, build)[0]
    _reconcile_primary(db, policy, record)
    return record


# ---------------------------------------------------------------- Open311 GeoReport v2


def submit_open311(db: Database, publish: Callable[[dict], None], submission: dict) -> dict:
    """A service request from an Open311 client: a feedback like any other (channel open311)."""
    result = _insert(
        db,
        lambda feedback_id=None: feedback.new_record(
            submission, channel="open311", feedback_id=feedback_id
        ),
    )
    outbox.relay_or_defer(db.feedback, result.record["_id"], publish, result.record["outbox"])
    return result.record


def open311_requests(
    db: Database, query: open311.Query, now: datetime | None = None, base_url: str = ""
) -> list:
    """``GET requests``: the asked-for ids, or the requests submitted in the window (newest
    first, by the day index: the days asked for, never the whole collection), filtered, one
    page."""
    if query.ids:
        found = (store.get(db, i) for i in dict.fromkeys(query.ids))
        views = [open311.request_view(r, TAXONOMY, query.extensions, base_url) for r in found if r]
        return views
    start, end = query.window(now or datetime.now(UTC))
    skip, views = (query.page - 1) * query.page_size, []
    for day in _days(start, end):
        records = (store.get(db, i) for i in dict.fromkeys(store.day_ids(db, "requests", day)))
        in_window = [r for r in records if r and start <= _utc(r["created_at"]) <= end]
        for record in sorted(in_window, key=lambda r: (r["created_at"], r["_id"]), reverse=True):
            view = open311.request_view(record, TAXONOMY, query.extensions, base_url)
            if not query.matches(view):
                continue
            if skip:
                skip -= 1
                continue
            views.append(view)
            if len(views) == query.page_size:
                return views
    return views


def open311_updates(db: Database, start: datetime, end: datetime) -> list[dict]:
    """FixMyStreet's ``servicerequestupdates``: every public move in [start, end], oldest
    first, at most ``open311.MAX_ROWS``."""
    found: list[dict] = []
    for day in reversed(_days(start, end)):
        for feedback_id in dict.fromkeys(store.day_ids(db, "updates", day)):
            record = store.get(db, feedback_id)
            if record is not None:
                found.extend(open311.updates(record, start, end))
    found.sort(key=lambda u: (u["updated_datetime"], u["update_id"]))
    return list({u["update_id"]: u for u in found}.values())[: open311.MAX_ROWS]


def _days(start: datetime, end: datetime) -> list[str]:
    """The UTC days from ``end`` back to ``start``, newest first."""
    day, first, days = end.astimezone(UTC).date(), start.astimezone(UTC).date(), []
    while day >= first:
        days.append(day.isoformat())
        day -= timedelta(days=1)
    return days


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# ---------------------------------------------------------------- WhatsApp, SMS, e-mail


def receive_message(
    db: Database, publish: Callable[[dict], None], message, photos: list
) -> tuple[str, dict]:
    """A citizen's message from a provider (services/intake/channels.Inbound): a status
    question is answered (``feedback.status_requested``), anything else is a report on the
    message's channel. Idempotent by the provider's message id. Returns ("question" or
    "report", the stored document)."""
    now = datetime.now(UTC)
    key = f"{message.channel}:{message.message_id}"
    asked = message.asks_status_of
    if asked:
        case = store.get(db, asked)
        question = feedback.status_question(message, key, case, now)
        stored, created = store.insert_question(db, question)
        if created:
            outbox.relay_or_defer(db.replies, stored["_id"], publish, stored["outbox"])
        return "question", stored
    submission = channels.as_submission(message)
    result = _submit_with_photos(
        db, publish, submission, photos, message.channel, message.message_id, None
    )
    return "report", result.record


def reply_address(
    db: Database, reply_id: str, keys: tuple[str, ...] = (), public_url: str = ""
) -> dict | None:
    """Where a reply goes (for notification, with its API key): a case's own channel and
    contact, and its tracking link (with the citizen token); or a status question's sender.
    Both with the e-mail address's unsubscribe link; an address that opted out is withheld.
    None for an erased case or question, as for an unknown one."""
    signing = store.secret_keys(db, keys)
    if reply_id.startswith("Q-"):
        question = store.question(db, reply_id)
        if question is None or feedback.is_erased(question):
            return None
        reply = feedback.question_reply(question)
    else:
        case = store.get_private(db, reply_id)
        if case is None or feedback.is_erased(case):
            return None  # notification settles the reply ``no_address``
        token = tokens.citizen_token(signing, reply_id)
        reply = feedback.case_reply(case, f"{public_url}/track/{reply_id}?token={token}")
    email = feedback.reply_email(reply)
    if email is None:
        return feedback.with_optout(reply, None, False)
    hashed = tokens.address_hash(email)
    link = f"{public_url}/unsubscribe/{hashed}?token={tokens.unsubscribe_token(signing, hashed)}"
    return feedback.with_optout(reply, link, store.opted_out(db, hashed))


def may_unsubscribe(
    db: Database, configured: tuple[str, ...], address_hash: str, token: str
) -> bool:
    """Whether ``token`` is this address's unsubscribe token (the page's GET: nothing changes)."""
    return tokens.verify_unsubscribe(store.secret_keys(db, configured), address_hash, token)


def opted_out(db: Database, address_hash: str) -> bool:
    return store.opted_out(db, address_hash)


def unsubscribe(
    db: Database,
    configured: tuple[str, ...],
    address_hash: str,
    token: str,
    now: datetime | None = None,
) -> None:
    """The address's holder wants no more mail: from the next reply address asked for on,
    its e-mail is withheld. Idempotent. Raises WrongToken."""
    if not may_unsubscribe(db, configured, address_hash, token):
        raise WrongToken(address_hash)
    store.record_optout(db, address_hash, now or datetime.now(UTC))
