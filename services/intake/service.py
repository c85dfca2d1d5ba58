"""Intake's nameko entrypoints: HTTP API, the ``feedback.submit`` command, categorization events."""

from __future__ import annotations

import json
import logging
import re

from nameko.dependency_providers import Config
from nameko.timer import timer
from nameko.web.handlers import http

from services.intake import feedback, schemas, store
from shared import events, outbox
from shared.http import HttpError, api, health, json_response, read_json
from shared.messaging import EventPublisher, InvalidMessage, command_handler, event_handler
from shared.mongo import MongoDatabase

log = logging.getLogger(__name__)


def decode_submit_command(body: bytes) -> dict:
    """A ``feedback.submit`` message -> validated dict; InvalidMessage says why not."""
    doc = events.json_object(body)
    errors = schemas.SubmitCommand().validate(doc)
    if errors:
        raise InvalidMessage(f"fields: {json.dumps(errors, ensure_ascii=False)}")
    return schemas.SubmitCommand().load(doc)


class IntakeService:
    name = "intake"

    db = MongoDatabase(store.ensure_indexes)
    publish = EventPublisher()
    config = Config()

    @http("POST", "/api/v1/feedback")
    @api
    def submit(self, request):
        body = read_json(request)
        submission = schemas.FeedbackSubmission().load(body)
        key = request.headers.get("Idempotency-Key")
        if key is not None and not 1 <= len(key) <= 255:
            raise HttpError(400, "validation", "Idempotency-Key must be 1 to 255 characters")
        fp = feedback.fingerprint(body)
        record = feedback.new_record(
            submission,
            channel="http",
            idempotency_key=key,
            request_fingerprint=fp if key else None,
            correlation_id=feedback.valid_correlation_id(request.headers.get("X-Correlation-Id")),
        )
        result = store.insert(self.db, record)
        if not result.created:
            if result.record.get("request_fingerprint") != fp:
                raise HttpError(
                    422,
                    "idempotency_key_reused",
                    "this Idempotency-Key was used with a different request",
                )
            return json_response(
                201, feedback.receipt(result.record), {"Idempotent-Replayed": "true"}
            )
        outbox.relay_or_defer(self.db.feedback, record["_id"], self.publish)
        return json_response(
            201, feedback.receipt(record), {"Location": f"/api/v1/feedback/{record['_id']}"}
        )

    @http("GET", "/api/v1/feedback/<string:feedback_id>")
    @api
    def get_feedback(self, request, feedback_id):
        record = None
        if re.fullmatch(schemas.FEEDBACK_ID, feedback_id):
            record = store.get(self.db, feedback_id)
        if record is None:
            raise HttpError(404, "not_found", f"no feedback {feedback_id!r}")
        return json_response(200, feedback.public_view(record))

    @http("GET", "/health")
    def health(self, request):
        return health(self.db, self.config["AMQP_URI"])

    @command_handler("feedback.submit", decode=decode_submit_command)
    def on_submit_command(self, command: dict):
        record = feedback.new_record(
            command,
            channel="amqp",
            source=command["source"],
            external_id=command["external_id"],
        )
        if store.insert(self.db, record).created:
            outbox.relay_or_defer(self.db.feedback, record["_id"], self.publish)
        else:
            log.info(
                "duplicate submission %s/%s ignored", command["source"], command["external_id"]
            )

    @event_handler("categorization", "feedback.categorized")
    def on_feedback_categorized(self, event):
        store.apply_categorization(self.db, event.data)

    @timer(interval=2)
    def sweep_outbox(self):
        outbox.sweep(self.db.feedback, self.publish)
