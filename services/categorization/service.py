"""Categorization's nameko entrypoints."""

from __future__ import annotations

from nameko.dependency_providers import Config
from nameko.timer import timer

from services.categorization import (
    assignment,
    duplicates,
    handlers,
    schemas,
    store,
    taxonomy,
    triage,
)
from services.categorization.dependencies import ActiveModel
from shared import outbox
from shared.http import HttpError, api, api_client, json_response, read_json
from shared.messaging import EventPublisher, event_handler
from shared.mongo import MongoDatabase
from shared.probes import Probes
from shared.webserver import http


class CategorizationService(Probes):
    name = "categorization"

    db = MongoDatabase(store.ensure_indexes)
    publish = EventPublisher()
    model = ActiveModel()
    config = Config()

    def read_metrics(self):  # scrape-time values of its own (shared/probes.py)
        handlers.read_metrics(self.db, self.model)

    def _departments(self) -> dict[str, str]:
        return taxonomy.departments(self.config.get("DEPARTMENTS"))

    def _decide(self, text: str) -> triage.Decision:
        return triage.decide(
            text,
            self.model,
            departments=self._departments(),
            review_threshold=self.config["REVIEW_THRESHOLD"],
        )

    def _duplicates(self) -> duplicates.Settings:
        return duplicates.Settings.of(self.config["DUPLICATES"])

    @event_handler("intake", "feedback.received")
    def on_feedback_received(self, event):
        handlers.categorize(
            self.db, self.publish, event, self._decide, self._departments(), self._duplicates()
        )

    @event_handler("intake", "feedback.status_changed")
    def on_status_changed(self, event):
        handlers.status_changed(self.db, event, self._duplicates())

    @event_handler("intake", "feedback.duplicate_reviewed")
    def on_duplicate_reviewed(self, event):
        handlers.duplicate_reviewed(self.db, event, self._duplicates())

    @http("POST", "/api/v1/classify", body=schemas.ClassifyRequest, success=200)
    @api
    def classify(self, request):
        text = schemas.ClassifyRequest().load(read_json(request))["text"]
        try:
            decision = self._decide(text)
        except triage.InvalidText as exc:
            raise HttpError(400, "validation", str(exc), {"text": [str(exc)]}) from None
        return json_response(200, assignment.classify_answer(decision))

    @http("GET", "/api/v1/categories")
    @api
    def categories(self, request):
        return json_response(200, {"categories": taxonomy.as_dicts(self.config.get("DEPARTMENTS"))})

    @http("GET", "/api/v1/review", query=schemas.ReviewQuery, auth=True)
    @api
    def review(self, request):
        api_client(request, self.config["API_KEYS"])
        limit = schemas.ReviewQuery().load(request.args.to_dict())["limit"]
        items = [assignment.review_item(d) for d in store.review_queue(self.db, limit)]
        return json_response(200, {"items": items, "count": len(items)})

    @http(
        "POST",
        "/api/v1/feedback/<string:feedback_id>/category",
        body=schemas.CategoryCorrection,
        auth=True,
    )
    @api
    def correct(self, request, feedback_id):
        client = api_client(request, self.config["API_KEYS"])
        category = schemas.CategoryCorrection().load(read_json(request))["category"]
        try:
            updated = handlers.correct(
                self.db,
                self.publish,
                feedback_id,
                category,
                self._departments()[category],
                client=client,
            )
        except handlers.NotCategorized:
            raise HttpError(404, "not_found", "no categorized feedback with this id") from None
        except handlers.ChangedMeanwhile:
            raise HttpError(
                409, "conflict", "the category changed meanwhile; read it again"
            ) from None
        return json_response(
            200,
            {
                "feedback_id": feedback_id,
                "category": updated["category"],
                "department": updated["department"],
                "method": "manual",
                "revision": updated["revision"],
            },
        )

    @timer(interval=outbox.SWEEP_INTERVAL_S)
    def sweep_outbox(self):
        outbox.sweep(self.db.decisions, self.publish)
