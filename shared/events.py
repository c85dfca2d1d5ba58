"""The event contracts: every event Suara publishes, in one place.

An event is named by its publishing service and its type (also its AMQP routing key); it is
published on the topic exchange ``<service>.events`` as a CloudEvents 1.0 JSON document
(structured content mode, ``application/cloudevents+json``). Event data never carries personal
data (names, e-mail addresses, phone numbers): those stay in intake.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from shared import observability, taxonomy, untrusted

SPEC_VERSION = "1.0"
SCHEMA_VERSION = 1
CONTENT_TYPE = "application/cloudevents+json"
TYPE_PREFIX = "id.go.pekalongankota.suara."

CATEGORY_IDS = taxonomy.TAXONOMY.category_ids  # shared/data/taxonomy.yaml
# where a feedback came from: an open list (consumers take a channel they do not know yet)
CHANNELS = ("web", "whatsapp", "sms", "email", "open311", "http", "amqp")
CHANNEL = r"^[a-z][a-z0-9_]{0,31}$"


class EventData(Schema):
    """Consumers ignore fields they do not know, so a publisher may add optional fields."""

    class Meta:
        unknown = EXCLUDE


class Location(EventData):
    # The street address is left out on purpose: it may be a citizen's home address.
    lat = fields.Float(allow_none=True, validate=validate.Range(-90, 90))
    lon = fields.Float(allow_none=True, validate=validate.Range(-180, 180))
    kecamatan = fields.String(allow_none=True, validate=validate.Length(max=100))
    kelurahan = fields.String(allow_none=True, validate=validate.Length(max=100))


class FeedbackReceived(EventData):
    feedback_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    channel = fields.String(required=True, validate=validate.Regexp(CHANNEL))
    source = fields.String(allow_none=True, validate=validate.Length(max=100))
    text = fields.String(required=True, validate=validate.Length(min=1, max=20_000))
    language = fields.String(allow_none=True, validate=validate.Length(max=10))
    category_hint = fields.String(allow_none=True, validate=validate.Length(max=100))
    location = fields.Nested(Location, allow_none=True)
    submitted_at = fields.String(required=True)
    # added (optional): history loaded by `suara import`, told to nobody; its category, if the
    # earlier system had one, is taken as given
    imported = fields.Boolean(load_default=False)
    category = fields.String(allow_none=True, validate=validate.OneOf(CATEGORY_IDS))


class FeedbackCategorized(EventData):
    feedback_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORY_IDS))
    department = fields.String(required=True)
    # added (optional): the department's stable id (shared/data/taxonomy.yaml), beside its name
    department_id = fields.String(
        allow_none=True, validate=validate.Regexp(taxonomy.DEPARTMENT_ID.pattern)
    )
    confidence = fields.Float(required=True, validate=validate.Range(0, 1))
    priority = fields.String(required=True, validate=validate.OneOf(("normal", "urgent")))
    method = fields.String(
        required=True, validate=validate.OneOf(("model", "fallback", "keyword", "manual"))
    )
    model_version = fields.String(allow_none=True)
    needs_review = fields.Boolean(load_default=False)
    language = fields.String(allow_none=True)
    revision = fields.Integer(load_default=1, validate=validate.Range(min=1))
    categorized_at = fields.String(required=True)
    imported = fields.Boolean(load_default=False)  # added (optional): see FeedbackReceived
    # added (optional, issue 15): "me too". similar_to: the earliest open case at the same place
    # describing the same problem (services/categorization/duplicates.py); cluster_id: the id of
    # the cluster this feedback belongs to, the feedback id of its first case (its own id when
    # it starts one). Both absent or null when no check ran (imported history, no location).
    cluster_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))
    similar_to = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))


class FeedbackDuplicateSuspected(EventData):
    """A new feedback repeats an open case at the same place (issue 15): published once, with
    the ``feedback.categorized`` that carries the same ``similar_to`` and ``cluster_id``."""

    feedback_id = fields.String(required=True, validate=validate.Length(min=1, max=64))  # new
    similar_to = fields.String(required=True, validate=validate.Length(min=1, max=64))
    cluster_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    similarity = fields.Float(required=True, validate=validate.Range(0, 1))  # of the texts
    distance_m = fields.Float(allow_none=True, validate=validate.Range(min=0))  # with coordinates
    kelurahan = fields.String(allow_none=True, validate=validate.Length(max=100))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORY_IDS))
    department_id = fields.String(
        allow_none=True, validate=validate.Regexp(taxonomy.DEPARTMENT_ID.pattern)
    )
    suspected_at = fields.String(required=True)


class FeedbackDuplicateReviewed(EventData):
    """A department confirmed or undid a "me too" link (issue 15): recorded, trains nothing.
    ``undone``: the feedback leaves the cluster and is a case of its own again."""

    feedback_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    similar_to = fields.String(required=True, validate=validate.Length(min=1, max=64))
    cluster_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    decision = fields.String(required=True, validate=validate.OneOf(("confirmed", "undone")))
    department_id = fields.String(
        allow_none=True, validate=validate.Regexp(taxonomy.DEPARTMENT_ID.pattern)
    )
    reviewed_at = fields.String(required=True)


class FeedbackUrgent(EventData):
    feedback_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORY_IDS))
    department = fields.String(required=True)
    department_id = fields.String(  # added (optional), as in FeedbackCategorized
        allow_none=True, validate=validate.Regexp(taxonomy.DEPARTMENT_ID.pattern)
    )
    reasons = fields.List(fields.String(), load_default=list)
    flagged_at = fields.String(required=True)


# a case's states (services/intake/lifecycle.py says who may move it where)
STATUSES = (
    "received",
    "in_review",
    "categorized",
    "acknowledged",
    "in_progress",
    "resolved",
    "closed",
    "rejected",
    "duplicate",
    "reopened",
)


class FeedbackStatusChanged(EventData):
    feedback_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    from_ = fields.String(required=True, data_key="from", validate=validate.OneOf(STATUSES))
    to = fields.String(required=True, validate=validate.OneOf(STATUSES))
    department_id = fields.String(
        allow_none=True, validate=validate.Regexp(taxonomy.DEPARTMENT_ID.pattern)
    )
    note = fields.String(allow_none=True)  # public notes only, redacted of personal data
    duplicate_of = fields.String(allow_none=True)
    # added (optional): who moved it
    actor = fields.String(
        allow_none=True, validate=validate.OneOf(("department", "admin", "citizen", "system"))
    )
    sequence = fields.Integer(required=True, validate=validate.Range(min=1))  # per case
    changed_at = fields.String(required=True)
    # added (optional, issue 15): the "me too" cases linked to this one and not undone; their
    # citizens hear this case's updates too (notification)
    followers = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        load_default=list,
        validate=validate.Length(max=1000),
    )


_DEPARTMENT_ID = {"validate": validate.Regexp(taxonomy.DEPARTMENT_ID.pattern)}


class FeedbackReassigned(EventData):
    feedback_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    from_department_id = fields.String(allow_none=True, **_DEPARTMENT_ID)
    department_id = fields.String(required=True, **_DEPARTMENT_ID)  # the new one
    department = fields.String(required=True)  # its name
    reason = fields.String(allow_none=True)  # redacted of personal data
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))  # after the move
    sequence = fields.Integer(required=True, validate=validate.Range(min=1))  # as status_changed
    reassigned_at = fields.String(required=True)


class FeedbackRated(EventData):
    feedback_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    score = fields.Integer(required=True, validate=validate.Range(1, 5))
    comment = fields.String(allow_none=True)  # redacted of personal data
    department_id = fields.String(allow_none=True, **_DEPARTMENT_ID)
    category = fields.String(allow_none=True, validate=validate.OneOf(CATEGORY_IDS))
    rated_at = fields.String(required=True)


class _Deadline(EventData):
    """What a deadline's event says of its case."""

    feedback_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    department_id = fields.String(allow_none=True, **_DEPARTMENT_ID)
    department = fields.String(allow_none=True)
    category = fields.String(allow_none=True, validate=validate.OneOf(CATEGORY_IDS))
    priority = fields.String(allow_none=True, validate=validate.OneOf(("normal", "urgent")))
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    due_at = fields.String(required=True)


class FeedbackOverdue(_Deadline):
    overdue_at = fields.String(required=True)


class FeedbackDueSoon(_Deadline):
    warned_at = fields.String(required=True)


class FeedbackStatusRequested(EventData):
    feedback_id = fields.String(required=True, validate=validate.Length(min=1, max=64))  # asked
    question_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    channel = fields.String(required=True, validate=validate.Regexp(CHANNEL))
    found = fields.Boolean(required=True)
    status = fields.String(allow_none=True, validate=validate.OneOf(STATUSES))
    department_id = fields.String(allow_none=True, **_DEPARTMENT_ID)
    due_at = fields.String(allow_none=True)
    asked_at = fields.String(required=True)


class FeedbackErased(EventData):
    """A citizen's personal data was erased from a case in intake (the case itself stays)."""

    feedback_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    erased_at = fields.String(required=True)


NOTIFICATION_CHANNELS = ("email", "whatsapp", "sms", "webhook")


class NotificationSent(EventData):
    """A message left Suara (no personal data: the recipient is an audience and a hash)."""

    delivery_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    feedback_id = fields.String(allow_none=True, validate=validate.Length(max=64))
    channel = fields.String(required=True, validate=validate.OneOf(NOTIFICATION_CHANNELS))
    audience = fields.String(
        required=True, validate=validate.OneOf(("citizen", "department", "integrator"))
    )
    kind = fields.String(required=True, validate=validate.Length(min=1, max=100))
    recipient_hash = fields.String(allow_none=True, validate=validate.Length(max=64))
    webhook_id = fields.String(allow_none=True, validate=validate.Length(max=64))
    attempts = fields.Integer(required=True, validate=validate.Range(min=1))
    sent_at = fields.String(required=True)


class NotificationFailed(NotificationSent):
    """A message could not be delivered, retries exhausted or refused for good."""

    sent_at = fields.String(allow_none=True)
    reason = fields.String(required=True, validate=validate.Length(max=1000))
    failed_at = fields.String(required=True)


class SpikeDetected(EventData):
    """A surge of one category's cases in one kelurahan against its own usual rate (issue 13):
    once per surge; no case, no text, nothing about anyone (services/reporting/surges.py)."""

    alert_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    kelurahan = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kecamatan = fields.String(allow_none=True, validate=validate.Length(max=100))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORY_IDS))
    department_id = fields.String(allow_none=True, **_DEPARTMENT_ID)
    count = fields.Integer(required=True, validate=validate.Range(min=1))  # in the window
    window_minutes = fields.Integer(required=True, validate=validate.Range(min=1))
    baseline_per_hour = fields.Float(required=True, validate=validate.Range(min=0))
    threshold = fields.Integer(required=True, validate=validate.Range(min=1))  # count needed
    started_at = fields.String(required=True)  # the window's first case
    detected_at = fields.String(required=True)


@dataclass(frozen=True)
class EventSpec:
    service: str  # the publisher
    type: str  # also the routing key
    schema: type[Schema]
    description: str
    consumers: tuple[str, ...]  # services that consume it

    @property
    def exchange(self) -> str:
        return f"{self.service}.events"

    @property
    def ce_type(self) -> str:
        return TYPE_PREFIX + self.type

    @property
    def dataschema(self) -> str:
        return f"urn:suara:schema:{self.type}:v{SCHEMA_VERSION}"


EVENTS: dict[tuple[str, str], EventSpec] = {
    (spec.service, spec.type): spec
    for spec in (
        EventSpec(
            "intake",
            "feedback.received",
            FeedbackReceived,
            "a feedback was accepted and stored (any channel)",
            ("categorization", "notification", "reporting"),
        ),
        EventSpec(
            "categorization",
            "feedback.categorized",
            FeedbackCategorized,
            "a feedback got a category and department (model, keyword or staff)",
            ("intake", "notification", "reporting"),
        ),
        EventSpec(
            "categorization",
            "feedback.duplicate_suspected",
            FeedbackDuplicateSuspected,
            "a new feedback describes the same problem at the same place as an open case within "
            'the window ("me too"): linked to the earliest one (similar_to) and its cluster',
            ("intake", "reporting"),
        ),
        EventSpec(
            "intake",
            "feedback.duplicate_reviewed",
            FeedbackDuplicateReviewed,
            'a department confirmed or undid a "me too" link (recorded; trains nothing)',
            ("categorization", "reporting"),
        ),
        EventSpec(
            "categorization",
            "feedback.urgent",
            FeedbackUrgent,
            "a feedback describes an emergency",
            ("notification", "reporting"),
        ),
        EventSpec(
            "intake",
            "feedback.status_changed",
            FeedbackStatusChanged,
            "a case moved in its lifecycle (status, public note): a department, the citizen "
            "or the clock (closed after the reopen window)",
            ("intake", "categorization", "notification", "reporting"),
        ),
        EventSpec(
            "intake",
            "feedback.reassigned",
            FeedbackReassigned,
            "a case was handed to another department (transfer; its history stays)",
            ("intake", "notification", "reporting"),
        ),
        EventSpec(
            "intake",
            "feedback.rated",
            FeedbackRated,
            "the citizen rated the resolution of their case (score 1..5)",
            ("notification", "reporting"),
        ),
        EventSpec(
            "intake",
            "feedback.overdue",
            FeedbackOverdue,
            "a case passed its SLA due time while still being worked (once per case)",
            ("intake", "notification", "reporting"),
        ),
        EventSpec(
            "intake",
            "feedback.due_soon",
            FeedbackDueSoon,
            "a case still being worked reached SUARA_SLA_WARNING_AT of its time to its due time "
            "(once per case and due time): the department is warned",
            ("intake", "notification"),
        ),
        EventSpec(
            "intake",
            "feedback.status_requested",
            FeedbackStatusRequested,
            "a citizen asked a case's status by message (STATUS SU-...): what to answer; the "
            "answer's address is GET /api/v1/replies/{question_id} on intake",
            ("notification",),
        ),
        EventSpec(
            "intake",
            "feedback.erased",
            FeedbackErased,
            "an admin erased the citizen's personal data from a case (contact, reply address, "
            "photos, identifiers in the text); its lifecycle and category stay. Once per case; "
            "intake follows it to finish the erasure after a crash; notification forgets what "
            "its log kept of the case's recipients",
            ("intake", "notification"),
        ),
        EventSpec(
            "notification",
            "notification.sent",
            NotificationSent,
            "a message reached a citizen, a department or an integrator's webhook (once per "
            "delivery; the recipient only as a hash)",
            ("reporting",),
        ),
        EventSpec(
            "notification",
            "notification.failed",
            NotificationFailed,
            "a message could not be delivered: its retries ran out (the webhook's job is in "
            "suara.notification.deliveries.dead) or the provider refused it",
            ("reporting",),
        ),
        EventSpec(
            "reporting",
            "alert.spike_detected",
            SpikeDetected,
            "a surge of one category's cases in one kelurahan: at least SUARA_SURGE_MIN in "
            "SUARA_SURGE_WINDOW_MIN minutes and SUARA_SURGE_FACTOR times its usual rate (once "
            "per surge; the subject and correlation id are the alert id)",
            ("notification",),
        ),
    )
}

_BY_CE_TYPE = {spec.ce_type: spec for spec in EVENTS.values()}


def spec(service: str, event_type: str) -> EventSpec:
    try:
        return EVENTS[(service, event_type)]
    except KeyError:
        raise KeyError(f"no contract for event {service}/{event_type}") from None


class InvalidMessage(ValueError):
    """A message that can never be processed (not JSON, fails validation); the text says why."""


class InvalidEvent(InvalidMessage):
    """A message that is not a valid Suara CloudEvent; the text says why."""


class ContractBroken(RuntimeError):
    """An event *we* are about to publish breaks its own contract: our bug, not the sender's.

    Not an InvalidMessage, so a consumer that builds it retries and then dead-letters the
    incoming message as "failed", instead of blaming that message as invalid."""


def json_object(body: bytes | str) -> dict:
    """The JSON object in a message body, within shared.untrusted's bounds, or InvalidMessage."""
    try:
        return untrusted.json_object(body)
    except untrusted.UntrustedInput as exc:
        fields = f" {json.dumps(exc.fields, ensure_ascii=False)}" if exc.fields else ""
        raise InvalidMessage(f"body {exc.message}{fields}") from None


def now_iso() -> str:
    return iso(datetime.now(UTC))


def iso(moment: datetime) -> str:
    """A time as events carry it: UTC, milliseconds, ``Z`` (a naive time is taken as UTC)."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build(service: str, event_type: str, data: dict, *, subject: str, correlation_id: str) -> dict:
    """A CloudEvents 1.0 event (as a dict) whose data satisfies the contract."""
    contract = spec(service, event_type)
    errors = contract.schema().validate(data)
    if errors:
        raise ContractBroken(f"outgoing {event_type} data breaks its contract: {errors}")
    return {
        "specversion": SPEC_VERSION,
        "id": str(uuid.uuid4()),
        "source": f"/suara/{service}",
        "type": contract.ce_type,
        "subject": subject,
        "time": now_iso(),
        "datacontenttype": "application/json",
        "dataschema": contract.dataschema,
        "correlationid": correlation_id,
        # the CloudEvents distributed-tracing extension: the span that made this event
        **observability.trace_attributes(),
        "data": data,
    }


def encode(event: dict) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Event:
    id: str
    type: str  # the routing key form, e.g. "feedback.received"
    source: str
    subject: str | None
    time: str | None
    correlation_id: str | None
    data: dict
    # the CloudEvent as it arrived (validated), for those who forward it (webhooks)
    document: dict | None = field(default=None, compare=False, repr=False)


def decode(body: bytes | str, expected: EventSpec | None = None) -> Event:
    """Parse and validate a CloudEvent; raise InvalidEvent with the reason."""
    try:
        doc = json_object(body)
    except InvalidMessage as exc:
        raise InvalidEvent(str(exc)) from None
    if doc.get("specversion") != SPEC_VERSION:
        raise InvalidEvent(f"specversion must be {SPEC_VERSION!r}")
    for attribute in ("id", "source", "type"):
        if not isinstance(doc.get(attribute), str) or not doc[attribute]:
            raise InvalidEvent(f"CloudEvents attribute {attribute!r} is missing")
    contract = _BY_CE_TYPE.get(doc["type"])
    if contract is None or (expected is not None and contract is not expected):
        raise InvalidEvent(f"unexpected event type {doc['type']!r}")
    try:
        data = contract.schema().load(doc.get("data") or {})
    except ValidationError as exc:
        raise InvalidEvent(f"{contract.type} data breaks its contract: {exc.messages}") from None
    return Event(
        id=doc["id"],
        type=contract.type,
        source=doc["source"],
        subject=doc.get("subject"),
        time=doc.get("time"),
        correlation_id=doc.get("correlationid"),
        data=data,
        document=doc,
    )
