"""The dashboard's use cases: the overdue table kept from events, read for staff, and the
secrets that sign staff sessions (``sessions.py``). The rules are ``overdue.py`` (pure); the
reads and writes ``store.py``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.reporting import overdue, store

if TYPE_CHECKING:  # for annotations only: the store does the I/O
    from pymongo.database import Database


def on_overdue(db: Database, data: dict) -> bool:
    """``feedback.overdue``: the case joins the table, unless the projection counts it closed
    already (a close that came first wins). False when it is not listed."""
    projection = store.projection_of(db, data["feedback_id"])
    if not overdue.should_list(projection):
        return False
    store.put_overdue(db, overdue.row(data, projection))
    return True


def on_status_changed(db: Database, data: dict) -> bool:
    """``feedback.status_changed``: a close takes the case out of the table (a repeat: no-op)."""
    if not overdue.closes(data):
        return False
    store.drop_overdue(db, data["feedback_id"])
    return True


def overdue_table(db: Database, department_id: str | None) -> list[dict]:
    """The overdue open cases with their redacted text: all for an admin, a department's own
    for a department."""
    return overdue.table(store.overdue_rows(db, overdue.MAX_ROWS * 2), department_id)


def session_secrets(db: Database, configured: tuple[str, ...]) -> tuple[str, ...]:
    return store.session_secrets(db, configured)
