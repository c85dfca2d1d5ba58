"""The platform as separate processes, started natively: the e2e suite, `make fuzz` and
`make chaos` all use this one kit (process control, purging, isolated databases)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import uuid
from pathlib import Path

from kombu import Connection

from deploy.platform import SERVICES, ServiceProcess
from shared import config, topology
from shared.mongo import connect
from tests.helpers import poll_until

ROOT = Path(__file__).resolve().parents[2]
SERVERS_SCRIPT = ROOT / "deploy" / "local-servers.sh"


def purge_topology(amqp_uri: str) -> None:
    """Declare Suara's whole topology and empty every queue of it."""
    topology.declare(amqp_uri, force=True)
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        for entity in topology.entities():
            if hasattr(entity, "queue_arguments"):
                channel.queue_purge(entity.name)


def queue_depths(amqp_uri: str) -> dict[str, int]:
    """Ready messages in every queue of Suara's topology."""
    depths = {}
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        for entity in topology.entities():
            if hasattr(entity, "queue_arguments"):
                depths[entity.name] = channel.queue_declare(entity.name, passive=True).message_count
    return depths


class NativePlatform:
    """The four services as processes (``python -m shared.runner``), each with its own database
    named after ``run_id``; ``replicas`` runs more than one process of a service."""

    def __init__(
        self,
        run_id: str,
        amqp_uri: str,
        mongo_uri: str,
        ports: dict[str, int],
        env: dict[str, str] | None = None,
        replicas: dict[str, int] | None = None,
        prefix: str = "e2e",
        log_dir: Path | None = None,
    ):
        self.run_id = run_id
        self.log_dir = log_dir
        self.amqp_uri = amqp_uri
        self.mongo_uri = mongo_uri
        self.ports = ports
        self.prefix = prefix
        # each service as its own RabbitMQ user (deploy/rabbitmq/definitions.json, applied to
        # the test vhosts by deploy/local-servers.sh); amqp_uri is the harness's (guest)
        self.env = {"SUARA_MONGO_URI": mongo_uri, **(env or {})}
        for service in SERVICES:
            self.env.setdefault(
                f"SUARA_{service.upper()}_AMQP_URI", config.dev_amqp_uri(service, amqp_uri)
            )
            self.env[f"SUARA_{service.upper()}_PORT"] = str(ports[service])
            self.env[f"SUARA_{service.upper()}_DB"] = self.db_name(service)
        self.replicas = {s: (replicas or {}).get(s, 1) for s in SERVICES}
        self.procs: dict[str, ServiceProcess] = {}
        self.unexpected_exits: list[str] = []
        self._lock = threading.Lock()
        self._faulting: set[str] = set()
        self._unwatched = threading.Event()
        self._watcher: threading.Thread | None = None
        for service in SERVICES:
            for n in range(self.replicas[service]):
                self.procs[self.replica_name(service, n)] = self.process(service, n)

    @staticmethod
    def replica_name(service: str, n: int) -> str:
        return service if n == 0 else f"{service}-{n + 1}"

    def db_name(self, service: str) -> str:
        return f"{self.prefix}_{self.run_id}_{service}"

    def process(self, service: str, replica: int = 0, **env) -> ServiceProcess:
        # replica n listens on the service's port + 100 * n
        port = {f"SUARA_{service.upper()}_PORT": str(self.ports[service] + 100 * replica)}
        name = self.replica_name(service, replica)
        return ServiceProcess(
            service, {**self.env, **port, **env}, log_dir=self.log_dir, name=f"{self.prefix}-{name}"
        )

    def url(self, service: str, replica: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[service] + 100 * replica}"

    def start(self) -> None:
        purge_topology(self.amqp_uri)
        for proc in self.procs.values():
            proc.start()
        for proc in self.procs.values():
            proc.wait_healthy()

    def scale(self, service: str, replicas: int) -> None:
        """Run ``replicas`` processes of ``service`` (0 stops it): stops the extra ones, starts
        the missing ones and waits until they are healthy."""
        for n in range(replicas, max(self.replicas[service], replicas)):
            proc = self.procs.pop(self.replica_name(service, n), None)
            if proc is not None:
                proc.stop()
        started = []
        for n in range(replicas):
            name = self.replica_name(service, n)
            if name not in self.procs or not self.procs[name].alive():
                self.procs[name] = self.process(service, n).start()
                started.append(self.procs[name])
        for proc in started:
            proc.wait_healthy()
        self.replicas[service] = replicas

    def pids(self) -> dict[str, int]:
        """Process name -> pid of every live process."""
        return {name: p.proc.pid for name, p in self.procs.items() if p.alive()}

    def check_alive(self) -> None:
        dead = [name for name, p in self.procs.items() if not p.alive()]
        if dead:
            raise RuntimeError(f"{', '.join(dead)} exited; see {self.log_dir or 'var/log'}")

    def restart(self, name: str) -> None:
        """Start process ``name`` (a service, or a replica such as ``intake-2``) again."""
        service, _, n = name.partition("-")
        self.procs[name] = self.process(service, int(n) - 1 if n else 0).start()
        self.procs[name].wait_healthy()

    def kill_and_restart(self, name: str) -> None:
        """SIGKILL process ``name``, then start it again (a fault the watchdog expects)."""
        with self._lock:
            self._faulting.add(name)
        try:
            self.procs[name].kill()
            self.restart(name)
        finally:
            with self._lock:
                self._faulting.discard(name)

    def watch(self) -> None:
        """Restart, as make run and Kubernetes do, any process that exits unasked, noting it
        in ``unexpected_exits``; until ``unwatch``."""
        self._unwatched.clear()

        def loop():
            while not self._unwatched.wait(0.5):
                for name, proc in list(self.procs.items()):
                    with self._lock:
                        if name in self._faulting or proc.alive():
                            continue
                        self._faulting.add(name)
                    code = proc.proc.returncode if proc.proc else None
                    self.unexpected_exits.append(f"{name} exited ({code})")
                    try:
                        self.restart(name)
                    finally:
                        with self._lock:
                            self._faulting.discard(name)

        self._watcher = threading.Thread(target=loop, daemon=True)
        self._watcher.start()

    def unwatch(self) -> None:
        self._unwatched.set()
        if self._watcher is not None:
            self._watcher.join(30)

    def stop(self, drop_databases: bool = True) -> None:
        self.unwatch()
        for proc in self.procs.values():  # all at once: each takes a second or two
            if proc.alive():
                proc.proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            proc.stop()
        if drop_databases:
            client = connect(self.mongo_uri)
            for service in SERVICES:
                client.drop_database(self.db_name(service))
            client.close()


class LocalServers:
    """A second RabbitMQ and FerretDB of deploy/local-servers.sh, on ports of their own and
    with data under ``var_dir``: restarting them disturbs nothing else."""

    def __init__(self, var_dir: Path, amqp_port: int, mongo_port: int):
        self.amqp_port, self.mongo_port = amqp_port, mongo_port
        self.env = {
            **os.environ,
            "SUARA_VAR": str(var_dir),
            "SUARA_AMQP_PORT": str(amqp_port),
            "SUARA_MONGO_PORT": str(mongo_port),
        }

    @property
    def amqp_uri(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/"

    @property
    def mongo_uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.mongo_port}/"

    def run(self, command: str, timeout: float = 300) -> None:
        subprocess.run([str(SERVERS_SCRIPT), command], env=self.env, check=True, timeout=timeout)

    def start(self) -> LocalServers:
        self.run("start")
        return self

    def stop(self) -> None:
        self.run("stop")


def recount(platform: NativePlatform) -> subprocess.CompletedProcess:
    """The documented recount command against this platform's reporting database."""
    import sys

    env = {
        **os.environ,
        "SUARA_MONGO_URI": platform.mongo_uri,
        "SUARA_REPORTING_DB": platform.db_name("reporting"),
    }
    return subprocess.run(
        [sys.executable, "-m", "services.reporting.recount"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def two_of_each(
    amqp_uri: str, mongo_uri: str, ports: dict[str, int], prefix: str, api_key: str, **env: str
) -> NativePlatform:
    """Two processes of every service on the vhost ``suara-test-isolated`` (the main e2e
    platform must not take their messages), started; the caller stops it."""
    platform = NativePlatform(
        uuid.uuid4().hex[:8],
        amqp_uri.rsplit("/", 1)[0] + "/suara-test-isolated",
        mongo_uri,
        ports,
        {
            "SUARA_API_KEYS": f"{prefix}:{api_key}",
            "SUARA_RETRY_DELAY_MS": "100",
            "SUARA_OUTBOX_SWEEP_S": "1",
            "SUARA_LOG_LEVEL": "WARNING",
            **env,
        },
        replicas={service: 2 for service in SERVICES},
        prefix=prefix,
    )
    platform.start()
    return platform


def recount_agrees(platform: NativePlatform, timeout: float = 60) -> subprocess.CompletedProcess:
    """The recount, until it agrees with the live counters or ``timeout`` passes: after a
    reporting process is killed while counting, its lease expires first (15 s), then the
    retried event counts (retries wait up to 30 s)."""
    last: list[subprocess.CompletedProcess] = []

    def agrees() -> bool:
        last[:] = [recount(platform)]
        return last[0].returncode == 0

    poll_until(agrees, timeout, interval=2)
    return last[0]


def verdict(tool: str, report: str, problems: list[str]) -> int:
    """Print a tool's figures and what failed; its exit status (1 on any problem)."""
    print(report)
    for problem in problems:
        print("FAIL:", problem)
    print(f"{tool}: FAILED" if problems else f"{tool}: passed")
    return 1 if problems else 0
