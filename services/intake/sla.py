"""When a case is due (pure): its category's SLA in the city's working time.

A normal case is due ``sla_hours`` *working* hours after it was submitted (the taxonomy's
figure, or SUARA_SLA_HOURS); an urgent one ``urgent_sla_hours`` *calendar* hours after, since an
emergency does not wait for Monday (SUARA_URGENT_SLA_HOURS). Imported history is not due.
A case is overdue once its due time has passed while it is still being worked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.taxonomy import TAXONOMY, Taxonomy
from shared.workcalendar import WorkCalendar

# the states in which the clock runs: the department still owes the citizen an answer
RUNNING = frozenset(
    {"received", "in_review", "categorized", "acknowledged", "in_progress", "reopened"}
)


@dataclass(frozen=True)
class Policy:
    calendar: WorkCalendar
    hours: Mapping[str, float] = field(default_factory=dict)  # overrides, working hours
    urgent_hours: Mapping[str, float] = field(default_factory=dict)  # overrides, calendar
    reopen_window: timedelta = timedelta(days=14)
    taxonomy: Taxonomy = TAXONOMY
    warning_at: float = 0.75  # the share of the time to the due time that warns (0: never)
    # from this similarity a suspected me-too case waits for its primary (hidden from lists,
    # no deadline of its own); 0: every suspected one (SUARA_DUPLICATE_HIDE_SIMILARITY)
    me_too_hidden_from: float = 0.0

    @classmethod
    def from_config(cls, config: Mapping) -> Policy:
        return cls(
            config["CALENDAR"],
            config.get("SLA_HOURS") or {},
            config.get("URGENT_SLA_HOURS") or {},
            timedelta(days=config.get("REOPEN_DAYS", 14)),
            warning_at=config.get("SLA_WARNING_AT", 0.75),
            me_too_hidden_from=config.get("DUPLICATE_HIDE_SIMILARITY", 0.8),
        )

    def due_at(self, submitted_at: datetime, category: str, priority: str | None) -> datetime:
        entry = self.taxonomy.category(category)
        if priority == "urgent":
            hours = self.urgent_hours.get(category, entry.urgent_sla_hours)
            return submitted_at + timedelta(hours=hours)
        return self.calendar.add(submitted_at, self.hours.get(category, entry.sla_hours))


def warning_time(submitted_at: datetime, due_at: datetime | None, share: float) -> datetime | None:
    """When a case's department is warned: ``share`` of the way from its report to its due
    time (wall-clock); None without a due time or with warnings off."""
    if due_at is None or share <= 0 or due_at <= submitted_at:
        return None
    return submitted_at + (due_at - submitted_at) * share


def is_overdue(status: str, due_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and status in RUNNING and now > due_at
