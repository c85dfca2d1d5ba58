"""The forum report over HTTP (the adapter): its JSON, its printable page and its PDF, each
from ``forum_report.report``; the service's entrypoints hand each request here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from services.reporting import forum_page, forum_pdf, forum_report
from shared.http import HttpError, json_response

if TYPE_CHECKING:  # for annotations only: the store does the I/O
    from pymongo.database import Database
    from werkzeug.wrappers import Request


def _lang(request: Request) -> str:
    return forum_page.language(request.args.get("lang"), request.headers.get("Accept-Language"))


def _report(db: Database, request: Request, staff: bool) -> dict:
    """The report; the citizens' own words (the representative texts) only for staff: a name
    or a street written in prose is not detected by the redaction."""
    report = forum_report.report(db, request.args.to_dict())
    if not staff:
        for theme in report["themes"]:
            theme["representative_texts"] = []
    report["texts_for_staff_only"] = not staff
    return report


def _page(db: Database, request: Request, staff: bool) -> str:
    args = request.args.to_dict()
    return forum_page.render(_report(db, request, staff), _lang(request), args)


def as_json(db: Database, request: Request, staff: bool = False) -> Response:
    return json_response(200, _report(db, request, staff), {"Cache-Control": "no-store"})


def as_html(db: Database, request: Request, staff: bool = False) -> Response:
    response = Response(_page(db, request, staff), content_type="text/html; charset=utf-8")
    response.headers.update(forum_page.headers())
    response.headers["Vary"] = "Accept-Language"
    return response


def as_pdf(db: Database, request: Request, staff: bool = False) -> Response:
    if forum_pdf.chromium() is None:  # before the report is read: nothing to print it with
        raise HttpError(503, "pdf_unavailable", forum_pdf.NO_CHROMIUM)
    html = _page(db, request, staff)
    try:
        body = forum_pdf.to_pdf(html)
    except forum_pdf.Unavailable as exc:
        raise HttpError(503, "pdf_unavailable", str(exc)) from None
    response = Response(body, content_type="application/pdf")
    response.headers.update(
        {
            "Content-Disposition": 'inline; filename="suara-forum-report.pdf"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Vary": "Accept-Language",
        }
    )
    return response
