"""The metrics' contract: the alert rules (deploy/prometheus/alerts.yml) and the Grafana
dashboard (deploy/grafana/suara-dashboard.json) use only metrics that shared/metrics.py
defines, so neither can drift from what the services expose."""

import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

from shared import metrics

ROOT = Path(__file__).resolve().parents[2]
SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


def defined() -> set[str]:
    assert metrics.CONSUMED  # shared.metrics registered its metrics
    return {family.name for family in REGISTRY.collect() if family.name.startswith("suara_")}


def used(text: str) -> set[str]:
    found = set()
    for name in re.findall(r"\bsuara_[a-z_]+", text):
        for suffix in SUFFIXES:
            if name.endswith(suffix) and name != suffix:
                name = name[: -len(suffix)]
                break
        found.add(name)
    return found


def test_the_alert_rules_use_defined_metrics():
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    exprs = " ".join(r["expr"] for g in rules["groups"] for r in g["rules"])
    assert used(exprs) and used(exprs) <= defined(), used(exprs) - defined()


def test_the_dashboard_uses_defined_metrics():
    dashboard = json.loads((ROOT / "deploy/grafana/suara-dashboard.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    assert used(exprs) and used(exprs) <= defined(), used(exprs) - defined()
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_a_service_reads_only_its_own_queues():
    queues = metrics.service_queues("reporting")
    assert "suara.reporting.feedback.received" in queues
    assert "suara.reporting.feedback.received.dead" in queues
    assert all(q.startswith("suara.reporting.") for q in queues)
    assert "suara.notification.deliveries" in metrics.service_queues("notification")
