"""Reporting's nameko entrypoints."""

from __future__ import annotations

from nameko.dependency_providers import Config
from nameko.timer import timer
from werkzeug.wrappers import Response

from services.reporting import (
    alerting,
    clusters,
    dashboard_handlers,
    dashboard_web,
    exports,
    forum_web,
    handlers,
    open_data,
    projections,
    reports,
    store,
    surges,
)
from shared import outbox
from shared.http import api, caller, json_response
from shared.messaging import EventPublisher, event_handler
from shared.mongo import MongoDatabase
from shared.probes import Probes
from shared.webserver import http


class ReportingService(Probes):
    name = "reporting"

    db = MongoDatabase(store.ensure_indexes)
    config = Config()

    def read_metrics(self):  # scrape-time values of its own (shared/probes.py)
        handlers.read_metrics(self.db)

    publish = EventPublisher()  # alert.spike_detected, from the surges' outbox

    @property
    def surge_rules(self) -> surges.Rules:
        return surges.Rules.from_config(self.config["SURGE"])

    @event_handler("intake", "feedback.received")
    def on_feedback_received(self, event):
        store.apply(self.db, projections.on_received(event))
        alerting.on_received(self.db, self.surge_rules, self.publish, event)

    @event_handler("categorization", "feedback.categorized")
    def on_feedback_categorized(self, event):
        doc = store.apply(self.db, projections.on_categorized(event))
        # the forum report's bounded sample of texts
        store.sample_case(self.db, event.data, (doc or {}).get("submitted_at"))
        alerting.on_categorized(self.db, self.surge_rules, self.publish, event)

    @event_handler("categorization", "feedback.urgent")
    def on_feedback_urgent(self, event):
        store.apply(self.db, projections.on_urgent(event))

    @event_handler("intake", "feedback.status_changed")
    def on_feedback_status_changed(self, event):
        store.apply(self.db, projections.on_status_changed(event))
        dashboard_handlers.on_status_changed(self.db, event.data)  # the overdue table

    @event_handler("intake", "feedback.reassigned")
    def on_feedback_reassigned(self, event):
        store.apply(self.db, projections.on_reassigned(event))

    @event_handler("intake", "feedback.rated")
    def on_feedback_rated(self, event):
        store.apply(self.db, projections.on_rated(event))

    @event_handler("intake", "feedback.overdue")
    def on_feedback_overdue(self, event):
        store.apply(self.db, projections.on_overdue(event))
        dashboard_handlers.on_overdue(self.db, event.data)  # after the projection: it reads it

    @event_handler("categorization", "feedback.duplicate_suspected")
    def on_feedback_duplicate_suspected(self, event):
        handlers.on_duplicate_suspected(self.db, event)  # a "me too" cluster grows

    @event_handler("intake", "feedback.duplicate_reviewed")
    def on_feedback_duplicate_reviewed(self, event):
        handlers.on_duplicate_reviewed(self.db, event)  # undone: it leaves its cluster

    @event_handler("notification", "notification.sent")
    def on_notification_sent(self, event):
        store.count_notification(self.db, event.id, "sent", event.data["channel"])

    @event_handler("notification", "notification.failed")
    def on_notification_failed(self, event):
        store.count_notification(self.db, event.id, "failed", event.data["channel"])

    @http("GET", "/api/v1/reports/summary", query=reports.ReportQuery)
    @api
    def summary(self, request):
        return json_response(200, handlers.summary(self.db, request.args.to_dict()))

    @http("GET", "/api/v1/reports/timeseries", query=reports.ReportQuery)
    @api
    def timeseries(self, request):
        return json_response(200, handlers.timeseries(self.db, request.args.to_dict()))

    @http("GET", "/api/v1/reports/sla", query=reports.ReportQuery)
    @api
    def sla(self, request):
        return json_response(200, handlers.sla(self.db, request.args.to_dict()))

    @http("GET", "/api/v1/reports/satisfaction", query=reports.ReportQuery)
    @api
    def satisfaction(self, request):
        return json_response(200, handlers.satisfaction(self.db, request.args.to_dict()))

    @http("GET", "/api/v1/reports/hotspots", query=reports.ReportQuery)
    @api
    def hotspots(self, request):
        return json_response(200, handlers.hotspots(self.db, request.args.to_dict()))

    @http("GET", "/api/v1/reports/trending", query=reports.ReportQuery)
    @api
    def trending(self, request):
        return json_response(200, handlers.trending(self.db, request.args.to_dict()))

    @http("GET", "/api/v1/reports/clusters", query=clusters.ClusterQuery)
    @api
    def clusters_report(self, request):
        return json_response(200, handlers.clusters_report(self.db, request.args.to_dict()))

    # --- the forum report (services/reporting/forum_web.py; the pure part in forum.py)
    @http("GET", "/api/v1/reports/forum")
    @api
    def forum(self, request):
        return forum_web.as_json(self.db, request, self._reader(request).staff)

    @http("GET", "/api/v1/reports/forum.html", produces="text/html")
    @api
    def forum_html(self, request):
        return forum_web.as_html(self.db, request, self._reader(request).staff)

    @http("GET", "/api/v1/reports/forum.pdf", produces="application/pdf")
    @api
    def forum_pdf(self, request):
        return forum_web.as_pdf(self.db, request, self._reader(request).staff)

    # --- open data (services/reporting/open_data.py; the pure part in exports.py)
    def _reader(self, request) -> exports.Reader:
        """The public, or the staff whose key the request carries (a wrong key is 401)."""
        if not (request.headers.get("X-API-Key") or request.headers.get("Authorization")):
            return exports.PUBLIC
        who = caller(request, self.config["API_KEYS"], self.config["DEPARTMENT_KEYS"])
        return exports.Reader(staff=True, department_id=who.department_id)

    @staticmethod
    def _streamed(export: open_data.Export) -> Response:
        # the body is a generator: the web server writes it as it comes (chunked), after the
        # worker has returned
        return Response(
            export.body,
            content_type=export.mediatype,
            headers=export.headers,
            direct_passthrough=True,
        )

    @http("GET", "/api/v1/exports/cases.csv", produces="text/csv", query=exports.CasesQuery)
    @api
    def export_cases_csv(self, request):
        reader = self._reader(request)
        args = request.args.to_dict()
        return self._streamed(open_data.cases_page(self.db, args, "csv", reader, self.config))

    @http(
        "GET",
        "/api/v1/exports/cases.jsonl",
        produces="application/jsonl",
        query=exports.CasesQuery,
    )
    @api
    def export_cases_jsonl(self, request):
        reader = self._reader(request)
        args = request.args.to_dict()
        return self._streamed(open_data.cases_page(self.db, args, "jsonl", reader, self.config))

    @http("GET", "/api/v1/exports/cases.metadata.json")
    @api
    def export_metadata(self, request):
        self._reader(request)
        return json_response(200, open_data.metadata(request.args.to_dict(), self.config))

    @http("GET", "/api/v1/exports/summary.csv", produces="text/csv")
    @api
    def export_summary(self, request):
        self._reader(request)
        return self._streamed(open_data.summary_csv(self.db, request.args.to_dict()))

    @timer(interval=60)
    def forget_applied_changes(self):
        store.forget_applied(self.db)
        store.forget_applied_notifications(self.db)

    @timer(interval=outbox.SWEEP_INTERVAL_S)
    def sweep_surge_alerts(self):
        alerting.sweep(self.db, self.publish)

    # --- the dashboard (services/reporting/dashboard_web.py, dashboard.py)
    def _board(self) -> dashboard_web.Board:
        return dashboard_web.Board(self.db, self.config)

    @http("GET", "/dashboard", produces="text/html")
    @dashboard_web.page_errors
    def dashboard(self, request):
        return self._board().page(request)

    @http("POST", "/dashboard/signin", produces="text/html")
    @dashboard_web.page_errors
    def dashboard_sign_in(self, request):
        return self._board().sign_in(request)

    @http("POST", "/dashboard/signout", produces="text/html")
    @dashboard_web.page_errors
    def dashboard_sign_out(self, request):
        return self._board().sign_out(request)

    @http("GET", "/dashboard/overdue.json")
    @api
    def dashboard_overdue(self, request):
        return self._board().overdue(request)

    @http("GET", "/dashboard/static/<name>", produces="*/*")
    @dashboard_web.page_errors
    def dashboard_static(self, request, name):
        return self._board().static(request, name)
