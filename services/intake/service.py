"""Intake's nameko entrypoints: HTTP API, the ``feedback.submit`` command, categorization events."""

from __future__ import annotations

import re

from nameko.dependency_providers import Config
from nameko.timer import timer

from services.intake import feedback, handlers, lifecycle, schemas, store
from shared import outbox
from shared.http import HttpError, api, caller, health, json_response, read_json
from shared.messaging import EventPublisher, command_handler, event_handler
from shared.mongo import MongoDatabase
from shared.taxonomy import TAXONOMY, departments_view
from shared.webserver import http


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
        try:
            result = handlers.submit_http(
                self.db,
                self.publish,
                body,
                submission,
                idempotency_key=key,
                correlation_id=request.headers.get("X-Correlation-Id"),
            )
        except handlers.IdempotencyConflict:
            raise HttpError(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request",
            ) from None
        receipt = feedback.receipt(result.record)
        if not result.created:
            return json_response(201, receipt, {"Idempotent-Replayed": "true"})
        return json_response(201, receipt, {"Location": receipt["links"]["self"]})

    @http("GET", "/api/v1/feedback/<string:feedback_id>")
    @api
    def get_feedback(self, request, feedback_id):
        record = None
        if re.fullmatch(schemas.FEEDBACK_ID, feedback_id):
            record = store.get(self.db, feedback_id)
        if record is None:
            raise HttpError(404, "not_found", "no feedback with this id")
        return json_response(200, feedback.public_view(record))

    @http("POST", "/api/v1/feedback/<string:feedback_id>/status")
    @api
    def change_status(self, request, feedback_id):
        who = caller(request, self.config["API_KEYS"], self.config["DEPARTMENT_KEYS"])
        body = schemas.StatusChange().load(read_json(request))
        move = lifecycle.Move(
            body["status"], body.get("note"), body["note_visibility"], body.get("duplicate_of")
        )
        if not re.fullmatch(schemas.FEEDBACK_ID, feedback_id):
            raise HttpError(404, "not_found", "no feedback with this id")
        try:
            record = handlers.change_status(self.db, self.publish, feedback_id, move, who)
        except handlers.NotFound:
            raise HttpError(404, "not_found", "no feedback with this id") from None
        except handlers.NotYours:
            raise HttpError(
                403, "forbidden", "this case is not assigned to your department"
            ) from None
        except lifecycle.MoveInvalid as exc:
            raise HttpError(400, "validation", "the move is incomplete", exc.fields) from None
        except lifecycle.MoveRefused as exc:
            raise HttpError(
                409,
                "conflict",
                str(exc),
                extra={"status": exc.current, "allowed": list(exc.allowed)},
            ) from None
        except handlers.ChangedMeanwhile:
            raise HttpError(
                409, "conflict", "the case changed meanwhile; read it and retry"
            ) from None
        return json_response(
            200, {**feedback.public_view(record), "history": feedback.history_view(record, True)}
        )

    @http("GET", "/api/v1/departments")
    @api
    def departments(self, request):
        return json_response(200, {"departments": departments_view(TAXONOMY)})

    @http("GET", "/health")
    def health(self, request):
        return health(self.db, self.config["AMQP_URI"])

    @command_handler("feedback.submit", decode=schemas.load_submit_command)
    def on_submit_command(self, command: dict):
        handlers.submit_command(self.db, self.publish, command)

    @event_handler("categorization", "feedback.categorized")
    def on_feedback_categorized(self, event):
        store.apply_categorization(self.db, event.data)

    @timer(interval=outbox.SWEEP_INTERVAL_S)
    def sweep_outbox(self):
        outbox.sweep(self.db.feedback, self.publish)
