"""Notification's nameko entrypoints."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from nameko.dependency_providers import Config
from nameko.timer import timer
from werkzeug.wrappers import Response

from services.notification import handlers, store, webhooks
from shared import outbox
from shared.http import HttpError, api, api_client, json_response, read_json
from shared.messaging import EventPublisher, JobPublisher, event_handler, job_handler
from shared.mongo import MongoDatabase
from shared.probes import Probes
from shared.webserver import http

FEEDBACK_ID = re.compile(r"^SU-[0-9A-Z]{10}$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class NotificationService(Probes):
    name = "notification"

    db = MongoDatabase(store.ensure_indexes)
    config = Config()
    jobs = JobPublisher()
    publish = EventPublisher()

    @property
    def ports(self) -> handlers.Ports:
        return handlers.Ports(self.jobs.send, self.jobs.dead_letter, self.publish)

    @event_handler("intake", "feedback.received")
    def on_feedback_received(self, event):
        handlers.on_event(self.db, self.config, self.ports, event)

    @event_handler("categorization", "feedback.categorized")
    def on_feedback_categorized(self, event):
        handlers.on_event(self.db, self.config, self.ports, event)

    @event_handler("categorization", "feedback.urgent")
    def on_feedback_urgent(self, event):
        handlers.on_event(self.db, self.config, self.ports, event)

    @event_handler("intake", "feedback.status_changed")
    def on_status_changed(self, event):
        handlers.on_event(self.db, self.config, self.ports, event)

    @event_handler("intake", "feedback.reassigned")
    def on_reassigned(self, event):
        handlers.on_event(self.db, self.config, self.ports, event)

    @event_handler("intake", "feedback.overdue")
    def on_overdue(self, event):
        handlers.on_event(self.db, self.config, self.ports, event)

    @event_handler("intake", "feedback.due_soon")
    def on_due_soon(self, event):
        handlers.on_event(self.db, self.config, self.ports, event)

    @event_handler("intake", "feedback.rated")
    def on_rated(self, event):
        handlers.on_event(self.db, self.config, self.ports, event)

    @event_handler("intake", "feedback.status_requested")
    def on_status_requested(self, event):
        handlers.on_event(self.db, self.config, self.ports, event)

    @event_handler("intake", "feedback.erased")
    def on_erased(self, event):
        handlers.on_erased(self.db, event)

    @event_handler("reporting", "alert.spike_detected")
    def on_spike_detected(self, event):
        handlers.on_alert(self.db, self.config, self.ports, event)

    @http("GET", "/api/v1/deliveries", auth=True)
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
        items = [handlers.public_delivery(d) for d in store.for_feedback(self.db, feedback_id)]
        return json_response(200, {"feedback_id": feedback_id, "deliveries": items})

    @job_handler(handlers.QUEUE, handlers.decode_job)
    def on_delivery_job(self, job):
        handlers.on_job(self.db, self.config, self.ports, job)

    @timer(interval=60)
    def send_digests(self):
        handlers.digests_due(self.db, self.config, self.ports)

    @timer(interval=outbox.SWEEP_INTERVAL_S)
    def sweep_outbox(self):
        outbox.sweep(self.db.deliveries, self.publish)

    # --- integrators' webhooks (services/notification/webhooks.py)
    @http("POST", "/api/v1/webhooks", body=webhooks.Subscription, success=201, auth=True)
    @api
    def create_webhook(self, request):
        owner = api_client(request, self.config["API_KEYS"])
        created = handlers.subscribe(self.db, self.config, owner, read_json(request))
        return json_response(201, created, {"Cache-Control": "no-store"})

    @http("GET", "/api/v1/webhooks", auth=True)
    @api
    def list_webhooks(self, request):
        owner = api_client(request, self.config["API_KEYS"])
        found = [webhooks.public(w) for w in store.webhooks_of(self.db, owner)]
        return json_response(200, {"webhooks": found})

    @http("GET", "/api/v1/webhooks/<webhook_id>", auth=True)
    @api
    def get_webhook(self, request, webhook_id):
        owner = api_client(request, self.config["API_KEYS"])
        return json_response(200, webhooks.public(handlers.owned(self.db, owner, webhook_id)))

    @http("DELETE", "/api/v1/webhooks/<webhook_id>", auth=True)
    @api
    def delete_webhook(self, request, webhook_id):
        owner = api_client(request, self.config["API_KEYS"])
        store.delete_webhook(self.db, handlers.owned(self.db, owner, webhook_id)["_id"])
        return Response(status=204)

    @http("POST", "/api/v1/webhooks/<webhook_id>/rotate", auth=True)
    @api
    def rotate_webhook(self, request, webhook_id):
        owner = api_client(request, self.config["API_KEYS"])
        rotated = handlers.rotate(self.db, handlers.owned(self.db, owner, webhook_id))
        return json_response(200, rotated, {"Cache-Control": "no-store"})

    @http("GET", "/api/v1/webhooks/<webhook_id>/deliveries", auth=True)
    @api
    def webhook_deliveries(self, request, webhook_id):
        owner = api_client(request, self.config["API_KEYS"])
        sub = handlers.owned(self.db, owner, webhook_id)
        day = request.args.get("day") or datetime.now(UTC).strftime("%Y-%m-%d")
        if not DAY.fullmatch(day):
            raise HttpError(400, "validation", "bad query", {"day": ["YYYY-MM-DD"]})
        items = [handlers.public_delivery(d) for d in store.for_webhook(self.db, sub["_id"], day)]
        return json_response(200, {"webhook_id": sub["_id"], "day": day, "deliveries": items})
