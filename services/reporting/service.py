"""Reporting's nameko entrypoints."""

from __future__ import annotations

from nameko.dependency_providers import Config
from nameko.timer import timer

from services.reporting import projections, store
from shared.http import api, health, json_response
from shared.messaging import event_handler
from shared.mongo import MongoDatabase
from shared.webserver import http


class ReportingService:
    name = "reporting"

    db = MongoDatabase(store.ensure_indexes)
    config = Config()

    @event_handler("intake", "feedback.received")
    def on_feedback_received(self, event):
        store.apply(self.db, projections.on_received(event))

    @event_handler("categorization", "feedback.categorized")
    def on_feedback_categorized(self, event):
        store.apply(self.db, projections.on_categorized(event))

    @event_handler("categorization", "feedback.urgent")
    def on_feedback_urgent(self, event):
        store.apply(self.db, projections.on_urgent(event))

    @event_handler("intake", "feedback.status_changed")
    def on_feedback_status_changed(self, event):
        store.apply(self.db, projections.on_status_changed(event))

    @event_handler("intake", "feedback.reassigned")
    def on_feedback_reassigned(self, event):
        store.apply(self.db, projections.on_reassigned(event))

    @event_handler("intake", "feedback.rated")
    def on_feedback_rated(self, event):
        store.apply(self.db, projections.on_rated(event))

    @event_handler("intake", "feedback.overdue")
    def on_feedback_overdue(self, event):
        store.apply(self.db, projections.on_overdue(event))

    @event_handler("notification", "notification.sent")
    def on_notification_sent(self, event):
        store.count_notification(self.db, event.id, "sent", event.data["channel"])

    @event_handler("notification", "notification.failed")
    def on_notification_failed(self, event):
        store.count_notification(self.db, event.id, "failed", event.data["channel"])

    @http("GET", "/api/v1/reports/summary")
    @api
    def summary(self, request):
        report = store.summary(self.db)
        report["notifications"] = store.notification_counts(self.db)
        return json_response(200, report)

    @timer(interval=60)
    def forget_applied_changes(self):
        store.forget_applied(self.db)
        store.forget_applied_notifications(self.db)

    @http("GET", "/health")
    def health(self, request):
        return health(self.db, self.config["AMQP_URI"])
