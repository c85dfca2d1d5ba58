"""The Kubernetes manifests (deploy/k8s), offline: each overlay builds with kustomize; every
core object validates against Kubernetes' own schemas (kubernetes-validate, strict); every
operator object (RabbitmqCluster, MongoDBCommunity, KEDA's ScaledObject and
TriggerAuthentication) against the CRD kept in deploy/k8s/crds; and what issue 14 asks of
each service holds: non-root, read-only root filesystem, requests and limits, probes on
/health/live and /health/ready, a PodDisruptionBudget, an autoscaler, NetworkPolicies."""

import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUSTOMIZE = os.environ.get("SUARA_KUSTOMIZE") or str(ROOT / "var" / "bin" / "kustomize-v5.8.0")
KUBERNETES = "1.33"
SERVICES = ("intake", "categorization", "notification", "reporting")
KEDA_SCALED = ("categorization", "notification")

pytestmark = pytest.mark.skipif(
    not Path(KUSTOMIZE).exists() and not os.environ.get("CI"),
    reason=f"kustomize is missing ({KUSTOMIZE}: make kustomize)",
)


def crd_schemas() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> the openAPIV3Schema of each CRD version under deploy/k8s/crds."""
    schemas = {}
    for path in sorted((K8S / "crds").glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schemas[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return schemas


@pytest.fixture(scope="module", params=["dev", "prod"])
def rendered(request) -> tuple[str, list[dict]]:
    assert Path(KUSTOMIZE).exists(), f"kustomize is missing: {KUSTOMIZE} (make kustomize)"
    done = subprocess.run(
        [KUSTOMIZE, "build", str(K8S / "overlays" / request.param)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return request.param, [d for d in yaml.safe_load_all(done.stdout) if d]


def of_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_every_object_validates_against_its_schema(rendered):
    _, docs = rendered
    crds = crd_schemas()
    checked = set()
    for doc in docs:
        key = (doc["apiVersion"], doc["kind"])
        if key in crds:
            jsonschema.validate(doc, crds[key])
        else:
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)
        checked.add(doc["kind"])
    assert {"RabbitmqCluster", "MongoDBCommunity", "ScaledObject", "Deployment"} <= checked


def test_a_crd_schema_refuses_what_is_not_in_it(rendered):
    _, docs = rendered
    (cluster,) = of_kind(docs, "RabbitmqCluster").values()
    wrong = {**cluster, "spec": {**cluster["spec"], "replicas": "three"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, crd_schemas()[("rabbitmq.com/v1beta1", "RabbitmqCluster")])


def test_each_service_runs_hardened_with_probes_and_resources(rendered):
    _, docs = rendered
    deployments = of_kind(docs, "Deployment")
    assert set(deployments) == set(SERVICES)
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["automountServiceAccountToken"] is False, name
        (container,) = pod["containers"]
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"]["drop"] == ["ALL"], name
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
        assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live", name
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready", name
        assert container["args"] == [name]
        names = {e["name"] for e in container["env"]}
        assert "SUARA_AMQP_URI" in names and f"SUARA_{name.upper()}_MONGO_URI" in names
        assert all("value" not in e for e in container["env"] if "URI" in e["name"])  # secrets
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/path"] == "/metrics"


def test_each_service_has_a_pdb_a_service_and_one_autoscaler(rendered):
    _, docs = rendered
    hpas, scaled = of_kind(docs, "HorizontalPodAutoscaler"), of_kind(docs, "ScaledObject")
    assert set(of_kind(docs, "PodDisruptionBudget")) == set(SERVICES)
    assert set(of_kind(docs, "Service")) >= set(SERVICES)
    # KEDA makes the HPA of what it scales: one autoscaler per Deployment, never two
    assert set(scaled) == set(KEDA_SCALED)
    assert set(hpas) == set(SERVICES) - set(KEDA_SCALED)
    for name, obj in scaled.items():
        queues = [
            t["metadata"]["queueName"] for t in obj["spec"]["triggers"] if t["type"] == "rabbitmq"
        ]
        assert queues and all(q.startswith(f"suara.{name}.") for q in queues)


def test_production_runs_three_rabbitmq_nodes_quorum_queues_and_three_mongodb_members(rendered):
    overlay, docs = rendered
    if overlay != "prod":
        pytest.skip("production only")
    (cluster,) = of_kind(docs, "RabbitmqCluster").values()
    assert cluster["spec"]["replicas"] == 3
    assert of_kind(docs, "ConfigMap")["suara-config"]["data"]["SUARA_QUEUE_TYPE"] == "quorum"
    (mongodb,) = of_kind(docs, "MongoDBCommunity").values()
    assert mongodb["spec"]["members"] == 3 and mongodb["spec"]["type"] == "ReplicaSet"
    users = {u["name"]: u for u in mongodb["spec"]["users"]}
    for name in SERVICES:
        assert users[name]["roles"] == [{"name": "readWrite", "db": name}]
    assert not of_kind(docs, "Secret"), "production secrets come from the city's secrets manager"
    for deployment in of_kind(docs, "Deployment").values():
        assert deployment["spec"]["replicas"] >= 2


def test_network_policies_deny_by_default(rendered):
    _, docs = rendered
    policies = of_kind(docs, "NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    outside = policies["notification-egress-outside"]["spec"]["egress"][0]["to"][0]["ipBlock"]
    assert "10.0.0.0/8" in outside["except"] and "169.254.0.0/16" in outside["except"]


def test_kustomize_is_installed_by_make():
    assert "kustomize" in (ROOT / "Makefile").read_text()
    assert shutil.which("go") or Path(KUSTOMIZE).exists()
