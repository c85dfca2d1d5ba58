"""The dashboard over HTTP (the adapter): the page, the staff sign-in and sign-out (CSRF
forms), the overdue table's JSON for a signed-in session, and the allowed static files. The
words and templates are ``dashboard``, the sessions ``sessions``, the use cases
``dashboard_handlers``; the service's entrypoints hand each request to a ``Board``."""

from __future__ import annotations

import logging

from werkzeug.wrappers import Response

from services.intake import csrf, ratelimit  # the same CSRF token and limiter as intake's forms
from services.reporting import dashboard, dashboard_handlers, handlers, sessions
from shared import webpages
from shared.http import json_response

log = logging.getLogger(__name__)

CSRF_COOKIE = "suara_dashboard_csrf"
PATH = "/dashboard"
TILES = dashboard.tile_url()  # SUARA_TILE_URL, checked at start-up: a bad one stops the service
# sign-in attempts per client address, per process: keys are long, but guessing stays slow
SIGN_IN_LIMIT = (10, 600.0)
_sign_ins = ratelimit.RateLimit(*SIGN_IN_LIMIT)


# a page's unexpected failure: a plain page without the details (shared/webpages.py)
page_errors = webpages.page_errors(lambda: dashboard.security_headers(TILES))


def _plain(status: int, text: str) -> Response:
    return webpages.plain(status, text, dashboard.security_headers(TILES))


class Board:
    """The dashboard's answers to one request."""

    def __init__(self, db, config):
        self.db, self.config = db, config

    # --- who asks
    def _secrets(self) -> tuple[str, ...]:
        return dashboard_handlers.session_secrets(self.db, self.config["SECRET_KEYS"])

    def _staff(self, request) -> sessions.Staff | None:
        token = request.cookies.get(sessions.COOKIE)
        if not token:
            return None
        return sessions.verify(
            self._secrets(), token, self.config["API_KEYS"], self.config["DEPARTMENT_KEYS"]
        )

    def _secure(self, request) -> bool:
        """Whether the browser came over https (directly, or through a trusted proxy)."""
        if request.scheme == "https":
            return True
        proxied = request.headers.get("X-Forwarded-Proto", "").lower() == "https"
        return proxied and (request.remote_addr or "") in self.config["TRUSTED_PROXIES"]

    def _client(self, request) -> str:
        """The client: the proxy's X-Real-IP when the request comes from a trusted proxy."""
        remote = request.remote_addr or "unknown"
        forwarded = request.headers.get("X-Real-IP", "").strip()
        return forwarded if forwarded and remote in self.config["TRUSTED_PROXIES"] else remote

    def _lang(self, request) -> str:
        chosen = request.args.get("lang") or request.form.get("lang")
        return dashboard.language(
            chosen, request.cookies.get("suara_lang"), request.headers.get("Accept-Language")
        )

    def _csrf_ok(self, request) -> bool:
        return csrf.valid(
            self._secrets(), request.cookies.get(CSRF_COOKIE), request.form.get(csrf.FIELD)
        )

    # --- pages
    def page(self, request, status: int = 200, problem: str | None = None) -> Response:
        lang = self._lang(request)
        staff = self._staff(request)
        chosen = dashboard.filters(request.args, handlers.today())
        nonce, token = csrf.issue(self._secrets(), request.cookies.get(CSRF_COOKIE))
        html = dashboard.render(
            "dashboard.html",
            lang,
            csrf=token,
            problem=problem,
            **dashboard.page_context(lang, chosen, staff, TILES),
        )
        response = Response(html, status=status, content_type="text/html; charset=utf-8")
        response.headers.update(dashboard.security_headers(TILES))
        response.headers["Cache-Control"] = "no-store"
        secure = self._secure(request)
        response.set_cookie(
            CSRF_COOKIE, nonce, httponly=True, samesite="Strict", secure=secure, path=PATH
        )
        if request.args.get("lang") in dashboard.LANGUAGES:
            response.set_cookie(
                "suara_lang", lang, max_age=365 * 86400, samesite="Lax", secure=secure
            )
        if request.cookies.get(sessions.COOKIE) and staff is None:  # expired or revoked
            response.delete_cookie(sessions.COOKIE, path=PATH)
        return response

    def _back(self, request, lang: str) -> Response:
        response = Response(status=303, headers={"Location": f"{PATH}?lang={lang}"})
        response.headers.update(dashboard.security_headers(TILES))
        return response

    def sign_in(self, request) -> Response:
        lang = self._lang(request)
        t = dashboard.translator(lang)
        if not self._csrf_ok(request):
            return self.page(request, 403, t("form_expired"))
        if not _sign_ins.allow(self._client(request)):
            response = self.page(request, 429, t("too_many"))
            response.headers["Retry-After"] = str(int(SIGN_IN_LIMIT[1]))
            return response
        key = (request.form.get("key") or "").strip()
        staff = sessions.who(self.config["API_KEYS"], self.config["DEPARTMENT_KEYS"], key)
        if not key or staff is None:
            log.info("dashboard: a sign-in with an unknown key")
            return self.page(request, 401, t("signin_failed"))
        response = self._back(request, lang)
        response.set_cookie(
            sessions.COOKIE,
            sessions.issue(self._secrets(), staff, key),
            max_age=sessions.MAX_AGE_S,
            httponly=True,
            samesite="Strict",
            secure=self._secure(request),
            path=PATH,
        )
        log.info("dashboard: %s signed in", staff.name)
        return response

    def sign_out(self, request) -> Response:
        lang = self._lang(request)
        if not self._csrf_ok(request):
            return self.page(request, 403, dashboard.translator(lang)("form_expired"))
        response = self._back(request, lang)
        response.delete_cookie(
            sessions.COOKIE,
            path=PATH,
            httponly=True,
            samesite="Strict",
            secure=self._secure(request),
        )
        return response

    def overdue(self, request) -> Response:
        """The overdue table for a signed-in session (its department's rows for a department),
        401 without one."""
        staff = self._staff(request)
        if staff is None:
            return json_response(
                401,
                {"error": "unauthorized", "message": "sign in on /dashboard"},
                {"Cache-Control": "no-store"},
            )
        rows = dashboard_handlers.overdue_table(self.db, staff.department_id)
        body = {"staff": staff.name, "department_id": staff.department_id, "overdue": rows}
        return json_response(200, body, {"Cache-Control": "no-store"})

    def static(self, request, name: str) -> Response:
        found = dashboard.static_file(name)
        if found is None:
            return _plain(404, "not found")
        body, kind, max_age = found
        response = Response(body, content_type=kind)
        response.headers.update(dashboard.security_headers(TILES))
        response.headers["Cache-Control"] = f"public, max-age={max_age}"
        return response
