"""The citizen's web pages over HTTP (the adapter): forms in, HTML out, with the CSRF cookie,
the security headers and the language cookie; the words and templates are ``pages``, the use
cases ``handlers``. The service's page entrypoints hand each request to a ``Site``."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from marshmallow import ValidationError
from werkzeug.wrappers import Response

from services.intake import (
    csrf,
    handlers,
    lifecycle,
    open311,
    pages,
    photos,
    schemas,
    store,
    tokens,
)
from shared import webpages

log = logging.getLogger(__name__)

STATIC = {"suara.css": "text/css; charset=utf-8", "pin.js": "text/javascript; charset=utf-8"}
PAGE_BODY = 3 * 5_000_000 + 1_000_000  # 3 photos at the largest default, and the fields


def client_address(request, trusted: frozenset[str]) -> str:
    """The client: the proxy's X-Real-IP when the request comes from a trusted proxy."""
    remote = request.remote_addr or "unknown"
    forwarded = request.headers.get("X-Real-IP", "").strip()
    return forwarded if forwarded and remote in trusted else remote


# a page's unexpected failure: a plain page without the details (shared/webpages.py)
page_errors = webpages.page_errors(lambda: pages.SECURITY_HEADERS)


def _plain(status: int, text: str) -> Response:
    return webpages.plain(status, text, pages.SECURITY_HEADERS)


def _int_or_none(value: str | None):
    return int(value) if value and value.isdigit() else value


class Site:
    """The pages of one request: what the service's page entrypoints answer."""

    def __init__(self, db, config, policy, publish, form_limit):
        self.db, self.config, self.policy = db, config, policy
        self.publish, self.form_limit = publish, form_limit

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

    def home(self, request):
        return self._form(request, 200, self._lang(request))

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
            handlers.public_view(self.db, record), lang, token_ok=token_ok, may_reopen=may_reopen
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

    def track_rating(self, request, feedback_id):
        return self._citizen_form(request, feedback_id, "rating")

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

    # --- the e-mail opt-out (the link in each mail: /unsubscribe/<address hash>?token=)
    def unsubscribe_page(self, request, address_hash: str):
        """The confirm button only: mail scanners fetch links, so a GET changes nothing."""
        lang = self._lang(request)
        token = request.args.get("token") or ""
        if not tokens.is_address_hash(address_hash):
            return self._unsubscribe_refused(request, lang, 404)
        if not handlers.may_unsubscribe(self.db, self.config["SECRET_KEYS"], address_hash, token):
            return self._unsubscribe_refused(request, lang, 403)
        done = handlers.opted_out(self.db, address_hash)
        return self._unsubscribe_shown(request, lang, address_hash, token, done)

    def unsubscribe(self, request, address_hash: str):
        """The confirm button's POST, or a mail provider's RFC 8058 one-click POST (body
        ``List-Unsubscribe=One-Click``, the token in the query). No CSRF token: the signed
        token in the link authorizes it (another site cannot know it, and a provider's
        one-click POST carries no cookie), and no per-address limit either: providers send
        many citizens' one-click POSTs from few addresses, and a wrong token changes nothing."""
        lang = self._lang(request)
        token = request.form.get("token") or request.args.get("token") or ""
        if not tokens.is_address_hash(address_hash):
            return self._unsubscribe_refused(request, lang, 404)
        try:
            handlers.unsubscribe(self.db, self.config["SECRET_KEYS"], address_hash, token)
        except handlers.WrongToken:
            return self._unsubscribe_refused(request, lang, 403)
        if request.form.get("List-Unsubscribe") == "One-Click":
            return _plain(200, "Berhenti berlangganan. / Unsubscribed.")
        return self._unsubscribe_shown(request, lang, address_hash, token, True)

    def _unsubscribe_refused(self, request, lang: str, status: int):
        """404: not an address's hash; 403: the token is not that address's."""
        t = pages.translator(lang)
        problem = "unsubscribe_unknown" if status == 404 else "unsubscribe_wrong"
        return self._message(request, status, lang, t("error_title"), t(problem))

    def _unsubscribe_shown(self, request, lang: str, address_hash: str, token: str, done: bool):
        return self._page(
            request,
            200,
            "unsubscribe.html",
            lang,
            address_hash=address_hash,
            token=token,
            done=done,
        )

    def static(self, request, name):
        if name not in STATIC:
            return Response("not found", status=404, content_type="text/plain")
        response = Response((pages.WEB / "static" / name).read_bytes(), content_type=STATIC[name])
        response.headers.update(pages.SECURITY_HEADERS)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response
