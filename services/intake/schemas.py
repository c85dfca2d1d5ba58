"""marshmallow schemas of intake's boundaries: the HTTP API and the ``feedback.submit`` command."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate, validates

from shared import events
from shared.events import CATEGORY_IDS

KECAMATAN = ("Pekalongan Barat", "Pekalongan Timur", "Pekalongan Selatan", "Pekalongan Utara")
FEEDBACK_ID = r"^SU-[0-9A-Z]{10}$"
SOURCE = r"^[a-z0-9][a-z0-9._-]{0,63}$"


class Location(Schema):
    class Meta:
        unknown = RAISE

    lat = fields.Float(allow_none=True, validate=validate.Range(-90, 90), allow_nan=False)
    lon = fields.Float(allow_none=True, validate=validate.Range(-180, 180), allow_nan=False)
    address = fields.String(allow_none=True, validate=validate.Length(max=300))
    kecamatan = fields.String(allow_none=True, validate=validate.Length(max=100))
    kelurahan = fields.String(allow_none=True, validate=validate.Length(max=100))


class Contact(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(allow_none=True, validate=validate.Length(max=200))
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(
        allow_none=True,
        validate=validate.Regexp(r"^\+?[0-9][0-9 ()-]{6,20}$", error="not a phone number"),
    )
    language = fields.String(
        allow_none=True, validate=validate.OneOf(("id", "en", "jv")), load_default="id"
    )


class _Text:
    text = fields.String(required=True, validate=validate.Length(max=5000))

    @validates("text")
    def _has_words(self, value: str, **kwargs) -> None:
        if len(value.strip()) < 3:
            raise ValidationError("text must have at least 3 characters")


class FeedbackSubmission(_Text, Schema):
    """``POST /api/v1/feedback``."""

    class Meta:
        unknown = RAISE

    location = fields.Nested(Location, allow_none=True)
    contact = fields.Nested(Contact, allow_none=True)
    category_hint = fields.String(allow_none=True, validate=validate.OneOf(CATEGORY_IDS))


class SubmitCommand(_Text, Schema):
    """A ``feedback.submit`` message from another city service (any AMQP client).

    Unknown fields are ignored, so a sender may add fields without breaking.
    """

    class Meta:
        unknown = EXCLUDE

    source = fields.String(
        required=True, validate=validate.Regexp(SOURCE, error="lower-case id, up to 64 chars")
    )
    external_id = fields.String(required=True, validate=validate.Length(min=1, max=128))
    location = fields.Nested(Location, allow_none=True, unknown=EXCLUDE)
    category_hint = fields.String(allow_none=True, validate=validate.OneOf(CATEGORY_IDS))
    # history from an earlier system (`suara import`): its own time, its category if it had
    # one, and nobody is told about it
    submitted_at = fields.AwareDateTime(allow_none=True)
    category = fields.String(allow_none=True, validate=validate.OneOf(CATEGORY_IDS))
    imported = fields.Boolean(load_default=False)

    @validates("submitted_at")
    def _not_in_the_future(self, value, **kwargs) -> None:
        if value is not None and value > datetime.now(UTC) + timedelta(minutes=5):
            raise ValidationError("submitted_at is in the future")


class StatusChange(Schema):
    """``POST /api/v1/feedback/{id}/status``: a department (or an admin) moves a case."""

    class Meta:
        unknown = RAISE

    status = fields.String(required=True, validate=validate.OneOf(events.STATUSES))
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))
    note_visibility = fields.String(
        load_default="public", validate=validate.OneOf(("public", "internal"))
    )
    duplicate_of = fields.String(allow_none=True, validate=validate.Regexp(FEEDBACK_ID))


def load_submit_command(body: bytes) -> dict:
    """A ``feedback.submit`` message -> validated dict; InvalidMessage says why not."""
    doc = events.json_object(body)
    errors = SubmitCommand().validate(doc)
    if errors:
        raise events.InvalidMessage(f"fields: {json.dumps(errors, ensure_ascii=False)}")
    return SubmitCommand().load(doc)


class Transfer(Schema):
    """``POST /api/v1/feedback/{id}/transfer``: hand a case to another department."""

    class Meta:
        unknown = RAISE

    department_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))


class _Citizen(Schema):
    class Meta:
        unknown = RAISE

    citizen_token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class Rating(_Citizen):
    """``POST /api/v1/feedback/{id}/rating``: the citizen's verdict on the resolution."""

    score = fields.Integer(required=True, strict=True, validate=validate.Range(1, 5))
    comment = fields.String(allow_none=True, validate=validate.Length(max=2000))


class Reopen(_Citizen):
    """``POST /api/v1/feedback/{id}/reopen``: the citizen says the problem is not solved."""

    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))


class DuplicateReview(Schema):
    """``POST /api/v1/feedback/{id}/duplicate``: a department confirms or undoes the "me too"
    link of a case to the case it repeats (issue 15)."""

    class Meta:
        unknown = RAISE

    decision = fields.String(required=True, validate=validate.OneOf(("confirmed", "undone")))


_CURSOR = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z|~)\|SU-[0-9A-Z]{10}$")


class CasesQuery(Schema):
    """``GET /api/v1/cases``: a department's work list."""

    class Meta:
        unknown = RAISE

    department_id = fields.String(validate=validate.Length(min=1, max=64))
    status = fields.String(validate=validate.OneOf(events.STATUSES))
    overdue = fields.Boolean()
    # linked "me too" cases are left out (their primary stands for them) unless asked for
    include_me_too = fields.Boolean(load_default=False)
    cursor = fields.String(validate=validate.Length(max=200))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))

    @validates("cursor")
    def _a_cursor(self, value: str, **kwargs) -> None:
        if decode_cursor(value) is None:
            raise ValidationError("not a cursor of this list (next_cursor)")


def encode_cursor(order: str) -> str:
    return base64.urlsafe_b64encode(order.encode()).decode().rstrip("=")


def decode_cursor(value: str) -> str | None:
    try:
        order = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return order if _CURSOR.fullmatch(order) else None
