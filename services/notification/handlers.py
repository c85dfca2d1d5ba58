"""Notification's use case: record what an event calls for, then send what can be sent now
(a citizen's mail), once: a delivery is claimed before it is sent and settled after."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

from pymongo.database import Database

from services.notification import deliveries, messages, outbound, store
from shared.events import Event

log = logging.getLogger(__name__)


def on_event(db: Database, config: dict, event: Event) -> int:
    """Record the event's deliveries; mail the citizen's. Returns how many were sent.
    Raises outbound.Unavailable (transient: the event is retried; sent ones are not sent
    again)."""
    planned = deliveries.plan(event)
    store.record(db, planned)
    if not config.get("NOTIFICATION_API_KEY"):
        return 0  # no key to read addresses with: deliveries are recorded only
    sent = 0
    for delivery in planned:
        kind = messages.kind_of(delivery["kind"])
        if delivery["audience"] == "citizen" and kind is not None:
            sent += _mail_citizen(db, config, delivery, kind)
    return sent


def _mail_citizen(db: Database, config: dict, delivery: dict, kind: str) -> int:
    now = datetime.now(UTC)
    if store.claim(db, delivery["_id"], now) is None:
        return 0  # sent already (a redelivered event), or being sent by another process
    try:
        address = outbound.reply_address(
            config["INTAKE_URL"], config["NOTIFICATION_API_KEY"], delivery["feedback_id"]
        )
        email = (address or {}).get("email")
        if not email:
            store.settle(db, delivery["_id"], "no_address", now, via="email")
            return 0
        mail = messages.citizen_mail(
            kind,
            address.get("language"),
            {
                "id": delivery["feedback_id"],
                "status": delivery.get("case_status"),
                "note": delivery.get("note"),
                "track": address.get("track_url") or "",
            },
        )
        outbound.send_mail(config["SMTP"], email, mail, delivery["_id"])
    except BaseException:
        store.release(db, delivery["_id"])
        raise
    # the address itself is not kept: a hash says to whom it went
    to = hashlib.sha256(email.lower().encode()).hexdigest()[:16]
    store.settle(db, delivery["_id"], "sent", datetime.now(UTC), via="email", to_hash=to)
    log.info("mailed %s (%s)", delivery["_id"], kind)
    return 1
