"""The platform under test: four services as separate processes (native), or docker compose.

Native mode starts ``python -m shared.runner <service>`` four times, as ``make run`` does,
against the real RabbitMQ (its own vhost) and FerretDB/MongoDB (its own databases). Docker
mode runs the same tests through pytest-docker against docker-compose.yml; where no Docker
engine answers it is reported as skipped, with the reason.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from deploy.platform import healthy
from tests.conftest import AMQP_URI, MONGO_URI
from tests.support.client import API_KEY, Platform, SuaraClient
from tests.support.platform import NativePlatform
from tests.support.providers import (
    GRAPH_PORT,
    GRAPH_TOKEN,
    PHONE_NUMBER_ID,
    SMS_FROM,
    TWILIO_ACCOUNT_SID,
    Graph,
)
from tests.support.webhooks import WEBHOOK_PORT

ROOT = Path(__file__).resolve().parents[2]
READ_TIMEOUT_S = 8
MAX_CONNECTIONS = 80
WHATSAPP_VERIFY_TOKEN = "wa-verify-e2e"
WHATSAPP_APP_SECRET = "wa-app-secret-e2e"
TWILIO_AUTH_TOKEN = "twilio-auth-e2e"
E2E_PORTS = {"intake": 18001, "categorization": 18002, "notification": 18003, "reporting": 18004}


def docker_engine_problem() -> str | None:
    if shutil.which("docker") is None:
        return "no docker CLI on this machine"
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"docker info failed: {exc}"
    if done.returncode != 0:
        return "no Docker engine answers (docker info: " + done.stderr.decode()[-200:].strip() + ")"
    return None


ONCALL_NUMBER = "+6281100000911"  # BPBD's on-call phone


@pytest.fixture(scope="session")
def graph():
    """The WhatsApp Graph API's stand-in, which intake fetches photos from."""
    with Graph() as server:
        yield server


@pytest.fixture(scope="session", params=["native", "docker"])
def platform(request, run_id, tmp_path_factory):
    if request.param == "docker":
        problem = docker_engine_problem()
        if problem:
            pytest.skip(f"docker mode skipped: {problem}")
        services = request.getfixturevalue("docker_services")
        urls = {
            s: f"http://127.0.0.1:{p}"
            for s, p in {"intake": 8001, "notification": 8003, "reporting": 8004}.items()
        }
        for url in urls.values():
            services.wait_until_responsive(
                check=lambda u=url: healthy(int(u.rsplit(":", 1)[1])), timeout=300, pause=1
            )
        yield Platform("docker", "amqp://admin:suara-admin-dev@127.0.0.1:5672/", urls)
        return
    request.getfixturevalue("graph")
    native = NativePlatform(
        run_id,
        AMQP_URI,
        MONGO_URI,
        E2E_PORTS,
        {
            "SUARA_API_KEYS": f"e2e:{API_KEY},fuzz:fuzz-secret",  # the fuzz campaign's key too
            "SUARA_DEPARTMENT_KEYS": "bpbd:bpbd-secret,dinas-pupr:pupr-secret",
            "SUARA_RETRY_DELAY_MS": "100",
            "SUARA_DRAIN_S": "0",  # stopped often; tests/e2e/test_rolling_restart.py drains
            # the SLA: every hour counts, and small business cases are due 3.6 s after they
            # come (tests/e2e/test_lifecycle.py watches one become overdue)
            "SUARA_WORKING_DAYS": "mon-sun",
            "SUARA_WORKING_HOURS": "00:00-24:00",
            "SUARA_SLA_HOURS": "economy_umkm=0.001",
            "SUARA_DEADLINE_SWEEP_S": "1",
            # the channels (tests/e2e/test_channels.py): secrets, and the providers' stand-ins
            "SUARA_PUBLIC_URL": f"http://127.0.0.1:{E2E_PORTS['intake']}",
            "SUARA_WHATSAPP_VERIFY_TOKEN": WHATSAPP_VERIFY_TOKEN,
            "SUARA_WHATSAPP_APP_SECRET": WHATSAPP_APP_SECRET,
            "SUARA_WHATSAPP_TOKEN": GRAPH_TOKEN,
            "SUARA_WHATSAPP_GRAPH_URL": f"http://127.0.0.1:{GRAPH_PORT}",
            "SUARA_WHATSAPP_MEDIA_HOSTS": f"127.0.0.1:{GRAPH_PORT}",
            "SUARA_TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
            # ... and notification's replies through them (the same stand-in records them)
            "SUARA_WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "SUARA_TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
            "SUARA_SMS_API_URL": f"http://127.0.0.1:{GRAPH_PORT}",
            "SUARA_SMS_FROM": SMS_FROM,
            # departments' mail and on-call numbers (tests/e2e/test_departments.py); no quiet
            # hours (the tests run at any time of day: tests/integration holds messages)
            "SUARA_DEPARTMENT_EMAILS": ",".join(
                f"{d}={d}@dinas.e2e.test" for d in ("bpbd", "dinas-pupr", "dlh", "dindagkop-ukm")
            ),
            "SUARA_DEPARTMENT_ONCALL": f"bpbd=whatsapp:{ONCALL_NUMBER}",
            "SUARA_QUIET_HOURS": "",
            # notification mails citizens through Mailpit (deploy/local-servers.sh, :1025),
            # reading their addresses from intake with this key
            "SUARA_NOTIFICATION_API_KEY": API_KEY,
            "SUARA_INTAKE_URL": f"http://127.0.0.1:{E2E_PORTS['intake']}",
            "SUARA_OUTBOX_SWEEP_S": "1",
            # integrators' webhooks (tests/e2e/test_webhooks.py): the test's receiver on
            # loopback is allowed, and a failed delivery is tried again after 1 s, four times
            "SUARA_WEBHOOK_ALLOWED_HOSTS": f"127.0.0.1:{WEBHOOK_PORT}",
            "SUARA_WEBHOOK_RETRY_SCHEDULE_S": "1,1,1,1",
            "SUARA_WEBHOOK_TIMEOUT_S": "3",
            # short, so the slow-client tests finish quickly
            "SUARA_HTTP_READ_TIMEOUT_S": str(READ_TIMEOUT_S),
            "SUARA_HTTP_CONNECTIONS": str(MAX_CONNECTIONS),
        },
    )
    try:
        native.start()
        urls = {s: f"http://127.0.0.1:{p}" for s, p in E2E_PORTS.items()}
        platform = Platform("native", AMQP_URI, urls)
        platform.native = native
        yield platform
    finally:
        native.stop()


@pytest.fixture(scope="session")
def docker_compose_file():
    return str(ROOT / "docker-compose.yml")


@pytest.fixture
def client(platform):
    client = SuaraClient(platform)
    yield client
    client.http.close()  # no keep-alive connection outlives its test (the connection cap)


@pytest.fixture
def native(platform):
    if platform.mode != "native":
        pytest.skip("needs the natively started processes")
    return platform.native
