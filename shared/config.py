"""Configuration from environment variables, with documented defaults.

Every setting a service reads is listed in ``SETTINGS`` (and in the README); ``load`` turns the
environment into the dict nameko's ``ServiceContainer`` takes as its config.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from shared import taxonomy  # not shared.events: it brings nameko, heavy for the CLIs

CATEGORY_IDS = taxonomy.TAXONOMY.category_ids

SERVICES = ("intake", "categorization", "notification", "reporting")
TIMER_WORKERS = 4  # outbox sweeps, model reloads, digests: never queued behind HTTP or AMQP work
DEFAULT_PORTS = {"intake": 8001, "categorization": 8002, "notification": 8003, "reporting": 8004}


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    doc: str


SETTINGS = (
    Setting(
        "SUARA_<SERVICE>_AMQP_URI",
        "$SUARA_AMQP_URI",
        "per-service RabbitMQ URI (its own user), e.g. SUARA_INTAKE_AMQP_URI",
    ),
    Setting(
        "SUARA_AMQP_URI",
        "amqp://<service>:<service>-amqp-dev@127.0.0.1:5672/",
        "RabbitMQ URI; unset: each service as its own development user (deploy/rabbitmq)",
    ),
    Setting("SUARA_MONGO_URI", "mongodb://127.0.0.1:27017/", "MongoDB URI (all services)"),
    Setting(
        "SUARA_<SERVICE>_MONGO_URI",
        "$SUARA_MONGO_URI",
        "per-service MongoDB URI (its own credentials), e.g. SUARA_INTAKE_MONGO_URI",
    ),
    Setting("SUARA_<SERVICE>_DB", "<service>", "the service's own database name"),
    Setting("SUARA_HTTP_HOST", "127.0.0.1", "address the HTTP servers bind to"),
    Setting("SUARA_INTAKE_PORT", "8001", "intake HTTP port"),
    Setting("SUARA_CATEGORIZATION_PORT", "8002", "categorization HTTP port"),
    Setting("SUARA_NOTIFICATION_PORT", "8003", "notification HTTP port"),
    Setting("SUARA_REPORTING_PORT", "8004", "reporting HTTP port"),
    Setting("SUARA_API_KEYS", "", "comma-separated name:key pairs for machine clients"),
    Setting(
        "SUARA_DEPARTMENT_KEYS",
        "",
        "comma-separated department-id:key pairs: a department moves the cases assigned to it",
    ),
    Setting(
        "SUARA_MAX_WORKERS", "10", "concurrent AMQP message handlers (the prefetch) per process"
    ),
    Setting("SUARA_HTTP_WORKERS", "10", "concurrent HTTP request handlers per process"),
    Setting(
        "SUARA_HTTP_CONNECTIONS",
        "100",
        "open HTTP connections per process; one more is answered 503 and closed",
    ),
    Setting(
        "SUARA_HTTP_READ_TIMEOUT_S",
        "10",
        "seconds for a request's headers, and for its body, to arrive (408 after); idle keep-alive",
    ),
    Setting("SUARA_MAX_ATTEMPTS", "5", "handler attempts before a message is dead-lettered"),
    Setting("SUARA_RETRY_DELAY_MS", "500", "first retry delay; doubles at each attempt"),
    Setting("SUARA_OUTBOX_SWEEP_S", "2", "how often unpublished events are looked for"),
    Setting("SUARA_REVIEW_THRESHOLD", "0.5", "below this confidence feedback goes to review"),
    Setting(
        "SUARA_DUPLICATES",
        "on",
        "on/off: link a feedback to an open case at the same place describing the same problem "
        '("me too", services/categorization/duplicates.py)',
    ),
    Setting(
        "SUARA_DUPLICATE_WINDOW_DAYS",
        "14",
        'a "me too" links only to an open case submitted within this many days of it',
    ),
    Setting(
        "SUARA_DUPLICATE_RADIUS_M",
        "150",
        'a "me too" links only within this distance in metres (same kelurahan when either '
        "report has no coordinates)",
    ),
    Setting(
        "SUARA_DUPLICATE_MIN_SIMILARITY",
        "0.43",
        "the probability (0..1) that two texts tell the same problem from which a report "
        "repeats an open case (the pair scorer's, services/categorization/duplicates.py)",
    ),
    Setting(
        "SUARA_DUPLICATE_HIDE_SIMILARITY",
        "0.8",
        'from this similarity a suspected "me too" case is left out of the department\'s lists '
        "and its own deadline waits (its primary is worked); below it the case stays listed, "
        "marked, with its deadline, until a department confirms or undoes the link (intake)",
    ),
    Setting(
        "SUARA_DEPARTMENTS",
        "",
        "department overrides, comma-separated category=department pairs",
    ),
    Setting(
        "SUARA_SECRET_KEYS",
        "",
        "comma-separated secrets that sign citizen tokens, the first signs, all verify (rotation); "
        "unset: intake makes one on first start and keeps it in its database",
    ),
    Setting("SUARA_TIMEZONE", "Asia/Jakarta", "the city's time zone: working time, days"),
    Setting("SUARA_WORKING_DAYS", "mon-fri", "working days of the SLA, e.g. mon-fri or mon-sat"),
    Setting("SUARA_WORKING_HOURS", "08:00-16:00", "working hours of the SLA (city time)"),
    Setting(
        "SUARA_HOLIDAYS",
        "ID",
        "country whose public holidays are not working days (holidays package); empty: none",
    ),
    Setting(
        "SUARA_EXTRA_HOLIDAYS",
        "",
        "more days off, comma-separated YYYY-MM-DD (e.g. cuti bersama)",
    ),
    Setting(
        "SUARA_SLA_HOURS",
        "",
        "SLA overrides in working hours, comma-separated category=hours (taxonomy: sla_hours)",
    ),
    Setting(
        "SUARA_URGENT_SLA_HOURS",
        "",
        "SLA overrides of urgent cases in calendar hours, category=hours (urgent_sla_hours)",
    ),
    Setting("SUARA_REOPEN_DAYS", "14", "days after resolution in which the citizen may reopen"),
    Setting("SUARA_DEADLINE_SWEEP_S", "30", "how often intake looks for cases past due"),
    Setting(
        "SUARA_SLA_WARNING_AT",
        "0.75",
        "the share of a case's time from report to due time after which its department is "
        "warned (feedback.due_soon); 0: no warning",
    ),
    Setting(
        "SUARA_PUBLIC_URL",
        "http://127.0.0.1:8001",
        "the address citizens and providers reach intake at (links, webhook signatures)",
    ),
    Setting("SUARA_PHOTO_MAX_MB", "5", "largest photo accepted, in MB (10^6 bytes)"),
    Setting(
        "SUARA_FORM_RATE_LIMIT",
        "5/600",
        "reports per client address per seconds through the web form (per process)",
    ),
    Setting(
        "SUARA_TRUSTED_PROXIES",
        "127.0.0.1",
        "addresses whose X-Real-IP names the client (the city's nginx)",
    ),
    Setting(
        "SUARA_WHATSAPP_VERIFY_TOKEN", "", "the token Meta echoes when it verifies the webhook"
    ),
    Setting(
        "SUARA_WHATSAPP_APP_SECRET",
        "",
        "the app secret that signs WhatsApp webhooks (X-Hub-Signature-256); unset: no WhatsApp",
    ),
    Setting(
        "SUARA_WHATSAPP_TOKEN",
        "",
        "the access token that fetches WhatsApp photos and sends replies",
    ),
    Setting(
        "SUARA_WHATSAPP_GRAPH_URL", "https://graph.facebook.com/v21.0", "the Graph API's address"
    ),
    Setting(
        "SUARA_WHATSAPP_MEDIA_HOSTS",
        "lookaside.fbsbx.com",
        "the only hosts (host[:port]) WhatsApp photos are fetched from",
    ),
    Setting(
        "SUARA_TWILIO_AUTH_TOKEN",
        "",
        "the auth token that signs SMS webhooks (X-Twilio-Signature); unset: no SMS",
    ),
    Setting(
        "SUARA_WHATSAPP_PHONE_NUMBER_ID",
        "",
        "the Cloud API's phone number id that WhatsApp replies are sent from; unset: none",
    ),
    Setting(
        "SUARA_WHATSAPP_TEMPLATE",
        "suara_update",
        "the approved template of a WhatsApp reply outside the 24-hour window",
    ),
    Setting("SUARA_SMS_API_URL", "https://api.twilio.com", "the Twilio-compatible SMS API"),
    Setting(
        "SUARA_TWILIO_ACCOUNT_SID",
        "",
        "the account SMS replies are sent with (with SUARA_TWILIO_AUTH_TOKEN); unset: none",
    ),
    Setting("SUARA_SMS_FROM", "", "the number (or sender id) SMS replies come from"),
    Setting(
        "SUARA_SMS_MESSAGING_SERVICE_SID",
        "",
        "a Messaging Service that sends SMS replies instead of SUARA_SMS_FROM",
    ),
    Setting(
        "SUARA_INBOUND_SMTP_PORT",
        "2525",
        "the mail bridge's SMTP port (python -m services.intake.mailbridge); 0: make run skips it",
    ),
    Setting(
        "SUARA_MAIL_API_KEY",
        "",
        "the API key (one of SUARA_API_KEYS) the mail bridge hands mail to intake with",
    ),
    Setting("SUARA_INTAKE_URL", "http://127.0.0.1:$SUARA_INTAKE_PORT", "intake, for the bridge"),
    Setting("SUARA_SMTP_HOST", "127.0.0.1", "the SMTP server notification sends mail through"),
    Setting("SUARA_SMTP_PORT", "1025", "its port (Mailpit's locally)"),
    Setting("SUARA_SMTP_USER", "", "SMTP login, when the relay wants one"),
    Setting("SUARA_SMTP_PASSWORD", "", "SMTP password"),
    Setting("SUARA_SMTP_STARTTLS", "false", "true: STARTTLS before login and sending"),
    Setting(
        "SUARA_SMTP_CA_FILE",
        "",
        "PEM file of the CAs the relay's certificate is checked against (empty: the system's)",
    ),
    Setting(
        "SUARA_MAIL_FROM",
        "Suara Kota Pekalongan <noreply@suara.pekalongankota.go.id>",
        "the sender of notification's mail",
    ),
    Setting(
        "SUARA_NOTIFICATION_API_KEY",
        "",
        "the API key (one of intake's SUARA_API_KEYS) notification reads reply addresses with; "
        "unset: nothing is sent, deliveries are only recorded",
    ),
    Setting(
        "SUARA_QUIET_HOURS",
        "21:00-06:00",
        "city time when citizens get no message that is not urgent (held, then sent when the "
        "window ends); empty: no quiet hours",
    ),
    Setting(
        "SUARA_DEPARTMENT_EMAILS",
        "",
        "where each department's mail goes: department-id=address, comma list (e.g. "
        "dinas-pupr=pengaduan.pupr@pekalongankota.go.id); a department left out gets none",
    ),
    Setting(
        "SUARA_DEPARTMENT_ONCALL",
        "",
        "the on-call number told of an urgent case at once: department-id=whatsapp:+62... or "
        "department-id=sms:+62..., comma list",
    ),
    Setting("SUARA_DIGEST_AT", "07:00", "city time of the departments' daily digest"),
    Setting(
        "SUARA_TILE_URL",
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "the dashboard map's tile server (read by services/reporting/dashboard.py); none: no "
        "tiles, the points on a plain background",
    ),
    Setting(
        "SUARA_WEBHOOK_RETRY_SCHEDULE_S",
        "5,300,1800,7200,18000,36000,36000",
        "the waits (seconds) before each retry of a failed delivery (webhooks, mails); then "
        "it is dead-lettered and notification.failed is published",
    ),
    Setting(
        "SUARA_WEBHOOK_ALLOWED_HOSTS",
        "",
        "host:port targets webhooks may reach although they resolve to loopback, private or "
        "link-local addresses (comma list); everything else internal is refused",
    ),
    Setting("SUARA_WEBHOOK_TIMEOUT_S", "10", "the time limit of one webhook attempt"),
    Setting(
        "SUARA_WEBHOOK_DISABLE_AFTER_S",
        "432000",
        "a webhook failing without a success this long (5 days) is switched off, its owner told",
    ),
    Setting(
        "SUARA_SURGE_MIN",
        "5",
        "surge alerts: the fewest cases of one category in one kelurahan within the window "
        "that make a surge (alert.spike_detected)",
    ),
    Setting(
        "SUARA_SURGE_FACTOR",
        "3",
        "surge alerts: ... and at least this many times the pair's usual count for such a "
        "window (its mean of the last 28 days)",
    ),
    Setting(
        "SUARA_SURGE_WINDOW_MIN",
        "60",
        "surge alerts: the window in minutes (10-1440); a surge ends one window after its "
        "count fell below the threshold",
    ),
    Setting("SUARA_LOG_LEVEL", "INFO", "log level"),
    Setting(
        "SUARA_QUEUE_TYPE",
        "classic",
        "classic or quorum: the type of every queue (quorum on a RabbitMQ cluster)",
    ),
    Setting(
        "SUARA_LOG_FORMAT", "json", "json: one JSON object a line (shared/observability.py); text"
    ),
    Setting(
        "SUARA_OTLP_ENDPOINT",
        "$OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTLP/HTTP collector spans are exported to, e.g. http://otel-collector:4318; unset: none",
    ),
    Setting(
        "SUARA_DRAIN_S",
        "2",
        "seconds a stopping service answers not ready before it stops taking work",
    ),
    Setting(
        "SUARA_MODEL_PATH",
        "services/categorization/model/default.joblib",
        "the model file of suara classify/eval, and of a service with no stored model",
    ),
    Setting(
        "SUARA_CORPUS_DIR", "services/categorization/corpus", "another corpus, for experiments"
    ),
    Setting(
        "SUARA_LEXICON_DIR",
        "services/categorization/data",
        "another folder of categorization's language data (dictionaries, markers, keywords)",
    ),
)


class ConfigError(ValueError):
    pass


def _pairs(raw: str, separator: str, setting: str, shape: str) -> list[tuple[str, str]]:
    pairs = []
    for pair in filter(None, (p.strip() for p in raw.split(","))):
        left, sep, right = pair.partition(separator)
        if not sep or not left.strip() or not right.strip():
            raise ConfigError(f"{setting}: expected {shape}, got {pair!r}")
        pairs.append((left.strip(), right.strip()))
    return pairs


def parse_api_keys(raw: str) -> dict[str, str]:
    """``"city-app:k1,open311:k2"`` -> ``{"k1": "city-app", "k2": "open311"}`` (key -> client)."""
    return {key: name for name, key in _pairs(raw, ":", "SUARA_API_KEYS", "name:key")}


def parse_department_keys(raw: str) -> dict[str, str]:
    """``"bpbd:k1,dinas-pupr:k2"`` -> ``{"k1": "bpbd", "k2": "dinas-pupr"}`` (key -> department
    id). An id not in the taxonomy stops the service at start-up."""
    from shared.taxonomy import TAXONOMY

    pairs = _pairs(raw, ":", "SUARA_DEPARTMENT_KEYS", "department-id:key")
    unknown = sorted({d for d, _ in pairs} - set(TAXONOMY.department_ids))
    if unknown:
        raise ConfigError(
            f"SUARA_DEPARTMENT_KEYS: unknown department {', '.join(unknown)}; "
            f"one of {', '.join(TAXONOMY.department_ids)}"
        )
    return {key: department for department, key in pairs}


def parse_departments(raw: str) -> dict[str, str]:
    """``"roads=Dinas PU,waste=DLH"`` -> ``{"roads": "Dinas PU", "waste": "DLH"}``.

    Checked here, at start-up: an unknown category would otherwise fail every message."""
    pairs = dict(_pairs(raw, "=", "SUARA_DEPARTMENTS", "category=department"))
    unknown = sorted(set(pairs) - set(CATEGORY_IDS))
    if unknown:
        raise ConfigError(
            f"SUARA_DEPARTMENTS: unknown category {', '.join(unknown)}; "
            f"one of {', '.join(CATEGORY_IDS)}"
        )
    return pairs


def parse_sla_hours(raw: str, setting: str) -> dict[str, float]:
    """``"flooding=12,roads=0.5"`` -> ``{"flooding": 12.0, "roads": 0.5}`` (hours > 0)."""
    hours = {}
    for category, value in _pairs(raw, "=", setting, "category=hours"):
        if category not in CATEGORY_IDS:
            raise ConfigError(
                f"{setting}: unknown category {category}; one of {', '.join(CATEGORY_IDS)}"
            )
        try:
            hours[category] = float(value)
        except ValueError:
            raise ConfigError(f"{setting}: {category}={value!r} is not a number") from None
        if not 0 < hours[category] < 10_000:
            raise ConfigError(f"{setting}: {category} must be more than 0 and under 10000")
    return hours


def _url(raw: str, setting: str = "SUARA_PUBLIC_URL") -> str:
    if not raw.startswith(("http://", "https://")) or " " in raw:
        raise ConfigError(f"{setting} must be an http(s) URL, got {raw!r}")
    return raw.rstrip("/")


def parse_rate(raw: str) -> tuple[int, float]:
    """``"5/600"`` -> (5, 600.0): so many per so many seconds."""
    count, sep, seconds = raw.partition("/")
    try:
        limit, window = int(count), float(seconds)
    except ValueError:
        limit, window = 0, 0.0
    if not sep or limit < 1 or window <= 0:
        raise ConfigError(f"SUARA_FORM_RATE_LIMIT: expected count/seconds, e.g. 5/600, got {raw!r}")
    return limit, window


# Standard Webhooks' schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 28 hours)
WEBHOOK_RETRY_SCHEDULE_S = "5,300,1800,7200,18000,36000,36000"


def parse_schedule(raw: str) -> tuple[float, ...]:
    """``SUARA_WEBHOOK_RETRY_SCHEDULE_S``: the waits before each retry, in seconds."""
    try:
        waits = tuple(float(p) for p in raw.split(",") if p.strip())
    except ValueError:
        raise ConfigError(
            f"SUARA_WEBHOOK_RETRY_SCHEDULE_S must be a comma list of seconds, got {raw!r}"
        ) from None
    if not waits or any(w < 0 for w in waits):
        raise ConfigError("SUARA_WEBHOOK_RETRY_SCHEDULE_S needs at least one wait, none negative")
    return waits


def parse_allowed_hosts(raw: str) -> frozenset[str]:
    """``SUARA_WEBHOOK_ALLOWED_HOSTS``: ``host:port`` entries that may be inside the network."""
    allowed = set()
    for item in (p.strip().lower() for p in raw.split(",")):
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ConfigError(f"SUARA_WEBHOOK_ALLOWED_HOSTS: {item!r} is not host:port")
        allowed.add(f"{host.strip('[]')}:{int(port)}")
    return frozenset(allowed)


def parse_department_emails(raw: str) -> dict[str, str]:
    """``"dinas-pupr=a@x.go.id,bpbd=b@x.go.id"`` -> department id -> address."""
    from shared.taxonomy import TAXONOMY

    pairs = _pairs(raw, "=", "SUARA_DEPARTMENT_EMAILS", "department-id=address")
    _known_departments(TAXONOMY, pairs, "SUARA_DEPARTMENT_EMAILS")
    for department, address in pairs:
        if not re.fullmatch(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+", address):
            raise ConfigError(f"SUARA_DEPARTMENT_EMAILS: {address!r} ({department}) is no address")
    return dict(pairs)


def parse_oncall(raw: str) -> dict[str, tuple[str, str]]:
    """``"bpbd=whatsapp:+62811...,dinas-pupr=sms:+62812..."`` -> department id -> (channel,
    number in E.164)."""
    from shared.taxonomy import TAXONOMY

    pairs = _pairs(raw, "=", "SUARA_DEPARTMENT_ONCALL", "department-id=whatsapp:+62...")
    _known_departments(TAXONOMY, pairs, "SUARA_DEPARTMENT_ONCALL")
    oncall = {}
    for department, target in pairs:
        channel, _, number = target.partition(":")
        if channel not in ("whatsapp", "sms") or not re.fullmatch(r"\+[1-9][0-9]{6,14}", number):
            raise ConfigError(
                f"SUARA_DEPARTMENT_ONCALL: {target!r} ({department}) is not whatsapp:+<number> "
                "or sms:+<number> (E.164)"
            )
        oncall[department] = (channel, number)
    return oncall


def _known_departments(taxonomy, pairs: list[tuple[str, str]], setting: str) -> None:
    unknown = sorted({d for d, _ in pairs} - set(taxonomy.department_ids))
    if unknown:
        raise ConfigError(
            f"{setting}: unknown department {', '.join(unknown)}; "
            f"known: {', '.join(taxonomy.department_ids)}"
        )


def quiet_hours(raw: str):
    """``SUARA_QUIET_HOURS`` (shared/quiet.py)."""
    from shared import quiet

    try:
        return quiet.parse_quiet_hours(raw)
    except ValueError as exc:
        raise ConfigError(f"SUARA_QUIET_HOURS: {exc}") from None


def sla_warning_at(env: Mapping[str, str]) -> float:
    raw = (env.get("SUARA_SLA_WARNING_AT") or "0.75").strip()
    try:
        share = float(raw)
    except ValueError:
        share = -1.0
    if not 0 <= share < 1:
        raise ConfigError(f"SUARA_SLA_WARNING_AT: a share in [0, 1), e.g. 0.75, got {raw!r}")
    return share


def parse_clock(raw: str, setting: str) -> tuple[int, int]:
    """``"07:00"`` -> (7, 0)."""
    found = re.fullmatch(r"(\d{1,2}):(\d{2})", raw.strip())
    if not found or int(found[1]) > 23 or int(found[2]) > 59:
        raise ConfigError(f"{setting}: expected HH:MM (city time), got {raw!r}")
    return int(found[1]), int(found[2])


def reply_providers(env: Mapping[str, str]) -> dict:
    """WhatsApp's and SMS's reply settings (services/notification/replies.py), each None when
    that channel does not reply; a half-configured channel stops the service."""
    whatsapp = sms = None
    phone_number_id = env.get("SUARA_WHATSAPP_PHONE_NUMBER_ID", "").strip()
    if phone_number_id:
        template = (env.get("SUARA_WHATSAPP_TEMPLATE") or "suara_update").strip()
        if not env.get("SUARA_WHATSAPP_TOKEN"):
            raise ConfigError("SUARA_WHATSAPP_PHONE_NUMBER_ID needs SUARA_WHATSAPP_TOKEN")
        if not phone_number_id.isdigit():
            raise ConfigError("SUARA_WHATSAPP_PHONE_NUMBER_ID must be the numeric id")
        if not re.fullmatch(r"[a-z0-9_]{1,512}", template):
            raise ConfigError(
                f"SUARA_WHATSAPP_TEMPLATE: a template name is a-z, 0-9 and _, got {template!r}"
            )
        whatsapp = {
            "graph_url": _url(
                env.get("SUARA_WHATSAPP_GRAPH_URL") or "https://graph.facebook.com/v21.0",
                "SUARA_WHATSAPP_GRAPH_URL",
            ),
            "token": env["SUARA_WHATSAPP_TOKEN"],
            "phone_number_id": phone_number_id,
            "template": template,
        }
    account_sid = env.get("SUARA_TWILIO_ACCOUNT_SID", "").strip()
    if account_sid:
        sender = env.get("SUARA_SMS_FROM", "").strip()
        service = env.get("SUARA_SMS_MESSAGING_SERVICE_SID", "").strip()
        if not env.get("SUARA_TWILIO_AUTH_TOKEN"):
            raise ConfigError("SUARA_TWILIO_ACCOUNT_SID needs SUARA_TWILIO_AUTH_TOKEN")
        if not sender and not service:
            raise ConfigError(
                "SUARA_TWILIO_ACCOUNT_SID needs SUARA_SMS_FROM or SUARA_SMS_MESSAGING_SERVICE_SID"
            )
        sms = {
            "url": _url(
                env.get("SUARA_SMS_API_URL") or "https://api.twilio.com", "SUARA_SMS_API_URL"
            ),
            "account_sid": account_sid,
            "auth_token": env["SUARA_TWILIO_AUTH_TOKEN"],
            "from": sender,
            "messaging_service_sid": service,
        }
    return {"whatsapp": whatsapp, "sms": sms}


def parse_secret_keys(raw: str) -> tuple[str, ...]:
    """``"new,old"`` -> the secrets, the first signs; each at least 32 characters."""
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    if any(len(k) < 32 for k in keys):
        raise ConfigError("SUARA_SECRET_KEYS: each secret needs at least 32 characters")
    return keys


def smtp_settings(env) -> dict:
    """The relay notification sends through. A login goes over STARTTLS (the certificate
    checked) unless the relay is on this host: a password is never sent in clear."""
    smtp = {
        "host": env.get("SUARA_SMTP_HOST") or "127.0.0.1",
        "port": _positive(env, "SUARA_SMTP_PORT", 1025),
        "user": env.get("SUARA_SMTP_USER", ""),
        "password": env.get("SUARA_SMTP_PASSWORD", ""),
        "starttls": _bool(env, "SUARA_SMTP_STARTTLS"),
        "ca_file": env.get("SUARA_SMTP_CA_FILE", ""),
        "sender": env.get("SUARA_MAIL_FROM")
        or "Suara Kota Pekalongan <noreply@suara.pekalongankota.go.id>",
    }
    local = smtp["host"] in ("127.0.0.1", "::1", "localhost")
    if smtp["user"] and not smtp["starttls"] and not local:
        raise ConfigError(
            "SUARA_SMTP_USER is set without SUARA_SMTP_STARTTLS=true: the password would "
            f"cross the network to {smtp['host']} in clear"
        )
    return smtp


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(name) or "false").strip().lower()
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise ConfigError(f"{name} must be true or false, got {raw!r}")
    return raw in ("true", "1", "yes")


def _days(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise ConfigError(f"{name} must be a number of days, got {raw!r}") from None
    if not 0 < value <= 3650:
        raise ConfigError(f"{name} must be more than 0 and at most 3650, got {value}")
    return value


def work_calendar(env: Mapping[str, str]):
    """The city's working calendar (shared/workcalendar.py) from its settings."""
    from shared import workcalendar

    try:
        return workcalendar.calendar(
            env.get("SUARA_TIMEZONE") or "Asia/Jakarta",
            env.get("SUARA_WORKING_DAYS") or "mon-fri",
            env.get("SUARA_WORKING_HOURS") or "08:00-16:00",
            env.get("SUARA_HOLIDAYS", "ID").strip() or None,
            env.get("SUARA_EXTRA_HOLIDAYS", ""),
        )
    except workcalendar.CalendarError as exc:
        raise ConfigError(f"working calendar (SUARA_TIMEZONE, SUARA_WORKING_*): {exc}") from None


def deadline_sweep_s(env: Mapping[str, str] | None = None) -> int:
    """Seconds between intake's looks for cases past due (read at import: @timer is fixed)."""
    return _positive(os.environ if env is None else env, "SUARA_DEADLINE_SWEEP_S", 30)


def _one_of(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = env.get(name) or choices[0]
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _otlp_endpoint(env: Mapping[str, str]) -> str | None:
    raw = env.get("SUARA_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or ""
    return _url(raw, "SUARA_OTLP_ENDPOINT") if raw else None


def _at_most(env: Mapping[str, str], name: str, default: int, most: int) -> int:
    value = _int(env, name, default)
    if not 0 <= value <= most:
        raise ConfigError(f"{name} must be 0 to {most}, got {value}")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


def optional(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """A setting without a default (a path, say): its value, or None when unset or empty."""
    return (os.environ if env is None else env).get(name) or None


# the RabbitMQ users' development passwords (deploy/rabbitmq/definitions.json holds their hashes)
DEV_AMQP_PASSWORDS = {
    **{service: f"{service}-amqp-dev" for service in SERVICES},
    "city-service": "city-service-dev",
    "integrator": "integrator-dev",
    "monitor": "monitor-dev",
}


def dev_amqp_uri(user: str, base: str = "amqp://127.0.0.1:5672/") -> str:
    """``base`` (its host, port and vhost) as ``user`` with its development password, the
    default docker compose and deploy/local-servers.sh give it (deploy/rabbitmq/README.md):
    ``amqp://intake:intake-amqp-dev@127.0.0.1:5672/``. Production sets its own URIs."""
    parts = urlsplit(base)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{user}:{DEV_AMQP_PASSWORDS[user]}@{f'[{host}]' if ':' in host else host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme or "amqp", netloc, parts.path or "/", parts.query, ""))


def service_amqp(service: str, env: Mapping[str, str] | None = None) -> str:
    """The RabbitMQ URI of ``service``: its own (``SUARA_<SERVICE>_AMQP_URI``), else the shared
    one, else its own development user on the local broker."""
    env = os.environ if env is None else env
    return (
        env.get(f"SUARA_{service.upper()}_AMQP_URI")
        or env.get("SUARA_AMQP_URI")
        or dev_amqp_uri(service)
    )


def service_mongo(service: str, env: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """(MongoDB URI, database) of ``service``: its own URI (its own credentials) if set, else
    the shared one, else None; the same pair the service itself uses (``load``), so that its
    tools (``suara train``) never write elsewhere than the service reads."""
    env = os.environ if env is None else env
    prefix = f"SUARA_{service.upper()}_"
    uri = env.get(prefix + "MONGO_URI") or env.get("SUARA_MONGO_URI") or None
    return uri, env.get(prefix + "DB", service)


def mail_bridge(env: Mapping[str, str] | None = None) -> dict:
    """The mail bridge's settings (services/intake/mailbridge.py), checked."""
    env = os.environ if env is None else env
    port = _int(env, "SUARA_INBOUND_SMTP_PORT", 2525)
    if not 0 <= port < 65536:
        raise ConfigError(f"SUARA_INBOUND_SMTP_PORT must be a port, got {port}")
    key = env.get("SUARA_MAIL_API_KEY", "")
    if not key:
        raise ConfigError("SUARA_MAIL_API_KEY is required: a key of SUARA_API_KEYS")
    intake_port = _int(env, "SUARA_INTAKE_PORT", DEFAULT_PORTS["intake"])
    return {
        "port": port,
        "host": env.get("SUARA_HTTP_HOST", "127.0.0.1"),
        "api_key": key,
        "intake_url": _url(
            env.get("SUARA_INTAKE_URL") or f"http://127.0.0.1:{intake_port}", "SUARA_INTAKE_URL"
        ),
    }


def surge_rules(env: Mapping[str, str]) -> dict:
    """``SUARA_SURGE_*``: what makes a surge (services/reporting/surges.py)."""
    minimum = _positive(env, "SUARA_SURGE_MIN", 5)
    window = _positive(env, "SUARA_SURGE_WINDOW_MIN", 60)
    if not 10 <= window <= 1440:
        raise ConfigError(f"SUARA_SURGE_WINDOW_MIN must be 10 to 1440 minutes, got {window}")
    raw = (env.get("SUARA_SURGE_FACTOR") or "3").strip()
    try:
        factor = float(raw)
    except ValueError:
        factor = -1.0
    if not 1 <= factor <= 1000:
        raise ConfigError(f"SUARA_SURGE_FACTOR must be a number from 1 to 1000, got {raw!r}")
    return {"min": minimum, "factor": factor, "window_min": window}


def duplicate_settings(env: Mapping[str, str] | None = None) -> dict:
    """``SUARA_DUPLICATE*``: when a feedback repeats an open case (categorization's
    duplicates.Settings; ``suara pairs`` reads them too)."""
    env = os.environ if env is None else env
    raw = (env.get("SUARA_DUPLICATES") or "on").strip().lower()
    if raw not in ("on", "off", "true", "false", "1", "0", "yes", "no"):
        raise ConfigError(f"SUARA_DUPLICATES must be on or off, got {raw!r}")
    radius = _number(env, "SUARA_DUPLICATE_RADIUS_M", 150.0)
    if not 1 <= radius <= 5000:
        raise ConfigError(f"SUARA_DUPLICATE_RADIUS_M must be 1 to 5000 metres, got {radius}")
    similarity = _number(env, "SUARA_DUPLICATE_MIN_SIMILARITY", 0.43)
    if not 0 < similarity <= 1:
        raise ConfigError(
            f"SUARA_DUPLICATE_MIN_SIMILARITY must be more than 0 and at most 1, got {similarity}"
        )
    return {
        "enabled": raw in ("on", "true", "1", "yes"),
        "window_days": _days(env, "SUARA_DUPLICATE_WINDOW_DAYS", 14.0),
        "radius_m": radius,
        "min_similarity": similarity,
    }


def _share(env: Mapping[str, str], name: str, default: float) -> float:
    """A number from 0 to 1 (a probability or a share), or ConfigError."""
    value = _number(env, name, default)
    if not 0 <= value <= 1:
        raise ConfigError(f"{name} must be from 0 to 1, got {value}")
    return value


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {raw!r}")
    return value


def queue_type(env: Mapping[str, str] | None = None) -> str:
    """``SUARA_QUEUE_TYPE``: classic or quorum (read at import by shared.topology)."""
    return _one_of(os.environ if env is None else env, "SUARA_QUEUE_TYPE", ("classic", "quorum"))


def outbox_sweep_s(env: Mapping[str, str] | None = None) -> int:
    """Seconds between outbox sweeps (read at import by shared.outbox: @timer is fixed)."""
    return _int(os.environ if env is None else env, "SUARA_OUTBOX_SWEEP_S", 2)


def load(service: str, env: Mapping[str, str] | None = None) -> dict:
    """The nameko config of ``service``, from the environment."""
    if service not in SERVICES:
        raise ConfigError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    env = os.environ if env is None else env
    prefix = f"SUARA_{service.upper()}_"
    mongo_uri, mongo_db = service_mongo(service, env)
    mongo_uri = mongo_uri or "mongodb://127.0.0.1:27017/"
    host = env.get("SUARA_HTTP_HOST", "127.0.0.1")
    port = _int(env, prefix + "PORT", DEFAULT_PORTS[service])
    amqp_workers = _positive(env, "SUARA_MAX_WORKERS", 10)
    http_workers = _positive(env, "SUARA_HTTP_WORKERS", 10)
    return {
        "AMQP_URI": service_amqp(service, env),
        "WEB_SERVER_ADDRESS": f"{host}:{port}",
        # one pool per process: the AMQP handlers' budget, the HTTP handlers', and the timers'
        "max_workers": amqp_workers + http_workers + TIMER_WORKERS,
        "PREFETCH": amqp_workers,
        "HTTP_WORKERS": http_workers,
        "HTTP_CONNECTIONS": _positive(env, "SUARA_HTTP_CONNECTIONS", 100),
        "HTTP_READ_TIMEOUT_S": _positive(env, "SUARA_HTTP_READ_TIMEOUT_S", 10),
        "HEARTBEAT": 30,
        "LOGGING": None,
        "MONGO_URI": mongo_uri,
        "MONGO_DB": mongo_db,
        "API_KEYS": parse_api_keys(env.get("SUARA_API_KEYS", "")),
        "DEPARTMENT_KEYS": parse_department_keys(env.get("SUARA_DEPARTMENT_KEYS", "")),
        "MAX_ATTEMPTS": _int(env, "SUARA_MAX_ATTEMPTS", 5),
        "RETRY_DELAY_MS": _int(env, "SUARA_RETRY_DELAY_MS", 500),
        "OUTBOX_SWEEP_S": outbox_sweep_s(env),
        "REVIEW_THRESHOLD": float(env.get("SUARA_REVIEW_THRESHOLD", "0.5")),
        "DUPLICATES": duplicate_settings(env),
        "DEPARTMENTS": parse_departments(env.get("SUARA_DEPARTMENTS", "")),
        "SECRET_KEYS": parse_secret_keys(env.get("SUARA_SECRET_KEYS", "")),
        "CALENDAR": work_calendar(env),
        "SLA_HOURS": parse_sla_hours(env.get("SUARA_SLA_HOURS", ""), "SUARA_SLA_HOURS"),
        "URGENT_SLA_HOURS": parse_sla_hours(
            env.get("SUARA_URGENT_SLA_HOURS", ""), "SUARA_URGENT_SLA_HOURS"
        ),
        "REOPEN_DAYS": _days(env, "SUARA_REOPEN_DAYS", 14.0),
        "DUPLICATE_HIDE_SIMILARITY": _share(env, "SUARA_DUPLICATE_HIDE_SIMILARITY", 0.8),
        "SLA_WARNING_AT": sla_warning_at(env),
        "PUBLIC_URL": _url(env.get("SUARA_PUBLIC_URL") or "http://127.0.0.1:8001"),
        "PHOTO_MAX_BYTES": int(_days(env, "SUARA_PHOTO_MAX_MB", 5.0) * 1_000_000),
        "FORM_RATE_LIMIT": parse_rate(env.get("SUARA_FORM_RATE_LIMIT") or "5/600"),
        "TRUSTED_PROXIES": frozenset(
            p.strip() for p in env.get("SUARA_TRUSTED_PROXIES", "127.0.0.1").split(",") if p.strip()
        ),
        "WHATSAPP_VERIFY_TOKEN": env.get("SUARA_WHATSAPP_VERIFY_TOKEN", ""),
        "WHATSAPP_APP_SECRET": env.get("SUARA_WHATSAPP_APP_SECRET", ""),
        "WHATSAPP_TOKEN": env.get("SUARA_WHATSAPP_TOKEN", ""),
        "WHATSAPP_GRAPH_URL": _url(
            env.get("SUARA_WHATSAPP_GRAPH_URL") or "https://graph.facebook.com/v21.0",
            "SUARA_WHATSAPP_GRAPH_URL",
        ),
        "WHATSAPP_MEDIA_HOSTS": frozenset(
            h.strip()
            for h in env.get("SUARA_WHATSAPP_MEDIA_HOSTS", "lookaside.fbsbx.com").split(",")
            if h.strip()
        ),
        "TWILIO_AUTH_TOKEN": env.get("SUARA_TWILIO_AUTH_TOKEN", ""),
        "SMTP": smtp_settings(env),
        "NOTIFICATION_API_KEY": env.get("SUARA_NOTIFICATION_API_KEY", ""),
        "PROVIDERS": reply_providers(env),
        "QUIET_HOURS": quiet_hours(env.get("SUARA_QUIET_HOURS", "21:00-06:00")),
        "TIMEZONE": env.get("SUARA_TIMEZONE") or "Asia/Jakarta",
        "DEPARTMENT_EMAILS": parse_department_emails(env.get("SUARA_DEPARTMENT_EMAILS", "")),
        "ONCALL": parse_oncall(env.get("SUARA_DEPARTMENT_ONCALL", "")),
        "DIGEST_AT": parse_clock(env.get("SUARA_DIGEST_AT") or "07:00", "SUARA_DIGEST_AT"),
        "WEBHOOK_RETRY_SCHEDULE": parse_schedule(
            env.get("SUARA_WEBHOOK_RETRY_SCHEDULE_S") or WEBHOOK_RETRY_SCHEDULE_S
        ),
        "WEBHOOK_ALLOWED_HOSTS": parse_allowed_hosts(env.get("SUARA_WEBHOOK_ALLOWED_HOSTS", "")),
        "WEBHOOK_TIMEOUT_S": float(_positive(env, "SUARA_WEBHOOK_TIMEOUT_S", 10)),
        "WEBHOOK_DISABLE_AFTER_S": float(
            _positive(env, "SUARA_WEBHOOK_DISABLE_AFTER_S", 5 * 24 * 3600)
        ),
        "INTAKE_URL": _url(
            env.get("SUARA_INTAKE_URL")
            or f"http://127.0.0.1:{_int(env, 'SUARA_INTAKE_PORT', DEFAULT_PORTS['intake'])}",
            "SUARA_INTAKE_URL",
        ),
        "SURGE": surge_rules(env),
        "LOG_LEVEL": env.get("SUARA_LOG_LEVEL", "INFO"),
        "LOG_FORMAT": _one_of(env, "SUARA_LOG_FORMAT", ("json", "text")),
        "QUEUE_TYPE": queue_type(env),
        "OTLP_ENDPOINT": _otlp_endpoint(env),
        "DRAIN_S": float(_at_most(env, "SUARA_DRAIN_S", 2, 300)),
    }
