"""The Prometheus alert rules and scrape configuration under deploy/prometheus, checked by
Prometheus's own promtool (Debian's ``prometheus`` package; .ci/run installs it): they load,
and each alert fires on the series that should fire it and not on the others
(alerts_test.yml)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")

pytestmark = pytest.mark.skipif(
    PROMTOOL is None and not os.environ.get("CI"),
    reason="promtool is missing (apt-get install prometheus); CI installs it",
)


@pytest.mark.parametrize(
    "args",
    [
        ["check", "rules", "alerts.yml"],
        ["check", "config", "prometheus.yml"],
        ["test", "rules", "alerts_test.yml"],
    ],
    ids=["check-rules", "check-config", "test-rules"],
)
def test_promtool(args):
    assert PROMTOOL, "promtool is missing: .ci/run installs Debian's prometheus package"
    done = subprocess.run([PROMTOOL, *args], cwd=HERE, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr
