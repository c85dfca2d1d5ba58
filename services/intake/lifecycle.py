"""A case's lifecycle (issue 10): its states, who may move it where, and what each move needs.
Pure: no I/O; the intake handlers apply it to the stored case.

The system sets ``received``, ``in_review`` and ``categorized``; a department (or an admin) then
moves its case through ``acknowledged`` -> ``in_progress`` -> ``resolved``, or out by
``rejected`` (with the reason as a note) or ``duplicate`` (``duplicate_of`` another case); the
citizen may reopen a resolved case within a window (``reopened``), and a resolved case closes
(``closed``) when rated or when the window has passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.events import STATUSES as STATES  # the contract's list (feedback.status_changed)

SYSTEM = STATES[:3]  # received, in_review, categorized: set by the system only
FINAL = frozenset({"closed", "rejected", "duplicate"})
VISIBILITIES = ("public", "internal")

_WORK = ("acknowledged", "in_progress", "resolved", "rejected", "duplicate")
# actor -> current state -> the states it may move a case to
MOVES: dict[str, dict[str, frozenset[str]]] = {
    "staff": {
        "received": frozenset(_WORK),
        "in_review": frozenset(_WORK),
        "categorized": frozenset(_WORK),
        "reopened": frozenset(_WORK),
        "acknowledged": frozenset(_WORK) - {"acknowledged"},
        "in_progress": frozenset({"resolved", "rejected", "duplicate"}),
        "resolved": frozenset({"closed"}),
    },
    "citizen": {"resolved": frozenset({"reopened"})},
}


# a case may be handed to another department while it is still being worked
TRANSFERABLE = frozenset(
    {"received", "in_review", "categorized", "acknowledged", "in_progress", "reopened"}
)


def after_transfer(current: str) -> str:
    """The state a transfer leaves: the new department acknowledges the case afresh."""
    return "categorized" if current in ("acknowledged", "in_progress") else current


def check_transfer(current: str, source: str | None, target: str, known: set[str]) -> None:
    """Raise MoveInvalid or MoveRefused unless the case may go to department ``target``."""
    if target not in known:
        raise MoveInvalid({"department_id": ["no such department (GET /api/v1/departments)"]})
    if target == source:
        raise MoveInvalid({"department_id": ["the case is assigned to this department already"]})
    if current not in TRANSFERABLE:
        raise MoveRefused(current, "transferred", ())


def may_rate(status: str, rating: dict | None) -> bool:
    """A resolved case may be rated once (also after it closed by itself)."""
    return rating is None and status in ("resolved", "closed")


class MoveRefused(Exception):
    """The move is not allowed from the current state (HTTP 409): the allowed ones."""

    def __init__(self, current: str, target: str, allowed: tuple[str, ...]):
        super().__init__(f"a case that is {current} cannot become {target}")
        self.current, self.target, self.allowed = current, target, allowed


class MoveInvalid(Exception):
    """The move lacks what it needs (HTTP 400): field -> messages."""

    def __init__(self, fields: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()))
        self.fields = fields


@dataclass(frozen=True)
class Move:
    status: str
    note: str | None = None
    visibility: str = "public"
    duplicate_of: str | None = None


def allowed(current: str, actor: str) -> tuple[str, ...]:
    """The states ``actor`` ("staff" or "citizen") may move a case in ``current`` to."""
    return tuple(s for s in STATES if s in MOVES.get(actor, {}).get(current, ()))


def check(current: str, move: Move, actor: str, feedback_id: str) -> None:
    """Raise MoveInvalid or MoveRefused unless ``move`` is allowed for ``actor`` now."""
    fields: dict[str, list[str]] = {}
    if move.status not in STATES:
        fields["status"] = [f"one of {', '.join(STATES)}"]
    if move.visibility not in VISIBILITIES:
        fields["note_visibility"] = ["public or internal"]
    note = (move.note or "").strip()
    if move.status == "resolved" and not (note and move.visibility == "public"):
        fields["note"] = ["resolving needs a public note: what was done"]
    if move.status == "rejected" and not note:
        fields["note"] = ["rejecting needs the reason (e.g. not the city's responsibility, spam)"]
    if move.status == "duplicate":
        if not move.duplicate_of:
            fields["duplicate_of"] = ["the id of the case this one repeats"]
        elif move.duplicate_of == feedback_id:
            fields["duplicate_of"] = ["a case cannot repeat itself"]
    elif move.duplicate_of is not None:
        fields["duplicate_of"] = ["only with status duplicate"]
    if fields:
        raise MoveInvalid(fields)
    if move.status not in allowed(current, actor):
        raise MoveRefused(current, move.status, allowed(current, actor))


def after_categorization(current: str, needs_review: bool) -> str:
    """The state a (re)categorization leaves: the system's own states follow it; a case a
    department is already working keeps its state."""
    if current in SYSTEM:
        return "in_review" if needs_review else "categorized"
    return current


def may_reopen(status: str, resolved_at: datetime | None, now: datetime, window: timedelta):
    """Can the citizen still reopen this case?"""
    return status == "resolved" and resolved_at is not None and now <= resolved_at + window


def closes_by_itself(
    status: str, resolved_at: datetime | None, now: datetime, window: timedelta
) -> bool:
    """Has a resolved case's reopen window passed (it then closes)?"""
    return status == "resolved" and resolved_at is not None and now > resolved_at + window


def public_history(history: list[dict]) -> list[dict]:
    """What anyone with the tracking id sees of a case's history: each state and time, with
    the note only where it is public, and the department a transfer handed the case to."""
    return [
        {
            "status": h["status"],
            "at": h["at"],
            **({"note": h["note"]} if h.get("note") and h.get("visibility") == "public" else {}),
            **({"department_id": h["transfer"]["to"]} if h.get("transfer") else {}),
        }
        for h in history
    ]
