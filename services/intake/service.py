"""Intake's nameko entrypoints: HTTP API, the ``feedback.submit`` command, the events it follows."""

from __future__ import annotations

import functools
import json
import logging
import re
from datetime import UTC, datetime

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.timer import timer
from pymongo.errors import ConnectionFailure
from werkzeug.wrappers import Response

from services.intake import (
    channels,
    duplicates,
    feedback,
    handlers,
    lifecycle,
    mail,
    open311,
    photos,
    providers,
    ratelimit,
    schemas,
    sla,
    store,
    web,
)
from shared import config, outbox
from shared.http import (
    HttpError,
    api,
    api_client,
    caller,
    json_response,
    key_owner,
    read_json,
)
from shared.messaging import EventPublisher, command_handler, event_handler
from shared.mongo import MongoDatabase
from shared.probes import Probes
from shared.taxonomy import TAXONOMY, departments_view
from shared.webserver import http

DEADLINE_SWEEP_S = config.deadline_sweep_s()  # read at import: nameko's @timer is fixed
OPEN311 = "/open311/v2"
log = logging.getLogger(__name__)


class FormRateLimit(DependencyProvider):
    """The web form's per-client limit (SUARA_FORM_RATE_LIMIT), one per process."""

    def setup(self):
        self.limit = ratelimit.RateLimit(*self.container.config["FORM_RATE_LIMIT"])

    def get_dependency(self, worker_ctx):
        return self.limit


MAIL_BODY = 25_000_000  # a forwarded mail: its photos base64-encoded


class SlaPolicy(DependencyProvider):
    """The SLA and reopen rules (services/intake/sla.py) from the service's config."""

    def setup(self):
        self.policy = sla.Policy.from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.policy


def _case_id(feedback_id: str) -> str:
    if not re.fullmatch(schemas.FEEDBACK_ID, feedback_id):
        raise HttpError(404, "not_found", "no feedback with this id")
    return feedback_id


def _refusals(fn):
    """The lifecycle's refusals as HTTP answers (404, 403, 400, 409)."""

    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except handlers.NotFound:
            raise HttpError(404, "not_found", "no feedback with this id") from None
        except handlers.NotYours:
            raise HttpError(
                403, "forbidden", "this case is not assigned to your department"
            ) from None
        except handlers.WrongToken:
            raise HttpError(403, "forbidden", "this citizen_token is not this case's") from None
        except lifecycle.MoveInvalid as exc:
            raise HttpError(400, "validation", "the request is incomplete", exc.fields) from None
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
        except duplicates.LinkRefused as exc:
            raise HttpError(409, "conflict", str(exc), extra={"link": exc.state}) from None

    return wrapper


def _open311_answer(fmt: str, root: str, body, status: int = 200) -> Response:
    if fmt == "xml":
        data = open311.to_xml(root, body)
    else:
        data = json.dumps(body, ensure_ascii=False)
    return Response(data, status=status, content_type=open311.FORMATS[fmt])


def georeport(fn):
    """An Open311 endpoint: its errors in the spec's shape (``[{"code", "description"}]``,
    ``<errors><error>``), in the format the path asks for (JSON if that is what is wrong)."""

    @functools.wraps(fn)
    def wrapper(self, request, *args, fmt: str, **kwargs):
        answer_in = fmt if fmt in open311.FORMATS else "json"
        try:
            open311.output_format(fmt)
            open311.check_jurisdiction(request.args)
            return fn(self, request, *args, fmt=fmt, **kwargs)
        except open311.Open311Error as exc:
            return _open311_answer(answer_in, "errors", exc.body(), exc.status)
        except ConnectionFailure:
            error = open311.Open311Error(503, "the database is unavailable; try again shortly")
            return _open311_answer(answer_in, "errors", error.body(), 503)
        except Exception:
            log.exception("unhandled error in %s", fn.__name__)
            error = open311.Open311Error(500, "internal error")
            return _open311_answer(answer_in, "errors", error.body(), 500)

    return wrapper


class IntakeService(Probes):
    name = "intake"

    db = MongoDatabase(store.ensure_indexes)
    publish = EventPublisher()
    config = Config()
    policy = SlaPolicy()
    form_limit = FormRateLimit()

    @http("POST", "/api/v1/feedback", body=schemas.FeedbackSubmission, success=201)
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
        token = handlers.citizen_token(self.db, self.config["SECRET_KEYS"], result.record["_id"])
        receipt = feedback.receipt(result.record, token)
        headers = {"Cache-Control": "no-store"}  # the token is shown here only
        if not result.created:
            return json_response(201, receipt, {**headers, "Idempotent-Replayed": "true"})
        return json_response(201, receipt, {**headers, "Location": receipt["links"]["self"]})

    def _staff(self, request):
        return caller(request, self.config["API_KEYS"], self.config["DEPARTMENT_KEYS"])

    @http("GET", "/api/v1/feedback/<string:feedback_id>")
    @api
    def get_feedback(self, request, feedback_id):
        record = store.get(self.db, _case_id(feedback_id))
        if record is None:
            raise HttpError(404, "not_found", "no feedback with this id")
        if request.headers.get("X-API-Key") or request.headers.get("Authorization"):
            who = self._staff(request)  # a wrong key is 401, not the public view
            if who.admin or record.get("department_id") == who.department_id:
                return json_response(200, handlers.staff_view(self.db, record))
        return json_response(200, handlers.public_view(self.db, record))

    @http(
        "POST", "/api/v1/feedback/<string:feedback_id>/status", body=schemas.StatusChange, auth=True
    )
    @api
    @_refusals
    def change_status(self, request, feedback_id):
        who = self._staff(request)
        body = schemas.StatusChange().load(read_json(request))
        move = lifecycle.Move(
            body["status"], body.get("note"), body["note_visibility"], body.get("duplicate_of")
        )
        record = handlers.change_status(
            self.db, self.publish, self.policy, _case_id(feedback_id), move, who
        )
        return json_response(200, handlers.staff_view(self.db, record))

    @http(
        "POST", "/api/v1/feedback/<string:feedback_id>/transfer", body=schemas.Transfer, auth=True
    )
    @api
    @_refusals
    def transfer(self, request, feedback_id):
        who = self._staff(request)
        body = schemas.Transfer().load(read_json(request))
        record = handlers.transfer(
            self.db,
            self.publish,
            self.policy,
            _case_id(feedback_id),
            body["department_id"],
            body["reason"],
            who,
        )
        return json_response(200, handlers.staff_view(self.db, record))

    @http(
        "POST",
        "/api/v1/feedback/<string:feedback_id>/duplicate",
        body=schemas.DuplicateReview,
        auth=True,
    )
    @api
    @_refusals
    def review_duplicate(self, request, feedback_id):
        """A department confirms or undoes a "me too" link (services/intake/duplicates.py)."""
        who = self._staff(request)
        body = schemas.DuplicateReview().load(read_json(request))
        record = handlers.review_duplicate(
            self.db, self.publish, self.policy, _case_id(feedback_id), body["decision"], who
        )
        if who.admin or record.get("department_id") == who.department_id:
            return json_response(200, handlers.staff_view(self.db, record))
        return json_response(200, handlers.public_view(self.db, record))  # the primary's dept.

    @http("POST", "/api/v1/feedback/<string:feedback_id>/rating", body=schemas.Rating)
    @api
    @_refusals
    def rate(self, request, feedback_id):
        body = schemas.Rating().load(read_json(request))
        record = handlers.rate(
            self.db,
            self.publish,
            self.policy,
            self.config["SECRET_KEYS"],
            _case_id(feedback_id),
            body["citizen_token"],
            body["score"],
            body.get("comment"),
        )
        return json_response(200, handlers.public_view(self.db, record))

    @http("POST", "/api/v1/feedback/<string:feedback_id>/reopen", body=schemas.Reopen)
    @api
    @_refusals
    def reopen(self, request, feedback_id):
        body = schemas.Reopen().load(read_json(request))
        record = handlers.reopen(
            self.db,
            self.publish,
            self.policy,
            self.config["SECRET_KEYS"],
            _case_id(feedback_id),
            body["citizen_token"],
            body["reason"],
        )
        return json_response(200, handlers.public_view(self.db, record))

    @http("POST", "/api/v1/feedback/<string:feedback_id>/erase", auth=True)
    @api
    @_refusals
    def erase(self, request, feedback_id):
        """An admin erases the citizen's personal data from a case (the case stays)."""
        if not self._staff(request).admin:  # 401 without a key
            raise HttpError(403, "forbidden", "only an admin key may erase personal data")
        record = handlers.erase(self.db, self.publish, self.policy, _case_id(feedback_id))
        return json_response(200, feedback.erasure_receipt(record), {"Cache-Control": "no-store"})

    @http("GET", "/api/v1/cases", query=schemas.CasesQuery, auth=True)
    @api
    @_refusals
    def cases(self, request):
        who = self._staff(request)
        query = schemas.CasesQuery().load(request.args.to_dict())
        if "cursor" in query:
            query["cursor"] = schemas.decode_cursor(query["cursor"])
        page = handlers.list_cases(self.db, who, query)
        if page["next_cursor"] is not None:
            page["next_cursor"] = schemas.encode_cursor(page["next_cursor"])
        return json_response(200, page)

    @http("GET", "/api/v1/departments")
    @api
    def departments(self, request):
        return json_response(200, {"departments": departments_view(TAXONOMY)})

    # --- the citizen's web pages (services/intake/web.py, pages.py)
    def _site(self) -> web.Site:
        return web.Site(self.db, self.config, self.policy, self.publish, self.form_limit)

    @http("GET", "/", produces="text/html")
    @web.page_errors
    def home(self, request):
        return self._site().home(request)

    @http("POST", "/lapor", max_body=web.PAGE_BODY, produces="text/html")
    @web.page_errors
    def report(self, request):
        return self._site().report(request)

    @http("GET", "/track", produces="text/html")
    @web.page_errors
    def track_lookup(self, request):
        return self._site().track_lookup(request)

    @http("GET", "/track/<feedback_id>", produces="text/html")
    @web.page_errors
    def track(self, request, feedback_id):
        return self._site().track(request, feedback_id)

    @http("POST", "/track/<feedback_id>/rating", produces="text/html")
    @web.page_errors
    def track_rating(self, request, feedback_id):
        return self._site().track_rating(request, feedback_id)

    @http("POST", "/track/<feedback_id>/reopen", produces="text/html")
    @web.page_errors
    def track_reopen(self, request, feedback_id):
        return self._site().track_reopen(request, feedback_id)

    @http("GET", "/unsubscribe/<address_hash>", produces="text/html")
    @web.page_errors
    def unsubscribe_page(self, request, address_hash):
        return self._site().unsubscribe_page(request, address_hash)

    @http("POST", "/unsubscribe/<address_hash>", produces="text/html")
    @web.page_errors
    def unsubscribe(self, request, address_hash):
        return self._site().unsubscribe(request, address_hash)

    @http("GET", "/static/<name>", produces="*/*")
    @web.page_errors
    def static(self, request, name):
        return self._site().static(request, name)

    @http("GET", "/media/<media_id>", produces="image/*")
    @api
    def media(self, request, media_id):
        staff = None
        if request.headers.get("X-API-Key") or request.headers.get("Authorization"):
            staff = self._staff(request)
        try:
            found = handlers.photo_for(
                self.db, self.config["SECRET_KEYS"], media_id, request.args.get("token"), staff
            )
        except handlers.NotFound:
            raise HttpError(404, "not_found", "no such photo") from None
        except (handlers.WrongToken, handlers.NotYours):
            raise HttpError(403, "forbidden", "the case's citizen token or a staff key") from None
        response = Response(bytes(found["data"]), content_type=found["content_type"])
        response.headers.update(
            {
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "X-Content-Type-Options": "nosniff",
                "Content-Disposition": "inline",
                "Cache-Control": "private, max-age=3600",
                "Referrer-Policy": "no-referrer",
            }
        )
        return response

    # --- WhatsApp and SMS (services/intake/channels.py)
    @http("GET", "/webhooks/whatsapp", produces="text/plain")
    @web.page_errors
    def whatsapp_verify(self, request):
        challenge = channels.whatsapp_handshake(request.args, self.config["WHATSAPP_VERIFY_TOKEN"])
        if challenge is None:
            return Response("forbidden", status=403, content_type="text/plain")
        return Response(challenge, status=200, content_type="text/plain")

    @http("POST", "/webhooks/whatsapp", max_body=1_000_000)
    @api
    def whatsapp(self, request):
        secret = self.config["WHATSAPP_APP_SECRET"]
        if not secret:
            raise HttpError(503, "not_configured", "WhatsApp is not configured here")
        body = request.get_data(cache=True)
        try:
            channels.check_whatsapp_signature(
                body, request.headers.get("X-Hub-Signature-256"), secret
            )
            messages = channels.whatsapp_messages(body)
        except channels.SignatureInvalid as exc:
            raise HttpError(401, "unauthorized", str(exc)) from None
        except channels.PayloadInvalid as exc:
            raise HttpError(400, "validation", str(exc)) from None
        results = [self._receive(m) for m in messages]
        return json_response(200, {"received": len(results), "results": results})

    def _receive(self, message) -> dict:
        kept = []
        for media_id in message.media_ids:
            try:
                data = providers.whatsapp_photo(
                    self.config["WHATSAPP_GRAPH_URL"],
                    self.config["WHATSAPP_TOKEN"],
                    media_id,
                    self.config["WHATSAPP_MEDIA_HOSTS"],
                    self.config["PHOTO_MAX_BYTES"],
                )
                kept.append(photos.clean(data, self.config["PHOTO_MAX_BYTES"]))
            except (providers.ProviderError, photos.PhotoRefused) as exc:
                log.warning(
                    "whatsapp photo %s of %s not kept: %s", media_id, message.message_id, exc
                )
        kind, stored = handlers.receive_message(self.db, self.publish, message, kept)
        return {"message_id": message.message_id, "kind": kind, "id": stored["_id"]}

    @http("POST", "/webhooks/sms", produces="text/xml")
    @web.page_errors
    def sms(self, request):
        token = self.config["TWILIO_AUTH_TOKEN"]
        if not token:
            return Response("<Response/>", status=503, content_type="text/xml")
        params = {k: v for k, v in request.form.items()}
        url = self.config["PUBLIC_URL"] + "/webhooks/sms"
        if request.query_string:
            url += "?" + request.query_string.decode("latin-1")
        try:
            channels.check_twilio_signature(
                url, params, request.headers.get("X-Twilio-Signature"), token
            )
            message = channels.sms_message(params)
        except channels.SignatureInvalid:
            return Response("<Response/>", status=401, content_type="text/xml")
        except channels.PayloadInvalid as exc:
            log.info("sms webhook refused: %s", exc)
            return Response("<Response/>", status=400, content_type="text/xml")
        self._receive(message)
        # an empty TwiML answer: the reply goes out through notification, not in this response
        return Response("<Response/>", status=200, content_type="text/xml")

    @http("POST", "/webhooks/email", max_body=MAIL_BODY)
    @api
    def email(self, request):
        """A mail the mail bridge (services/intake/mailbridge.py) received by SMTP: raw
        RFC 5322 bytes, with an admin API key (the bridge's)."""
        api_client(request, self.config["API_KEYS"])
        try:
            forwarded = mail.read(request.get_data(cache=True))
        except mail.NotAReport as exc:
            return json_response(200, {"kind": "ignored", "reason": str(exc)})
        kept = []
        for data in forwarded.attachments:
            try:
                kept.append(photos.clean(data, self.config["PHOTO_MAX_BYTES"]))
            except photos.PhotoRefused as exc:
                log.info("mail %s: attachment not kept: %s", forwarded.message.message_id, exc)
        kind, stored = handlers.receive_message(self.db, self.publish, forwarded.message, kept)
        return json_response(200, {"kind": kind, "id": stored["_id"]})

    @http("GET", "/api/v1/replies/<reply_id>")
    @api
    def reply_address(self, request, reply_id):
        api_client(request, self.config["API_KEYS"])  # notification's (an admin) key
        found = handlers.reply_address(
            self.db, reply_id[:64], self.config["SECRET_KEYS"], self.config["PUBLIC_URL"]
        )
        if found is None:
            raise HttpError(404, "not_found", "no case or question with this id")
        return json_response(200, found, {"Cache-Control": "no-store"})

    # --- Open311 GeoReport v2 (services/intake/open311.py)
    @http("GET", OPEN311 + "/discovery.<fmt>")
    @georeport
    def open311_discovery(self, request, fmt):
        return _open311_answer(fmt, "discovery", open311.discovery(request.host_url))

    @http("GET", OPEN311 + "/services.<fmt>")
    @georeport
    def open311_services(self, request, fmt):
        return _open311_answer(fmt, "services", open311.services(TAXONOMY))

    @http("GET", OPEN311 + "/services/<code>.<fmt>")
    @georeport
    def open311_service_definition(self, request, code, fmt):
        body = open311.service_definition(TAXONOMY, code)
        return _open311_answer(fmt, "service_definition", body)

    @http("POST", OPEN311 + "/requests.<fmt>")
    @georeport
    def open311_create(self, request, fmt):
        if request.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            raise open311.Open311Error(400, "send the request form-encoded")
        form = request.form.to_dict(flat=False)
        supplied = (form.get("api_key") or [None])[0] or request.headers.get("X-API-Key")
        if key_owner(self.config["API_KEYS"], supplied) is None:
            raise open311.Open311Error(403, "api_key: a valid API key is required")
        submission = open311.parse_request(form, TAXONOMY)
        record = handlers.submit_open311(self.db, self.publish, submission)
        return _open311_answer(fmt, "service_requests", open311.created(record, TAXONOMY), 201)

    @http("GET", OPEN311 + "/requests.<fmt>")
    @georeport
    def open311_requests(self, request, fmt):
        query = open311.parse_query(request.args, TAXONOMY)
        views = handlers.open311_requests(self.db, query, base_url=self.config["PUBLIC_URL"])
        return _open311_answer(fmt, "service_requests", views)

    @http("GET", OPEN311 + "/requests/<feedback_id>.<fmt>")
    @georeport
    def open311_request(self, request, feedback_id, fmt):
        query = open311.parse_query(
            {"extensions": request.args.get("extensions", "false")}, TAXONOMY
        )
        record = store.get(self.db, feedback_id) if open311.is_id(feedback_id) else None
        if record is None:
            raise open311.Open311Error(404, f"service request {feedback_id!r} not found")
        view = open311.request_view(record, TAXONOMY, query.extensions, self.config["PUBLIC_URL"])
        return _open311_answer(fmt, "service_requests", [view])

    @http("GET", OPEN311 + "/tokens/<token>.<fmt>")
    @georeport
    def open311_token(self, request, token, fmt):
        # a request gets its id at once, and that id is its token too
        if not open311.is_id(token) or store.get(self.db, token) is None:
            raise open311.Open311Error(404, f"token {token!r} not found")
        body = [{"service_request_id": token, "token": token}]
        return _open311_answer(fmt, "service_requests", body)

    @http("GET", OPEN311 + "/servicerequestupdates.<fmt>")
    @georeport
    def open311_updates(self, request, fmt):
        start, end = open311.update_window(request.args, datetime.now(UTC))
        body = handlers.open311_updates(self.db, start, end)
        return _open311_answer(fmt, "service_request_updates", body)

    @command_handler("feedback.submit", decode=schemas.load_submit_command)
    def on_submit_command(self, command: dict):
        handlers.submit_command(self.db, self.publish, command)

    @event_handler("categorization", "feedback.categorized")
    def on_feedback_categorized(self, event):
        handlers.apply_categorization(self.db, self.policy, event.data)

    @event_handler("categorization", "feedback.duplicate_suspected")
    def on_duplicate_suspected(self, event):
        handlers.apply_duplicate_suspected(self.db, self.policy, event.data)

    # intake follows its own lifecycle events to keep the work list true after a crash
    # between a case's write and its entry's
    @event_handler("intake", "feedback.status_changed")
    def on_status_changed(self, event):
        handlers.sync_worklist(self.db, self.policy, event.data["feedback_id"])

    @event_handler("intake", "feedback.reassigned")
    def on_reassigned(self, event):
        handlers.sync_worklist(self.db, self.policy, event.data["feedback_id"])

    @event_handler("intake", "feedback.due_soon")
    def on_due_soon(self, event):
        handlers.sync_worklist(self.db, self.policy, event.data["feedback_id"])

    @event_handler("intake", "feedback.overdue")
    def on_overdue(self, event):
        handlers.sync_worklist(self.db, self.policy, event.data["feedback_id"])

    @event_handler("intake", "feedback.erased")
    def on_erased(self, event):
        handlers.finish_erasure(self.db, self.policy, event.data["feedback_id"])

    @timer(interval=DEADLINE_SWEEP_S)
    def sweep_deadlines(self):
        handlers.sweep_deadlines(self.db, self.publish, self.policy)

    @timer(interval=outbox.SWEEP_INTERVAL_S)
    def sweep_outbox(self):
        outbox.sweep(self.db.feedback, self.publish)
        outbox.sweep(self.db.replies, self.publish)
