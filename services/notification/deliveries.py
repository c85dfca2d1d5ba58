"""What notification tells whom, decided from events (pure).

A delivery names its audience, never a person: the citizen's contact stays in intake and is
looked up only when a real channel sends the message. Each delivery has a deterministic id, so
an event handled twice records it once (exactly once per feedback, kind and audience).
"""

from __future__ import annotations

from datetime import UTC, datetime

from shared.events import Event


def _delivery(
    feedback_id: str, kind: str, audience: str, recipient: str, event: Event, now: datetime, **extra
) -> dict:
    return {
        "_id": f"{feedback_id}:{kind}:{audience}",
        "feedback_id": feedback_id,
        "kind": kind,
        "audience": audience,  # citizen | department
        "recipient": recipient,  # "citizen" (resolved by intake) or the department's name
        "status": "recorded",
        "event_id": event.id,
        "correlation_id": event.correlation_id,
        "created_at": now,
        **extra,
    }


def _deadline(fid: str, kind: str, event: Event, now: datetime) -> dict:
    """The department's delivery of a deadline (``feedback.overdue``, ``feedback.due_soon``)."""
    data = event.data
    return _delivery(
        fid,
        kind,
        "department",
        data.get("department") or data.get("department_id") or "triage",
        event,
        now,
        due_at=data["due_at"],
        category=data.get("category"),
        priority=data.get("priority"),
    )


def plan(event: Event, now: datetime | None = None) -> list[dict]:
    """The deliveries an event calls for."""
    now = now or datetime.now(UTC)
    data = event.data
    if event.type == "alert.spike_detected":
        return _spike(event, now)
    fid = data["feedback_id"]
    if data.get("imported"):  # history loaded by `suara import`: nobody is told
        return []
    if event.type == "feedback.received":
        # the tracking id at once, on the channel the citizen used (its address: intake's
        # GET /api/v1/replies/{feedback_id})
        return [
            _delivery(fid, "received", "citizen", "citizen", event, now, channel=data["channel"])
        ]
    if event.type == "feedback.categorized":
        rev = data.get("revision", 1)
        return [
            _delivery(
                fid,
                f"categorized.r{rev}",
                "citizen",
                "citizen",
                event,
                now,
                category=data["category"],
                department=data["department"],
                priority=data["priority"],
            ),
            _delivery(
                fid,
                f"assigned.r{rev}",
                "department",
                data["department"],
                event,
                now,
                category=data["category"],
                priority=data["priority"],
            ),
        ]
    if event.type == "feedback.status_changed":
        # each move once (its sequence); the citizen hears of every move but their own, the
        # department of the citizen's (a reopened case, a closing rating)
        seq, to = data["sequence"], data["to"]
        extra = {"case_status": to, "note": data.get("note"), "sequence": seq}
        if data.get("actor") == "citizen":
            recipient = data.get("department_id") or "triage"
            own = _delivery(fid, f"status.{seq}", "department", recipient, event, now, **extra)
        else:
            own = _delivery(fid, f"status.{seq}", "citizen", "citizen", event, now, **extra)
        return [own, *_followers(event, now, extra)]
    if event.type == "feedback.reassigned":
        seq = data["sequence"]
        return [
            _delivery(
                fid,
                f"assigned.t{seq}",
                "department",
                data["department"],
                event,
                now,
                from_department_id=data.get("from_department_id"),
            ),
            _delivery(
                fid,
                f"transferred.t{seq}",
                "citizen",
                "citizen",
                event,
                now,
                department=data["department"],
            ),
        ]
    if event.type == "feedback.overdue":
        return [_deadline(fid, "overdue", event, now)]
    if event.type == "feedback.due_soon":
        # one warning per due time (a recategorization that moves it warns again)
        return [_deadline(fid, f"sla_warning.{data['due_at']}", event, now)]
    if event.type == "feedback.rated":
        return [
            _delivery(
                fid,
                "rated",
                "department",
                data.get("department_id") or "triage",
                event,
                now,
                score=data["score"],
            )
        ]
    if event.type == "feedback.status_requested":
        # the answer to a status question goes to whoever asked (intake's reply address)
        return [
            _delivery(
                fid,
                f"status_answer.{data['question_id']}",
                "citizen",
                data["question_id"],
                event,
                now,
                case_status=data.get("status"),
                channel=data["channel"],
            )
        ]
    if event.type == "feedback.urgent":
        # the department's mail, and its on-call number when it has one (SUARA_DEPARTMENT_ONCALL)
        extra = {"category": data["category"], "reasons": data.get("reasons", [])}
        return [
            _delivery(fid, "urgent", "department", data["department"], event, now, **extra),
            _delivery(
                fid,
                "urgent.oncall",
                "department",
                data["department"],
                event,
                now,
                oncall=True,
                **extra,
            ),
        ]
    return []


def _followers(event: Event, now: datetime, extra: dict) -> list[dict]:
    """The "me too" cases (issue 15): each follower's citizen (a case linked to this one, named
    in the event's ``followers``) hears the move too: a delivery of the follower's own case (its
    citizen's reply address, its log, its erasure), once per event and follower (the id names
    the followed case and the move)."""
    data = event.data
    fid, seq = data["feedback_id"], data["sequence"]
    return [
        _delivery(
            follower,
            f"followed.{fid}.{seq}",
            "citizen",
            "citizen",
            event,
            now,
            followed_id=fid,
            **extra,
        )
        for follower in dict.fromkeys(data.get("followers") or ())
        if follower != fid
    ]


# what a surge alert's deliveries carry for the department's message (messages.department_mail)
SPIKE_VALUES = (
    "alert_id",
    "kelurahan",
    "kecamatan",
    "category",
    "count",
    "window_minutes",
    "baseline_per_hour",
    "threshold",
    "started_at",
    "detected_at",
)


def _spike(event: Event, now: datetime) -> list[dict]:
    """A surge (``alert.spike_detected``, from reporting): the department's mail and its on-call
    number, as for an urgent case; about no one case (``feedback_id`` None), once per alert."""
    data = event.data
    department = data.get("department_id") or "dinkominfo-triage"
    facts = {k: data.get(k) for k in SPIKE_VALUES}
    return [
        {
            "_id": f"{data['alert_id']}:{kind}:department",
            "feedback_id": None,
            "kind": kind,
            "audience": "department",
            "recipient": department,
            "status": "recorded",
            "event_id": event.id,
            "correlation_id": event.correlation_id,
            "created_at": now,
            **({"oncall": True} if kind == "spike.oncall" else {}),
            **facts,
        }
        for kind in ("spike", "spike.oncall")
    ]
