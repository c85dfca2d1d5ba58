"""`make fuzz`: property-based and grammar-based inputs against every HTTP endpoint of every
service and against the AMQP command exchange, plus issue 7's raw cases by name.

A campaign never stops at the first bad answer: it tallies every answer by status and
records the 5xx, the hangs (no answer within ``HANG_S``), the answers that are not JSON or
that carry a traceback, and at the end the messages left in any ``suara.*`` queue that is not
a dead-letter queue. ``Tally.problems()`` lists what must be zero.

The endpoints are read from the service classes (every ``@http`` entrypoint), so a new
endpoint is fuzzed without being listed here.
"""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field

import pika
import requests
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from shared import openapi, registry
from tests.helpers import poll_until
from tests.support.wire import drain_queue, stall_uploads

HANG_S = 15.0
# 501 Not Implemented (a transfer coding other than chunked) and 505 HTTP Version Not Supported
# (HTTP/2.0 and up on this server) are HTTP's own answers to such requests, not server failures
PROTOCOL_REFUSALS = (501, 505)


@dataclass(frozen=True)
class Route:
    service: str
    method: str
    url: str  # werkzeug rule, e.g. /api/v1/feedback/<string:feedback_id>

    def path(self, value: str) -> str:
        """The rule with every variable part replaced by ``value`` (URL-quoted)."""
        parts = []
        for part in self.url.split("/"):
            raw = value.encode("utf-8", "surrogatepass")  # lone surrogates go out as bad UTF-8
            parts.append(urllib.parse.quote(raw, safe="") if part.startswith("<") else part)
        return "/".join(parts)


def http_routes() -> list[Route]:
    """Every ``@http`` entrypoint of the four services (the ones their OpenAPI documents list)."""
    routes = [
        Route(service, method, entrypoint.url)
        for service in registry.SERVICE_CLASSES
        for entrypoint, _, _ in openapi.routes(registry.service_class(service))
        for method in entrypoint.method.split(",")
    ]
    return sorted(set(routes), key=lambda r: (r.service, r.url, r.method))


_PAGES = re.compile(
    r"^\S+ (intake(/|/lapor|/track\S*|/unsubscribe\S*|/static/\S*|/media/\S*|/webhooks/\S*)"
    r"|reporting(/dashboard\S*|/api/v1/reports/forum\.(html|pdf)\S*))( |$)"
)


_RAW_PAGES = re.compile(
    r"^b'[A-Z]+ (/|/lapor|/track|/unsubscribe|/static/|/media/|/webhooks/|/dashboard"
    r"|/api/v1/reports/forum\.)[^ ]* HTTP"
)


_EXPORTS = re.compile(r"^\S+ reporting/api/v1/exports/\S+\.(csv|jsonl)( |$)")
_METRICS = re.compile(r"^GET \w+/metrics(\?\S*)?( |$)")


def _not_json_by_design(what: str, content_type: str) -> bool:
    """Answers that are not JSON by design: Open311's .xml endpoints (errors too), as
    GeoReport v2 says; the citizen's pages (HTML), their static files and photos; the
    providers' webhooks (TwiML, the handshake's plain text); reporting's open-data exports
    (CSV, JSON lines; their errors are JSON); every service's Prometheus metrics."""
    if _METRICS.match(what):
        return content_type.split(";")[0] in ("text/plain", "application/openmetrics-text")
    if _EXPORTS.match(what):
        return content_type.split(";")[0] in ("text/csv", "application/jsonl")
    if "/open311/v2/" in what and ".xml" in what:
        return content_type.startswith("text/xml")
    if _PAGES.match(what) or _RAW_PAGES.match(what):
        return content_type.split(";")[0] in (
            "text/html",
            "text/plain",
            "text/xml",
            "text/css",
            "text/javascript",
            "image/jpeg",
            "image/png",
            "image/webp",
            "image/svg+xml",
            "application/pdf",
        )
    return False


@dataclass
class Tally:
    inputs: Counter = field(default_factory=Counter)  # by kind
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    not_json: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    named: dict[str, str] = field(default_factory=dict)  # regression -> "ok" or what went wrong
    stuck: dict[str, int] = field(default_factory=dict)
    dead_lettered: dict[str, int] = field(default_factory=dict)
    unhealthy: list[str] = field(default_factory=list)
    refusals: int = 0  # 501 and 505: what HTTP says to answer, not a failure

    def answer(self, kind: str, what: str, status: int, content_type: str, body: bytes) -> None:
        self.inputs[kind] += 1
        self.statuses[status] += 1
        if status in PROTOCOL_REFUSALS:
            self.refusals += 1
        elif status >= 500:
            self.server_errors.append(f"{status} {what[:200]}")
        if (
            body
            and not content_type.startswith("application/json")
            and not _not_json_by_design(what, content_type)
        ):
            self.not_json.append(f"{status} {content_type!r} {what[:200]}")
        if b"Traceback" in body or b'File "/' in body:
            self.leaks.append(what[:200])

    def hang(self, kind: str, what: str) -> None:
        self.inputs[kind] += 1
        self.statuses["hang"] += 1
        self.hangs.append(what[:200])

    @property
    def total(self) -> int:
        return sum(self.inputs.values())

    def problems(self) -> list[str]:
        found = []
        for name, items in (
            ("5xx answers", self.server_errors),
            ("hangs", self.hangs),
            ("answers that are not JSON", self.not_json),
            ("answers with a traceback", self.leaks),
            ("services not healthy afterwards", self.unhealthy),
        ):
            if items:
                found.append(f"{len(items)} {name}, e.g. {items[:3]}")
        failed = {k: v for k, v in self.named.items() if v != "ok"}
        if failed:
            found.append(f"named regressions failed: {failed}")
        if self.stuck:
            found.append(f"messages stuck in queues: {self.stuck}")
        return found

    def report(self) -> str:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.inputs.items()))
        named_ok = sum(v == "ok" for v in self.named.values())
        lines = [
            f"inputs tried: {self.total} ({kinds})",
            "answers by status: "
            + ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items(), key=str)),
            f"5xx: {len(self.server_errors)} (besides {self.refusals} deliberate 501/505)   "
            f"hangs: {len(self.hangs)}   "
            f"not JSON: {len(self.not_json)}   tracebacks: {len(self.leaks)}",
            f"named regressions: {named_ok}/{len(self.named)} ok",
            f"stuck messages: {sum(self.stuck.values())} {self.stuck or ''}".rstrip(),
            "dead-lettered (refused with a reason): "
            + (", ".join(f"{q} {n}" for q, n in self.dead_lettered.items()) or "0"),
        ]
        return "\n".join(lines)


# ------------------------------------------------------------------ strategies
def weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """One of the strategies, drawn in proportion to its weight (st.one_of flattens and
    deduplicates its branches, so repeating one does not weigh it)."""
    table = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(table) - 1).flatmap(lambda i: table[i])


NASTY = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "abc \ud800 def",
        "\udfff",
        "\u202e\u0645",
        "$gt",
        "$where",
        "{'$ne': null}",
        "<script>alert(1)</script>",
        "../../etc/passwd",
        "%00",
        "SU-0000000000",
        "A" * 5001,
        "x" * 70_000,
        "\r\nX-Injected: yes",
        "banjir rob di Panjang Wetan",
        "🌊🌊 air masuk rumah",
        "1e309",
        "NaN",
    ]
)
ANY_TEXT = st.one_of(NASTY, st.text(st.characters(codec=None, exclude_categories=()), max_size=80))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    ANY_TEXT,
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(ANY_TEXT, children, max_size=4)
    ),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from(
    [
        "text",
        "location",
        "contact",
        "category_hint",
        "category",
        "lat",
        "lon",
        "kelurahan",
        "kecamatan",
        "address",
        "email",
        "phone",
        "name",
        "language",
        "source",
        "external_id",
        "$where",
        "_id",
        "__proto__",
    ]
)
PLAIN_TEXT = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "Zs", "P", "So")), min_size=3, max_size=400
)
SHAPED = st.fixed_dictionaries(
    {"text": weighted((3, PLAIN_TEXT), (1, ANY_TEXT), (1, JSON))},
    optional={
        "location": st.one_of(
            JSON, st.fixed_dictionaries({}, optional={k: JSON for k in ("lat", "lon", "kelurahan")})
        ),
        "contact": st.one_of(
            JSON, st.fixed_dictionaries({}, optional={k: JSON for k in ("email", "phone", "name")})
        ),
        "category_hint": st.one_of(ANY_TEXT, st.sampled_from(["roads", "water", "flooding"])),
        "category": st.one_of(ANY_TEXT, st.sampled_from(["roads", "waste"])),
    },
)
DEEP = st.integers(min_value=1, max_value=20_000).map(lambda n: "[" * n + "]" * n)


def _dumps(value) -> str:
    return json.dumps(value, allow_nan=True)


BODIES = weighted(
    (5, SHAPED.map(_dumps)),
    (1, st.dictionaries(FIELD_NAMES, JSON, max_size=5).map(_dumps)),
    (1, JSON.map(_dumps)),
    (1, DEEP.map(lambda d: '{"text": ' + d + "}")),
    (1, st.binary(max_size=300).map(lambda b: b.decode("latin-1"))),
    (1, st.integers(200_000, 300_000).map(lambda n: '{"text": "' + "a" * n + '"}')),
).map(lambda s: s.encode("utf-8", "surrogatepass"))
CONTENT_TYPES = st.sampled_from(
    ["application/json"] * 8
    + [
        "",
        "text/plain",
        "application/json; charset=latin-1",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "\u00e9/\u00e9",
    ]
)
HEADER_VALUES = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300)


@st.composite
def http_inputs(draw, routes: list[Route]):
    route = draw(st.sampled_from(routes))
    path = route.path(draw(ANY_TEXT | st.just("SU-0000000000")) or "x")
    params = draw(
        st.dictionaries(
            FIELD_NAMES | st.sampled_from(["limit", "feedback_id"]),
            ANY_TEXT | st.integers().map(str),
            max_size=3,
        )
    )
    headers = {"Content-Type": draw(CONTENT_TYPES)}
    for name in ("Idempotency-Key", "X-API-Key", "X-Correlation-Id", "Authorization"):
        if draw(st.booleans()):
            headers[name] = draw(HEADER_VALUES | st.just("fuzz-secret"))
    body = draw(BODIES) if route.method in ("POST", "PUT", "PATCH") or draw(st.booleans()) else b""
    method = draw(st.sampled_from([route.method] * 6 + ["PUT", "DELETE", "PATCH", "HEAD"]))
    return route, method, path, params, headers, body


TOKENS = st.sampled_from([b"GET", b"POST", b"HEAD", b"OPTIONS", b"BREW", b"", b"G\x00T", b"\xff"])
TARGETS = st.sampled_from(
    [
        b"/",
        b"/health",
        b"/api/v1/feedback",
        b"/api/v1/feedback/SU-0000000000",
        b"*",
        b"http://x/health",
        b"/%ff%fe",
        b"/" + b"a" * 9000,
        b"/api/v1/feedback?x=\x00",
        b"",
    ]
)
VERSIONS = st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/9.9", b"", b"HTTP/1.1 x"])
HEADER_LINES = st.one_of(
    st.sampled_from(
        [
            b"Host: x",
            b"Content-Type: application/json",
            b"Transfer-Encoding: chunked",
            b"Content-Length: 5",
            b"Content-Length: -1",
            b"Content-Length: abc",
            b"Content-Length: 99999999999999999999",
            b"Idempotency-Key: a\rX-Injected: yes",
            b" folded",
            b"X-Empty:",
            b":novalue",
            b"Expect: 100-continue",
            b"\x00: \x00",
            b"Connection: keep-alive",
            b"Transfer-Encoding: gzip",
        ]
    ),
    st.binary(max_size=60).filter(lambda b: b"\n" not in b),
)


@st.composite
def raw_requests(draw):
    line = draw(TOKENS) + b" " + draw(TARGETS) + b" " + draw(VERSIONS)
    headers = draw(st.lists(HEADER_LINES, max_size=6))
    body = draw(st.one_of(st.just(b""), BODIES, st.just(b"5\r\nhello\r\n0\r\n\r\n")))
    return (
        line
        + b"\r\n"
        + b"".join(h + b"\r\n" for h in headers)
        + b"Connection: close\r\n\r\n"
        + body
    )


AMQP_HEADERS = st.dictionaries(
    st.sampled_from(
        [
            "nameko.call_id_stack",
            "nameko.correlation_id",
            "x-suara-attempts",
            "x-suara-reason",
            "x-death",
            "x-fuzz",
        ]
    ),
    st.one_of(
        st.integers(-5, 10**6),
        HEADER_VALUES,
        st.lists(st.integers(-(2**63), 2**63 - 1), max_size=3),
        st.just("abc"),
        st.none(),
    ),
    max_size=4,
)


@st.composite
def amqp_inputs(draw, source: str):
    command = st.fixed_dictionaries(
        {
            "source": weighted((4, st.just(source)), (1, ANY_TEXT), (1, JSON)),
            "external_id": weighted((4, st.uuids().map(str)), (1, ANY_TEXT), (1, JSON)),
            "text": weighted((4, PLAIN_TEXT), (1, ANY_TEXT), (1, JSON)),
        },
        optional={"location": JSON, "category_hint": ANY_TEXT},
    ).map(lambda c: _dumps(c).encode("utf-8", "surrogatepass"))
    body = draw(weighted((1, BODIES), (3, command)))
    props = {
        "headers": draw(AMQP_HEADERS),
        "content_type": draw(st.sampled_from([None, "application/json", "text/plain", "x/y"])),
        "content_encoding": draw(st.sampled_from([None, "utf-8", "binary", "latin-1", "x-nope"])),
    }
    return body, props


# ------------------------------------------------------------------ runners
def _run(strategy, action, examples: int, seed_value: int) -> None:
    @seed(seed_value)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def campaign(example):
        action(example)

    campaign()


def fuzz_http(urls: dict[str, str], tally: Tally, examples: int, seed_value: int) -> None:
    session = requests.Session()
    routes = http_routes()

    def send(example):
        route, method, path, params, headers, body = example
        what = f"{method} {route.service}{path[:80]} {body[:80]!r}"
        try:
            r = session.request(
                method,
                urls[route.service] + path,
                params=params,
                headers=headers,
                data=body,
                timeout=HANG_S,
            )
        except requests.exceptions.Timeout:
            tally.hang("http", what)
            return
        except (requests.exceptions.InvalidHeader, ValueError, UnicodeError):
            return  # the client refused to send it: not an input
        except requests.exceptions.ConnectionError as exc:
            tally.answer("http", what, 599, "", str(exc).encode())
            return
        tally.answer("http", what, r.status_code, r.headers.get("Content-Type", ""), r.content)

    _run(http_inputs(routes), send, examples, seed_value)


def raw_exchange(url: str, request: bytes, timeout: float = HANG_S) -> tuple[int, str, bytes]:
    """Send raw bytes; (status, content type, body) of the answer, or status 0 on a close."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        try:
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer and close before it took everything
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
    if not data:
        return 0, "", b""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    ctype = next(
        (
            v.strip()
            for k, _, v in (h.partition(":") for h in lines[1:])
            if k.lower() == "content-type"
        ),
        "",
    )
    return status, ctype, body


def fuzz_raw(urls: dict[str, str], tally: Tally, examples: int, seed_value: int) -> None:
    services = sorted(urls)

    def send(example):
        index, request = example
        url = urls[services[index % len(services)]]
        try:
            status, ctype, body = raw_exchange(url, request)
        except TimeoutError:
            tally.hang("raw", repr(request[:200]))
            return
        if status:  # a connection closed without an answer is a fair answer to garbage
            tally.answer("raw", repr(request[:200]), status, ctype, body)
        else:
            tally.inputs["raw"] += 1
            tally.statuses["closed"] += 1

    _run(st.tuples(st.integers(0, 3), raw_requests()), send, examples, seed_value)


def fuzz_amqp(amqp_uri: str, tally: Tally, examples: int, seed_value: int, source: str) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = conn.channel()
    channel.confirm_delivery()

    def send(example):
        body, props = example
        channel.basic_publish(
            "suara.intake",
            "feedback.submit",
            body,
            pika.BasicProperties(delivery_mode=2, **props),
            mandatory=True,
        )
        tally.inputs["amqp"] += 1
        tally.statuses["amqp confirmed"] += 1

    try:
        _run(amqp_inputs(source), send, examples, seed_value)
    finally:
        conn.close()


# ------------------------------------------------------------------ named regressions
DEEP_10K = b"[" * 10_000 + b"]" * 10_000
COMMAND_QUEUE = "suara.intake.feedback.submit"


def _post(path: str, body: bytes, extra: bytes = b"") -> bytes:
    return (
        b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-API-Key: fuzz-secret\r\n"
        + extra
        + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
        + body
    )


def _chunked(*parts: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


CHUNKED = (
    b"POST /api/v1/feedback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    + _chunked(b'{"text": "Jalan ', b'rusak di Jl. Pemuda"', b"}")
)
# issue 7's raw cases: name -> (service, request, acceptable statuses, check of the body)
RAW_CASES = {
    "deep JSON on POST /api/v1/feedback": (
        "intake",
        _post("/api/v1/feedback", b'{"text": ' + DEEP_10K + b"}"),
        {400},
        b"nested",
    ),
    "deep JSON on POST /api/v1/classify": (
        "categorization",
        _post("/api/v1/classify", b'{"text": ' + DEEP_10K + b"}"),
        {400},
        b"nested",
    ),
    "deep JSON on POST /api/v1/feedback/{id}/category": (
        "categorization",
        _post("/api/v1/feedback/SU-0000000000/category", b'{"category": ' + DEEP_10K + b"}"),
        {400},
        b"nested",
    ),
    "lone surrogate in text": (
        "intake",
        _post("/api/v1/feedback", b'{"text": "abc \\ud800 def"}'),
        {400},
        b'"text"',
    ),
    "lone surrogate in location.address": (
        "intake",
        _post("/api/v1/feedback", b'{"text": "abc def", "location": {"address": "\\udc00"}}'),
        {400},
        b"location.address",
    ),
    "NUL in text": (
        "intake",
        _post("/api/v1/feedback", b'{"text": "abc \\u0000 def"}'),
        {400},
        b'"text"',
    ),
    "chunked body": ("intake", CHUNKED, {201}, b'"id"'),
    "bare CR inside a header": (
        "intake",
        _post("/api/v1/feedback", b'{"text": "lampu mati"}', b"Idempotency-Key: abc\rX-I: yes\r\n"),
        {400},
        b"header",
    ),
    "folded header line": (
        "intake",
        _post("/api/v1/feedback", b'{"text": "lampu mati"}', b"X-A: a\r\n b\r\n"),
        {400},
        b"header",
    ),
    "unknown route answers JSON": (
        "reporting",
        b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        {404},
        b"not_found",
    ),
    "unknown method answers JSON": (
        "reporting",
        b"DELETE /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        {405},
        b"method_not_allowed",
    ),
    "Content-Length with Transfer-Encoding answers JSON": (
        "intake",
        b"POST /api/v1/feedback HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n",
        {400},
        b"Transfer-Encoding",
    ),
    "a negative Content-Length answers JSON": (
        "intake",
        b"POST /api/v1/feedback HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n"
        b"Connection: close\r\n\r\n",
        {400},
        b"Content-Length",
    ),
    "malformed request line answers JSON": ("notification", b"GARBAGE\r\n\r\n", {400}, b"error"),
    "bad HTTP version answers JSON": ("notification", b"GET / HTTP/9.9\r\n\r\n", {505}, b"error"),
    "404 does not echo a long id": (
        "intake",
        b"GET /api/v1/feedback/"
        + b"Z" * 4000
        + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        {404},
        b"not_found",
    ),
}


def _check_raw(tally: Tally, urls: dict[str, str], name: str, case) -> None:
    service, request, statuses, needle = case
    try:
        status, ctype, body = raw_exchange(urls[service], request)
    except TimeoutError:
        tally.hang("named", name)
        tally.named[name] = "no answer"
        return
    tally.answer("named", name, status, ctype, body)
    ok = status in statuses and needle in body and ctype.startswith("application/json")
    ok = ok and b"Z" * 100 not in body
    tally.named[name] = "ok" if ok else f"{status} {ctype} {body[:120]!r}"


def _check_stalls(tally: Tally, urls: dict[str, str], read_timeout_s: float) -> None:
    socks = stall_uploads(urls["intake"], 50)
    try:
        started = time.monotonic()
        r = requests.get(urls["intake"] + "/health", timeout=5)
        took = time.monotonic() - started
        tally.named["/health within 1 s beside 50 stalled uploads"] = (
            "ok" if r.status_code == 200 and took < 1.0 else f"{r.status_code} in {took:.2f} s"
        )
        answers = []
        for s in socks:
            s.settimeout(read_timeout_s + 5)
            try:
                answers.append(s.recv(4096).split(b" ", 2)[1])
            except (TimeoutError, IndexError, OSError):
                answers.append(b"none")
        tally.inputs["named"] += len(socks)
        tally.statuses[408] += answers.count(b"408")
        tally.named["stalled uploads get 408"] = (
            "ok" if set(answers) == {b"408"} else f"{Counter(answers)}"
        )
    finally:
        for s in socks:
            s.close()


def _drain(amqp_uri: str, queue: str) -> list[dict]:
    return [headers for headers, _ in drain_queue(amqp_uri, queue)]


def _check_amqp(tally: Tally, urls: dict[str, str], amqp_uri: str, source: str) -> None:
    dead_queue = COMMAND_QUEUE + ".dead"
    _drain(amqp_uri, dead_queue)
    summary = urls["reporting"] + "/api/v1/reports/summary"
    before = requests.get(summary, timeout=5).json()["total"]
    cases = [
        (
            "AMQP JSON nested 10,000 deep",
            b'{"source":"p","external_id":"d","text":' + DEEP_10K + b"}",
            {},
            "nested deeper",
        ),
        ("AMQP empty body", b"", {}, "not JSON"),
        (
            "AMQP lone surrogate",
            b'{"source":"p","external_id":"s","text":"a \\ud800"}',
            {},
            "lone surrogate",
        ),
    ]
    conn = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = conn.channel()
    channel.confirm_delivery()
    for _, body, headers, _ in cases:
        channel.basic_publish(
            "suara.intake",
            "feedback.submit",
            body,
            pika.BasicProperties(delivery_mode=2, headers=headers),
        )
    # a valid command carrying the framework's own header from outside: stored, header ignored
    valid = {"source": source, "external_id": "nameko-header", "text": "Lampu PJU mati di Medono"}
    channel.basic_publish(
        "suara.intake",
        "feedback.submit",
        json.dumps(valid).encode(),
        pika.BasicProperties(delivery_mode=2, headers={"nameko.call_id_stack": 5}),
    )
    conn.close()
    tally.inputs["named"] += len(cases) + 1
    dead: list[dict] = []
    poll_until(lambda: dead.extend(_drain(amqp_uri, dead_queue)) or len(dead) >= len(cases), 30)
    reasons = [str(h.get("x-suara-reason", "")) for h in dead]
    tally.dead_lettered[dead_queue] = tally.dead_lettered.get(dead_queue, 0) + len(dead)
    for name, _, _, needle in cases:
        tally.named[name] = "ok" if any(needle in r for r in reasons) else f"dead: {reasons}"
    stored = poll_until(lambda: requests.get(summary, timeout=5).json()["total"] >= before + 1, 30)
    tally.named["AMQP nameko.call_id_stack: 5 from outside is ignored"] = (
        "ok" if stored else "the command was not stored"
    )


def named_regressions(
    tally: Tally, urls: dict[str, str], amqp_uri: str, read_timeout_s: float, source: str
) -> None:
    for name, case in RAW_CASES.items():
        _check_raw(tally, urls, name, case)
    _check_stalls(tally, urls, read_timeout_s)
    _check_amqp(tally, urls, amqp_uri, source)


# ------------------------------------------------------------------ the whole campaign
def quiesce(tally: Tally, urls: dict[str, str], amqp_uri: str, timeout_s: float = 90) -> None:
    """Wait until no ``suara.*`` queue but the dead-letter ones holds a message; what is left
    after ``timeout_s`` is stuck. Then every service must still be healthy."""
    from tests.support.platform import queue_depths

    def drained() -> bool:
        depths.clear()
        depths.update(queue_depths(amqp_uri))
        return not any(n for q, n in depths.items() if not q.endswith(".dead"))

    depths: dict[str, int] = {}
    poll_until(drained, timeout_s, interval=0.5)
    tally.stuck = {q: n for q, n in depths.items() if n and not q.endswith(".dead")}
    for q, n in depths.items():
        if q.endswith(".dead") and n:
            tally.dead_lettered[q] = tally.dead_lettered.get(q, 0) + n
    for service, url in urls.items():
        try:
            status = requests.get(url + "/health", timeout=5).status_code
        except requests.RequestException as exc:
            status = type(exc).__name__
        if status != 200:
            tally.unhealthy.append(f"{service}: {status}")


def run(
    urls: dict[str, str],
    amqp_uri: str,
    examples: int,
    seed_value: int,
    read_timeout_s: float,
    source: str = "fuzz",
) -> Tally:
    """Named regressions, then ``examples`` generated inputs (60% HTTP, 20% raw, 20% AMQP)."""
    tally = Tally()
    named_regressions(tally, urls, amqp_uri, read_timeout_s, source)
    fuzz_http(urls, tally, max(1, examples * 6 // 10), seed_value)
    fuzz_raw(urls, tally, max(1, examples * 2 // 10), seed_value + 1)
    fuzz_amqp(amqp_uri, tally, max(1, examples * 2 // 10), seed_value + 2, source)
    quiesce(tally, urls, amqp_uri)
    return tally
