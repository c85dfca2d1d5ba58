"""Runs the four Suara services as separate processes, in the foreground (``make run``).

Each service is ``python -m shared.runner <service>``, one process each, as in production; the
e2e tests start them the same way through ``ServiceProcess``. A process that exits is started
again (with a growing pause), as docker compose and Kubernetes do. Ctrl-C or SIGTERM stops them
all.

    python deploy/platform.py [--with-servers] [service ...]

With ``--with-servers`` it also starts RabbitMQ, FerretDB and Mailpit (deploy/local-servers.sh)
when they are not running, and stops them again on the way out (only those it started); and,
for this local all-in-one platform, it fills in what lets it tell people (``local_defaults``):
every mail lands in Mailpit's inbox.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("intake", "categorization", "notification", "reporting")
DEFAULT_PORTS = {"intake": 8001, "categorization": 8002, "notification": 8003, "reporting": 8004}


MAIL_BRIDGE = "mailbridge"  # intake's SMTP door (services/intake/mailbridge.py)


def port_of(service: str, env: dict | None = None) -> int:
    env = os.environ if env is None else env
    if service == MAIL_BRIDGE:
        return int(env.get("SUARA_INBOUND_SMTP_PORT", "2525"))
    return int(env.get(f"SUARA_{service.upper()}_PORT", DEFAULT_PORTS[service]))


def smtp_answers(port: int, timeout: float = 2.0) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            return sock.recv(3) == b"220"
    except OSError:
        return False


def healthy(port: int, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=timeout) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


class ServiceProcess:
    """One service in its own process, its output in ``var/log/<name>.log``."""

    def __init__(
        self,
        service: str,
        env: dict | None = None,
        log_dir: Path | None = None,
        name: str | None = None,
    ):
        self.service = service
        self.name = name or service
        self.env = {**os.environ, **(env or {})}
        self.port = port_of(service, self.env)
        self.log_path = (log_dir or ROOT / "var" / "log") / f"{self.name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child's lifetime
        command = (
            ["-m", "services.intake.mailbridge"]
            if self.service == MAIL_BRIDGE
            else ["-m", "shared.runner", self.service]
        )
        self.proc = subprocess.Popen(
            [sys.executable, *command],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_healthy(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(
                    f"{self.name} exited ({self.proc.returncode}); see {self.log_path}"
                )
            if (smtp_answers if self.service == MAIL_BRIDGE else healthy)(self.port):
                return
            time.sleep(0.25)
        raise TimeoutError(f"{self.name} not healthy on port {self.port} after {timeout}s")

    def stop(self, timeout: float = 20.0) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """SIGKILL: a crash, for fault tests."""
        if self.alive():
            self.proc.kill()
            self.proc.wait()


SERVERS_SCRIPT = ROOT / "deploy" / "local-servers.sh"


def start_servers() -> bool:
    """Start the local servers unless all three already run; True when this call started
    them."""
    status = subprocess.run([str(SERVERS_SCRIPT), "status"], capture_output=True, text=True)
    if status.stderr.count(": up") == 3:
        return False
    subprocess.run([str(SERVERS_SCRIPT), "start"], check=True)
    return True


RESTART_BACKOFF_S = (1, 2, 5, 10, 30)  # a service that keeps dying is restarted ever more slowly


def supervise(procs: list[ServiceProcess], stopping) -> None:
    """Restart every service process that exits (a crash, or a container that died and made
    its process exit non-zero), with a growing pause, until ``stopping()`` is true."""
    restarts = {p.name: 0 for p in procs}
    due: dict[str, float] = {}
    while not stopping():
        for i, p in enumerate(procs):
            if p.alive():
                continue
            now = time.monotonic()
            if p.name not in due:
                pause = RESTART_BACKOFF_S[min(restarts[p.name], len(RESTART_BACKOFF_S) - 1)]
                code = p.proc.returncode if p.proc else None
                print(
                    f"{p.name} exited ({code}); restarting in {pause} s (log: {p.log_path})",
                    file=sys.stderr,
                    flush=True,
                )
                due[p.name] = now + pause
            elif now >= due[p.name]:
                del due[p.name]
                restarts[p.name] += 1
                procs[i] = ServiceProcess(p.service, p.env, p.log_path.parent, p.name).start()
        time.sleep(0.5)


def local_defaults(env) -> dict[str, str]:
    """What ``make run`` sets when it is not set, so that the local platform tells people:
    notification's key to read reply addresses with (a fresh random one, added to
    SUARA_API_KEYS), every department's address in Mailpit (``<id>@dinas.suara.localhost``), and
    no quiet hours (a demo at night shows its mails). Production sets its own."""
    from shared.taxonomy import TAXONOMY

    extra: dict[str, str] = {}
    if not env.get("SUARA_NOTIFICATION_API_KEY"):
        key = secrets.token_urlsafe(24)
        extra["SUARA_NOTIFICATION_API_KEY"] = key
        extra["SUARA_API_KEYS"] = ",".join(
            filter(None, [env.get("SUARA_API_KEYS", "").strip(" ,"), f"notification:{key}"])
        )
    if "SUARA_DEPARTMENT_EMAILS" not in env:
        extra["SUARA_DEPARTMENT_EMAILS"] = ",".join(
            f"{d}={d}@dinas.suara.localhost" for d in TAXONOMY.department_ids
        )
    if "SUARA_QUIET_HOURS" not in env:
        extra["SUARA_QUIET_HOURS"] = ""
    return extra


def stop_servers() -> None:
    """Stop the local servers (only those deploy/local-servers.sh started from this checkout)."""
    subprocess.run([str(SERVERS_SCRIPT), "stop"], check=False)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("services", nargs="*", help=f"some of {', '.join(SERVICES)} (default: all)")
    parser.add_argument(
        "--with-servers",
        action="store_true",
        help="start RabbitMQ and FerretDB too, and stop them at the end",
    )
    args = parser.parse_args(argv)
    unknown = set(args.services) - set(SERVICES)
    if unknown:
        parser.error(f"unknown service(s): {', '.join(sorted(unknown))}")
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    started_servers = args.with_servers and start_servers()
    if args.with_servers:
        os.environ.update(local_defaults(os.environ))
    chosen = list(args.services or SERVICES)
    if "intake" in chosen and os.environ.get("SUARA_MAIL_API_KEY") and port_of(MAIL_BRIDGE) > 0:
        chosen.append(MAIL_BRIDGE)  # mail in: only with the key it hands mail to intake with
    procs = [ServiceProcess(s).start() for s in chosen]
    try:
        for p in procs:
            p.wait_healthy()
        print("Suara is running:", flush=True)
        for p in procs:
            where = (
                f"smtp://127.0.0.1:{p.port}"
                if p.service == MAIL_BRIDGE
                else (f"http://127.0.0.1:{p.port}")
            )
            print(f"  {p.service:<15} {where}   (log: {p.log_path})", flush=True)
        print("Ctrl-C stops it.", flush=True)
        supervise(procs, lambda: stopping)
        return 0
    except (RuntimeError, TimeoutError) as exc:
        print(f"could not start Suara: {exc}", file=sys.stderr)
        return 1
    finally:
        print("stopping Suara...", flush=True)
        for p in procs:
            p.stop()
        if started_servers:
            stop_servers()


if __name__ == "__main__":
    sys.exit(main())
