"""Notification's nameko entrypoints."""

from __future__ import annotations

import re

from nameko.dependency_providers import Config

from services.notification import handlers, store
from shared.http import HttpError, api, api_client, health, json_response
from shared.messaging import event_handler
from shared.mongo import MongoDatabase
from shared.webserver import http

FEEDBACK_ID = re.compile(r"^SU-[0-9A-Z]{10}$")


class NotificationService:
    name = "notification"

    db = MongoDatabase(store.ensure_indexes)
    config = Config()

    @event_handler("intake", "feedback.received")
    def on_feedback_received(self, event):
        handlers.on_event(self.db, self.config, event)

    @event_handler("categorization", "feedback.categorized")
    def on_feedback_categorized(self, event):
        handlers.on_event(self.db, self.config, event)

    @event_handler("categorization", "feedback.urgent")
    def on_feedback_urgent(self, event):
        handlers.on_event(self.db, self.config, event)

    @event_handler("intake", "feedback.status_changed")
    def on_status_changed(self, event):
        handlers.on_event(self.db, self.config, event)

    @event_handler("intake", "feedback.reassigned")
    def on_reassigned(self, event):
        handlers.on_event(self.db, self.config, event)

    @event_handler("intake", "feedback.overdue")
    def on_overdue(self, event):
        handlers.on_event(self.db, self.config, event)

    @event_handler("intake", "feedback.rated")
    def on_rated(self, event):
        handlers.on_event(self.db, self.config, event)

    @event_handler("intake", "feedback.status_requested")
    def on_status_requested(self, event):
        handlers.on_event(self.db, self.config, event)

    @http("GET", "/api/v1/deliveries")
    @api
    def list_deliveries(self, request):
        api_client(request, self.config["API_KEYS"])
        feedback_id = request.args.get("feedback_id", "")
        if not FEEDBACK_ID.fullmatch(feedback_id):
            raise HttpError(
                400,
                "validation",
                "query parameter feedback_id is required",
                {"feedback_id": ["not a feedback id"]},
            )
        items = store.for_feedback(self.db, feedback_id)
        return json_response(200, {"feedback_id": feedback_id, "deliveries": items})

    @http("GET", "/health")
    def health(self, request):
        return health(self.db, self.config["AMQP_URI"])
