"""The dashboard's overdue table (pure): which cases are in it, and who sees which.

Reporting keeps a small ``overdue`` collection, one document per case past its due time and
still open, by the feedback's id: ``feedback.overdue`` puts it there (an upsert: a repeat
changes nothing), a ``feedback.status_changed`` to a closed state takes it out (a delete: a
repeat changes nothing). Events may come in any order; what each rule does about it:

- a close before its ``feedback.overdue`` (a redelivery, a slow queue): the overdue row is
  not written when the projection already counts the case closed (``should_list``), and a row
  is never shown for a case the projection counts closed (``shown``), so a close wins;
- a reopened case (closed, then reopened) is not listed again: intake sends
  ``feedback.overdue`` once per case;
- a transfer after the case went overdue: the row is shown to the department the projection
  names now (a transfer's, else the one the overdue event named).
"""

from __future__ import annotations

from services.reporting.reports import CLOSED

MAX_ROWS = 500  # what one table shows; the collection holds only open overdue cases
ROW_FIELDS = ("department_id", "category", "kelurahan", "due_at", "overdue_at")


def row(data: dict, projection: dict | None = None) -> dict:
    """The overdue row of a ``feedback.overdue`` event's data (the kelurahan from the
    projection: the event does not carry it)."""
    projection = projection or {}
    return {
        "_id": data["feedback_id"],
        "department_id": data.get("department_id"),
        "category": data.get("category"),
        "kelurahan": projection.get("kelurahan"),
        "due_at": data["due_at"],
        "overdue_at": data["overdue_at"],
    }


def counted_closed(projection: dict | None) -> bool:
    """The projection counts the case closed (its department's latest move, else the system's
    state, as ``projections.counted_status``)."""
    if not projection:
        return False
    status = projection.get("case_status") if projection.get("status_seq") else None
    return (status or projection.get("status")) in CLOSED


def should_list(projection: dict | None) -> bool:
    return not counted_closed(projection)


def closes(data: dict) -> bool:
    """A ``feedback.status_changed`` that takes the case out of the table."""
    return data.get("to") in CLOSED


def department_of(stored: dict, projection: dict | None) -> str | None:
    projection = projection or {}
    return (
        projection.get("assigned_department_id")
        or stored.get("department_id")
        or projection.get("department_id")
    )


def shown(stored: dict, projection: dict | None, department_id: str | None) -> dict | None:
    """The row as the table shows it to an admin (``department_id`` None) or a department
    (its own rows only), with the redacted text from the projection; None when hidden."""
    if counted_closed(projection):
        return None
    department = department_of(stored, projection)
    if department_id is not None and department != department_id:
        return None
    projection = projection or {}
    return {
        "id": stored["_id"],
        "department_id": department,
        "category": stored.get("category") or projection.get("category"),
        "kelurahan": stored.get("kelurahan") or projection.get("kelurahan"),
        "kecamatan": projection.get("kecamatan"),
        "due_at": stored.get("due_at"),
        "overdue_at": stored.get("overdue_at"),
        "text": projection.get("text"),  # redacted by intake, as every event's text
    }


def table(rows: list[tuple[dict, dict | None]], department_id: str | None) -> list[dict]:
    """The rows shown, the longest overdue first (earliest due time)."""
    found = [r for r in (shown(s, p, department_id) for s, p in rows) if r]
    return sorted(found, key=lambda r: (str(r["due_at"] or ""), r["id"]))[:MAX_ROWS]
