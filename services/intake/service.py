"""Intake's nameko entrypoints: HTTP API, the ``feedback.submit`` command, the events it follows."""

from __future__ import annotations

import functools
import json
import logging
import re
from datetime import UTC, datetime

from marshmallow import ValidationError
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.timer import timer
from pymongo.errors import ConnectionFailure
from werkzeug.wrappers import Response

from services.intake import (
    channels,
    csrf,
    feedback,
    handlers,
    lifecycle,
    open311,
    pages,
    photos,
    providers,
    ratelimit,
    schemas,
    sla,
    store,
    tokens,
)
from shared import config, outbox
from shared.http import (
    HttpError,
    api,
    api_client,
    caller,
    health,
    json_response,
    key_owner,
    read_json,
)
from shared.messaging import EventPublisher, command_handler, event_handler
from shared.mongo import MongoDatabase
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


STATIC = {"suara.css": "text/css; charset=utf-8", "pin.js": "text/javascript; charset=utf-8"}
PAGE_BODY = 3 * 5_000_000 + 1_000_000  # 3 photos at the largest default, and the fields


def client_address(request, trusted: frozenset[str]) -> str:
    """The client: the proxy's X-Real-IP when the request comes from a trusted proxy."""
    remote = request.remote_addr or "unknown"
    forwarded = request.headers.get("X-Real-IP", "").strip()
    return forwarded if forwarded and remote in trusted else remote


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


def page_errors(fn):
    """A web page's unexpected failure: logged, and a plain page without the details."""

    @functools.wraps(fn)
    def wrapper(self, request, *args, **kwargs):
        try:
            return fn(self, request, *args, **kwargs)
        except ConnectionFailure:
            log.warning("%s: database unavailable", fn.__name__)
            return _plain(503, "Layanan sedang sibuk; coba lagi sebentar. / Try again shortly.")
        except Exception:
            log.exception("unhandled error in %s", fn.__name__)
            return _plain(500, "Terjadi kesalahan. / Something went wrong.")

    return wrapper


def _plain(status: int, text: str) -> Response:
    response = Response(text, status=status, content_type="text/plain; charset=utf-8")
    response.headers.update(pages.SECURITY_HEADERS)
    return response


def _int_or_none(value: str | None):
    return int(value) if value and value.isdigit() else value


class IntakeService:
    name = "intake"

    db = MongoDatabase(store.ensure_indexes)
    publish = EventPublisher()
    config = Config()
    policy = SlaPolicy()
    form_limit = FormRateLimit()

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
                return json_response(200, feedback.staff_view(record))
        return json_response(200, feedback.public_view(record))

    @http("POST", "/api/v1/feedback/<string:feedback_id>/status")
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
        return json_response(200, feedback.staff_view(record))

    @http("POST", "/api/v1/feedback/<string:feedback_id>/transfer")
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
        return json_response(200, feedback.staff_view(record))

    @http("POST", "/api/v1/feedback/<string:feedback_id>/rating")
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
        return json_response(200, feedback.public_view(record))

    @http("POST", "/api/v1/feedback/<string:feedback_id>/reopen")
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
        return json_response(200, feedback.public_view(record))

    @http("GET", "/api/v1/cases")
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

    @http("GET", "/health")
    def health(self, request):
        return health(self.db, self.config["AMQP_URI"])

    # --- the citizen's web pages (services/intake/pages.py, web/)
    def _lang(self, request) -> str:
        chosen = request.args.get("lang") or request.form.get("lang")
        return pages.language(
            chosen, request.cookies.get("suara_lang"), request.headers.get("Accept-Language")
        )

    def _page(self, request, status: int, template: str, lang: str, **context) -> Response:
        keys = store.secret_keys(self.db, self.config["SECRET_KEYS"])
        nonce, token = csrf.issue(keys, request.cookies.get(csrf.COOKIE))
        html = pages.render(template, lang, csrf=token, **context)
        response = Response(html, status=status, content_type="text/html; charset=utf-8")
        response.headers.update(pages.SECURITY_HEADERS)
        response.headers["Cache-Control"] = "no-store"
        secure = self.config["PUBLIC_URL"].startswith("https://")
        response.set_cookie(
            csrf.COOKIE, nonce, httponly=True, samesite="Strict", secure=secure, path="/"
        )
        if request.args.get("lang") in pages.LANGUAGES:
            response.set_cookie(
                "suara_lang", lang, max_age=365 * 86400, samesite="Lax", secure=secure
            )
        return response

    def _message(self, request, status: int, lang: str, heading: str, message: str):
        return self._page(request, status, "message.html", lang, heading=heading, message=message)

    def _form(self, request, status: int, lang: str, report=None):
        mb = self.config["PHOTO_MAX_BYTES"] / 1_000_000
        return self._page(
            request, status, "form.html", lang, **pages.form_context(lang, report, mb)
        )

    def _csrf_ok(self, request) -> bool:
        keys = store.secret_keys(self.db, self.config["SECRET_KEYS"])
        return csrf.valid(keys, request.cookies.get(csrf.COOKIE), request.form.get(csrf.FIELD))

    @http("GET", "/")
    @page_errors
    def home(self, request):
        return self._form(request, 200, self._lang(request))

    @http("POST", "/lapor", max_body=PAGE_BODY)
    @page_errors
    def report(self, request):
        lang = self._lang(request)
        t = pages.translator(lang)
        if not self.form_limit.allow(client_address(request, self.config["TRUSTED_PROXIES"])):
            response = self._message(request, 429, lang, t("error_title"), t("too_many"))
            response.headers["Retry-After"] = "600"
            return response
        if not self._csrf_ok(request):
            return self._message(request, 403, lang, t("error_title"), t("form_expired"))
        if request.form.get("website"):  # the honeypot: only a script fills a hidden field
            return self._message(request, 400, lang, t("error_title"), t("invalid"))
        uploads = [f for f in request.files.getlist("photos") if f.filename]
        report = pages.read_report(request.form.to_dict(), lang, len(uploads))
        cleaned = []
        if not report.errors:
            try:
                limit = self.config["PHOTO_MAX_BYTES"]
                cleaned = [photos.clean(f.read(limit + 1), limit) for f in uploads]
            except photos.PhotoRefused as exc:
                report.errors["photos"] = exc.reason_id if lang == "id" else exc.reason_en
        if report.errors:
            return self._form(request, 400, lang, report)
        try:
            result = handlers.submit_web(
                self.db,
                self.publish,
                report.submission,
                cleaned,
                form_key=request.form[csrf.FIELD],
            )
        except handlers.IdempotencyConflict:
            return self._message(request, 409, lang, t("error_title"), t("form_expired"))
        fid = result.record["_id"]
        token = handlers.citizen_token(self.db, self.config["SECRET_KEYS"], fid)
        path = f"/track/{fid}?token={token}"
        return self._page(
            request,
            200,
            "receipt.html",
            lang,
            id=fid,
            track_path=path,
            track_url=self.config["PUBLIC_URL"] + path,
            reopen_days=f"{self.config['REOPEN_DAYS']:g}",
        )

    @http("GET", "/track")
    @page_errors
    def track_lookup(self, request):
        lang = self._lang(request)
        asked = (request.args.get("id") or "").strip().upper()
        if asked and re.fullmatch(schemas.FEEDBACK_ID, asked):
            return Response(status=303, headers={"Location": f"/track/{asked}?lang={lang}"})
        problem = pages.translator(lang)("not_found") if asked else None
        return self._page(
            request,
            404 if asked else 200,
            "track.html",
            lang,
            case=None,
            asked=asked,
            problem=problem,
            notice=None,
        )

    @http("GET", "/track/<feedback_id>")
    @page_errors
    def track(self, request, feedback_id):
        lang = self._lang(request)
        token = request.args.get("token") or ""
        record = store.get(self.db, feedback_id) if open311.is_id(feedback_id) else None
        if record is None:
            problem = pages.translator(lang)("not_found")
            return self._page(
                request,
                404,
                "track.html",
                lang,
                case=None,
                asked=feedback_id[:13],
                problem=problem,
                notice=None,
            )
        return self._track_page(request, 200, lang, record, token)

    def _track_page(self, request, status, lang, record, token, notice=None, problem=None):
        keys = store.secret_keys(self.db, self.config["SECRET_KEYS"])
        token_ok = bool(token) and tokens.verify(keys, record["_id"], token)
        resolved_at = record.get("resolved_at")
        may_reopen = lifecycle.may_reopen(
            record["status"],
            resolved_at and resolved_at.replace(tzinfo=UTC),
            datetime.now(UTC),
            self.policy.reopen_window,
        )
        context = pages.track_context(
            feedback.public_view(record), lang, token_ok=token_ok, may_reopen=may_reopen
        )
        shown = [f"/media/{m}?token={token}" for m in record.get("media") or []]
        return self._page(
            request,
            status,
            "track.html",
            lang,
            token=token,
            notice=notice,
            problem=problem,
            photos=shown if token_ok else [],
            text=record["text"] if token_ok else None,
            **context,
        )

    @http("POST", "/track/<feedback_id>/rating")
    @page_errors
    def track_rating(self, request, feedback_id):
        return self._citizen_form(request, feedback_id, "rating")

    @http("POST", "/track/<feedback_id>/reopen")
    @page_errors
    def track_reopen(self, request, feedback_id):
        return self._citizen_form(request, feedback_id, "reopen")

    def _citizen_form(self, request, feedback_id: str, action: str):
        lang = self._lang(request)
        t = pages.translator(lang)
        record = store.get(self.db, feedback_id) if open311.is_id(feedback_id) else None
        if record is None:
            return self._message(request, 404, lang, t("error_title"), t("not_found"))
        token = request.form.get("token") or ""
        if not self._csrf_ok(request):
            return self._track_page(request, 403, lang, record, token, problem=t("form_expired"))
        keys = self.config["SECRET_KEYS"]
        try:
            if action == "rating":
                body = schemas.Rating().load(
                    {
                        "citizen_token": token,
                        "score": _int_or_none(request.form.get("score")),
                        "comment": request.form.get("comment") or None,
                    }
                )
                record = handlers.rate(
                    self.db,
                    self.publish,
                    self.policy,
                    keys,
                    feedback_id,
                    token,
                    body["score"],
                    body.get("comment"),
                )
            else:
                body = schemas.Reopen().load(
                    {"citizen_token": token, "reason": (request.form.get("reason") or "").strip()}
                )
                record = handlers.reopen(
                    self.db, self.publish, self.policy, keys, feedback_id, token, body["reason"]
                )
        except handlers.WrongToken:
            return self._track_page(request, 403, lang, record, "", problem=t("wrong_token"))
        except (lifecycle.MoveRefused, handlers.ChangedMeanwhile):
            return self._track_page(request, 409, lang, record, token, problem=t("move_refused"))
        except ValidationError:
            return self._track_page(request, 400, lang, record, token, problem=t("invalid"))
        done = "done_rating" if action == "rating" else "done_reopen"
        return self._track_page(request, 200, lang, record, token, notice=t(done))

    @http("GET", "/static/<name>")
    @page_errors
    def static(self, request, name):
        if name not in STATIC:
            return Response("not found", status=404, content_type="text/plain")
        response = Response((pages.WEB / "static" / name).read_bytes(), content_type=STATIC[name])
        response.headers.update(pages.SECURITY_HEADERS)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    @http("GET", "/media/<media_id>")
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
    @http("GET", "/webhooks/whatsapp")
    @page_errors
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

    @http("POST", "/webhooks/sms")
    @page_errors
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

    @http("GET", "/api/v1/replies/<reply_id>")
    @api
    def reply_address(self, request, reply_id):
        api_client(request, self.config["API_KEYS"])  # notification's (an admin) key
        found = handlers.reply_address(self.db, reply_id[:64])
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
        views = handlers.open311_requests(self.db, query)
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
        view = open311.request_view(record, TAXONOMY, query.extensions)
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

    # intake follows its own lifecycle events to keep the work list true after a crash
    # between a case's write and its entry's
    @event_handler("intake", "feedback.status_changed")
    def on_status_changed(self, event):
        handlers.sync_worklist(self.db, self.policy, event.data["feedback_id"])

    @event_handler("intake", "feedback.reassigned")
    def on_reassigned(self, event):
        handlers.sync_worklist(self.db, self.policy, event.data["feedback_id"])

    @event_handler("intake", "feedback.overdue")
    def on_overdue(self, event):
        handlers.sync_worklist(self.db, self.policy, event.data["feedback_id"])

    @timer(interval=DEADLINE_SWEEP_S)
    def sweep_deadlines(self):
        handlers.sweep_deadlines(self.db, self.publish, self.policy)

    @timer(interval=outbox.SWEEP_INTERVAL_S)
    def sweep_outbox(self):
        outbox.sweep(self.db.feedback, self.publish)
        outbox.sweep(self.db.replies, self.publish)
