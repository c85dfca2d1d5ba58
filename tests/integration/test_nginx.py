"""deploy/nginx/suara.conf is valid nginx and proxies to Suara with its JSON errors.

Runs where nginx is installed (.ci/run installs Debian's nginx-light); skipped elsewhere.
"""

import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import requests

from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")


def nginx_conf(tmp: Path, port: int, upstreams: dict[str, int]) -> Path:
    """A whole nginx.conf around deploy/nginx/suara.conf, on ``port``, logging under ``tmp``."""
    site = (ROOT / "deploy" / "nginx" / "suara.conf").read_text()
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    for default, actual in upstreams.items():
        site = site.replace(f"127.0.0.1:{default};", f"127.0.0.1:{actual};")
    (tmp / "suara.conf").write_text(site)
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"daemon off; pid {tmp}/nginx.pid; error_log {tmp}/error.log;\n"
        "events { worker_connections 256; }\n"
        f"http {{ access_log {tmp}/access.log; client_body_temp_path {tmp}/body;\n"
        f"proxy_temp_path {tmp}/proxy; include {tmp}/suara.conf; }}\n"
    )
    return conf


def test_the_shipped_config_is_valid(tmp_path):
    conf = nginx_conf(tmp_path, 18090, {})
    done = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nginx_answers_its_own_refusals_in_suaras_json_shape(tmp_path):
    # no upstream listens: nginx itself must answer, in JSON (503, 404, 413)
    port = free_port()
    conf = nginx_conf(tmp_path, port, {8001: free_port()})
    proc = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf)])
    try:
        wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() or 1)
        base = f"http://127.0.0.1:{port}"
        r = requests.get(base + "/healthz", timeout=5)
        assert r.status_code == 503 and r.json()["error"] == "unavailable"
        r = requests.get(base + "/nope", timeout=5)
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        r = requests.post(base + "/api/v1/feedback", data=b"x" * 300_000, timeout=5)
        assert r.status_code == 413 and r.json()["error"] == "too_large"
    finally:
        proc.terminate()
        proc.wait(10)
