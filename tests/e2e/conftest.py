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
from kombu import Connection

from deploy.platform import SERVICES, ServiceProcess, healthy
from shared import topology
from shared.mongo import connect
from tests.conftest import AMQP_URI, MONGO_URI
from tests.e2e.api_client import API_KEY, Platform, SuaraClient

ROOT = Path(__file__).resolve().parents[2]
READ_TIMEOUT_S = 5
MAX_CONNECTIONS = 80
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


def purge_topology(amqp_uri: str) -> None:
    topology.declare(amqp_uri, force=True)
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        for entity in topology.entities():
            if hasattr(entity, "queue_arguments"):
                channel.queue_purge(entity.name)


class NativePlatform:
    def __init__(self, run_id: str, tmp: Path):
        self.run_id = run_id
        self.tmp = tmp
        self.env = {
            "SUARA_AMQP_URI": AMQP_URI,
            "SUARA_MONGO_URI": MONGO_URI,
            "SUARA_API_KEYS": f"e2e:{API_KEY}",
            "SUARA_RETRY_DELAY_MS": "100",
            "SUARA_OUTBOX_SWEEP_S": "1",
            # short, so the slow-client tests finish quickly
            "SUARA_HTTP_READ_TIMEOUT_S": str(READ_TIMEOUT_S),
            "SUARA_HTTP_CONNECTIONS": str(MAX_CONNECTIONS),
        }
        for service in SERVICES:
            self.env[f"SUARA_{service.upper()}_PORT"] = str(E2E_PORTS[service])
            self.env[f"SUARA_{service.upper()}_DB"] = self.db_name(service)
        self.procs = {s: self.process(s) for s in SERVICES}

    def db_name(self, service: str) -> str:
        return f"e2e_{self.run_id}_{service}"

    def process(self, service: str, **env) -> ServiceProcess:
        return ServiceProcess(service, {**self.env, **env}, name=f"e2e-{service}")

    def start(self) -> None:
        purge_topology(AMQP_URI)
        for proc in self.procs.values():
            proc.start()
        for proc in self.procs.values():
            proc.wait_healthy()

    def restart(self, service: str) -> None:
        self.procs[service] = self.process(service).start()
        self.procs[service].wait_healthy()

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.stop()
        client = connect(MONGO_URI)
        for service in SERVICES:
            client.drop_database(self.db_name(service))
        client.close()


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
    native = NativePlatform(run_id, tmp_path_factory.mktemp("platform"))
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
def client(platform) -> SuaraClient:
    return SuaraClient(platform)


@pytest.fixture
def native(platform):
    if platform.mode != "native":
        pytest.skip("needs the natively started processes")
    return platform.native
