"""The Docker deployment, checked without Docker: docker-compose.yml, deploy/Dockerfile, and the
RabbitMQ users and permissions in deploy/rabbitmq/definitions.json against the AMQP topology the
services declare (shared/topology.py). Fast: it only reads files."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from shared import events, topology

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "categorization", "notification", "reporting")
PORTS = {"intake": 8001, "categorization": 8002, "notification": 8003, "reporting": 8004}
EXCHANGES = sorted({spec.exchange for spec in events.EVENTS.values()} | {topology.COMMAND_EXCHANGE})

_VARIABLE = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def defaults(value) -> str:
    """A compose value with its ``${VAR:-default}`` references replaced by their defaults."""
    return _VARIABLE.sub(lambda m: m.group(2) or "", str(value))


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def definitions() -> dict:
    return json.loads((ROOT / "deploy/rabbitmq/definitions.json").read_text())


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: defaults(value) for key, value in env.items()}


def host_ports(service: dict) -> list[str]:
    """The host side of each published port ("" when Docker picks one)."""
    published = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            published.append(str(port.get("published", "")))
        else:
            parts = str(port).split(":")
            published.append(parts[-2] if len(parts) > 1 else "")
    return published


def test_compose_spec_without_version(compose):
    assert "version" not in compose
    assert set(compose["services"]) == {
        "rabbitmq",
        "mongodb",
        *SERVICES,
        "intake-mail",
        "mailpit",
    }


def test_notification_mails_through_mailpit_with_a_key_intake_knows(compose):
    env = compose["services"]["notification"]["environment"]
    assert env["SUARA_SMTP_HOST"] == "${SUARA_SMTP_HOST:-mailpit}"
    assert env["SUARA_INTAKE_URL"] == "http://intake:8001"
    key = env["SUARA_NOTIFICATION_API_KEY"].split(":-")[1].rstrip("}")
    assert f"notification:{key}" in env["SUARA_API_KEYS"]
    assert compose["services"]["mailpit"]["image"] == "axllent/mailpit:v1.33.1"
    assert compose["services"]["mailpit"]["ports"] == ["127.0.0.1:8025:8025"]


def test_the_mail_bridge_runs_from_the_same_image_and_reaches_intake(compose):
    bridge = compose["services"]["intake-mail"]
    assert bridge["build"]["dockerfile"] == "deploy/Dockerfile"
    assert bridge["entrypoint"] == ["python", "-m", "services.intake.mailbridge"]
    assert bridge["environment"]["SUARA_INTAKE_URL"] == "http://intake:8001"
    assert "SUARA_AMQP_URI" not in bridge["environment"]  # no broker, no database: least privilege
    assert bridge["depends_on"]["intake"]["condition"] == "service_healthy"


def test_images_of_the_servers(compose):
    assert re.fullmatch(
        r"rabbitmq:3\.\d+(\.\d+)?(-management)?", compose["services"]["rabbitmq"]["image"]
    )
    assert re.fullmatch(r"mongo:7(\.\d+)*", compose["services"]["mongodb"]["image"])


@pytest.mark.parametrize("name", SERVICES)
def test_service_is_built_from_the_one_dockerfile(compose, name):
    service = compose["services"][name]
    assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (ROOT / service["build"].get("context", ".") / "deploy/Dockerfile").is_file()
    assert service["command"] in (name, [name])
    assert "container_name" not in service
    for server in ("rabbitmq", "mongodb"):
        assert service["depends_on"][server]["condition"] == "service_healthy"


def test_every_container_has_a_healthcheck(compose):
    for name, service in compose["services"].items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    for name in SERVICES:
        test = " ".join(compose["services"][name]["healthcheck"]["test"])
        assert f"http://127.0.0.1:{PORTS[name]}/health" in test
        assert "urllib" in test  # no curl in python:3.11-slim


@pytest.mark.parametrize("name", SERVICES)
def test_service_has_its_own_amqp_user(compose, definitions, name):
    uri = urlsplit(environment(compose["services"][name])["SUARA_AMQP_URI"])
    assert (uri.scheme, uri.hostname, uri.port, uri.username) == ("amqp", "rabbitmq", 5672, name)
    users = {user["name"]: user for user in definitions["users"]}
    assert password_matches(users[name], uri.password), f"{name}: default password != its hash"


@pytest.mark.parametrize("name", SERVICES)
def test_service_has_its_own_mongodb_user(compose, name):
    env = environment(compose["services"][name])
    uri = urlsplit(env[f"SUARA_{name.upper()}_MONGO_URI"])
    assert (uri.scheme, uri.hostname, uri.username, uri.path) == (
        "mongodb",
        "mongodb",
        name,
        f"/{name}",
    )
    assert parse_qs(uri.query)["authSource"] == [name]
    assert "SUARA_MONGO_URI" not in env  # no shared credentials
    # the init script creates the user with the password from the mongodb container's env
    mongodb = environment(compose["services"]["mongodb"])
    assert mongodb[f"SUARA_{name.upper()}_DB_PASSWORD"] == uri.password


def test_credentials_are_distinct(compose):
    amqp, mongo = set(), set()
    for name in SERVICES:
        env = environment(compose["services"][name])
        amqp.add(urlsplit(env["SUARA_AMQP_URI"]).password)
        mongo.add(urlsplit(env[f"SUARA_{name.upper()}_MONGO_URI"]).password)
    assert len(amqp) == len(mongo) == len(SERVICES)


def test_mongodb_init_script_gives_each_service_its_own_database(compose):
    mongodb = compose["services"]["mongodb"]
    mounts = [str(v) for v in mongodb["volumes"]]
    assert any(
        m.startswith("./deploy/mongodb/init-users.js:/docker-entrypoint-initdb.d/") for m in mounts
    )
    script = (ROOT / "deploy/mongodb/init-users.js").read_text()
    assert 'role: "readWrite", db: service' in script
    for name in SERVICES:
        assert f'"{name}"' in script
    env = environment(mongodb)
    assert env["MONGO_INITDB_ROOT_USERNAME"] and env["MONGO_INITDB_ROOT_PASSWORD"]


@pytest.mark.parametrize("name", ["categorization", "notification"])
def test_the_scaled_services_scale(compose, name):
    """`docker compose up --scale categorization=3 --scale notification=2`: no fixed host
    port, which a second replica could not bind: a range from the service's port, or none."""
    for published in host_ports(compose["services"][name]):
        if published:
            low, _, high = published.partition("-")
            assert high and int(high) - int(low) >= 2, f"fixed host port {published}"
            assert int(low) == PORTS[name]  # one replica: its usual port
    assert "container_name" not in compose["services"][name]


@pytest.mark.parametrize("name", ["intake", "reporting"])
def test_other_services_are_published(compose, name):
    assert str(PORTS[name]) in host_ports(compose["services"][name])


@pytest.mark.parametrize("name", list(PORTS))
def test_each_service_is_checked_ready_on_its_own_port(compose, name):
    test = " ".join(compose["services"][name]["healthcheck"]["test"])
    assert f"127.0.0.1:{PORTS[name]}/health/ready" in test


def test_rabbitmq_loads_the_definitions(compose):
    rabbitmq = compose["services"]["rabbitmq"]
    mounts = dict(str(v).split(":")[:2] for v in rabbitmq["volumes"] if str(v).startswith("./"))
    conf = (ROOT / "deploy/rabbitmq/rabbitmq.conf").read_text()
    path = re.search(r"^load_definitions\s*=\s*(\S+)", conf, re.M).group(1)
    assert mounts["./deploy/rabbitmq/definitions.json"] == path
    assert mounts["./deploy/rabbitmq/rabbitmq.conf"].startswith("/etc/rabbitmq/")
    assert {"5672", "15672"} <= set(host_ports(rabbitmq))
    assert "rabbitmq-diagnostics" in rabbitmq["healthcheck"]["test"]


def test_dockerfile():
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim-bookworm\b", dockerfile, re.M)
    assert re.search(r"pip install \.(\s|$)", dockerfile) and ".[dev]" not in dockerfile
    assert "suara train --output services/categorization/model/default.joblib" in dockerfile
    assert "SUARA_HTTP_HOST=0.0.0.0" in dockerfile
    user = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert 'ENTRYPOINT ["python", "-m", "shared.runner"]' in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "var", ".git"} <= set(ignored)


# ------------------------------------------------------------------ RabbitMQ definitions


def password_matches(user: dict, password: str) -> bool:
    assert user["hashing_algorithm"] == "rabbit_password_hashing_sha256"
    raw = base64.b64decode(user["password_hash"])
    salt, digest = raw[:4], raw[4:]
    return hashlib.sha256(salt + password.encode()).digest() == digest


def permissions(definitions: dict, user: str) -> dict[str, str]:
    (found,) = [p for p in definitions["permissions"] if p["user"] == user and p["vhost"] == "/"]
    return found


def allows(regex: str, name: str) -> bool:
    # RabbitMQ matches with Erlang's re:run (a search, not anchored unless the regex is)
    return re.search(regex or "^$", name) is not None


def test_users_have_hashes_only(definitions):
    names = {user["name"] for user in definitions["users"]}
    assert names == {*SERVICES, "admin", "city-service", "integrator", "monitor"}
    for user in definitions["users"]:
        assert "password" not in user
        assert len(base64.b64decode(user["password_hash"])) == 36  # salt + sha256
    admin = next(u for u in definitions["users"] if u["name"] == "admin")
    assert "administrator" in admin["tags"]
    assert definitions["vhosts"] == [{"name": "/"}]
    # KEDA reads queue lengths through the management API as monitor: no AMQP rights at all
    monitor = next(u for u in definitions["users"] if u["name"] == "monitor")
    assert monitor["tags"] == ["monitoring"]
    rights = permissions(definitions, "monitor")
    assert [rights[k] for k in ("configure", "write", "read")] == ["^$", "^$", "^$"]


@pytest.mark.parametrize("name", SERVICES)
def test_service_permissions_cover_what_it_does(definitions, name):
    """Whatever the service does on the broker (shared/topology.py, shared/messaging.py)."""
    perm = permissions(definitions, name)
    queues = topology.consumer_queues()
    # declare the whole topology
    for entity in topology.entities():
        assert allows(perm["configure"], entity.name), entity.name
    for queue in queues.values():
        if queue.name not in topology.WORK_QUEUES:  # those are fed by the default exchange
            assert allows(perm["write"], queue.name)  # bind the queue ...
            assert allows(perm["read"], queue.exchange.name)  # ... from its exchange
        retry = topology.retry_queue_name(queue.name)
        assert allows(perm["read"], retry)  # a queue with a dead-letter exchange ...
    for work in topology.WORK_QUEUES:
        for seconds in topology.WAIT_TIERS_S:
            assert allows(perm["read"], topology.wait_queue_name(work, seconds))  # ... as well
    assert allows(perm["write"], "amq.default")  # ... which is the default one; retry/dead moves
    # publish its own events
    for spec in events.EVENTS.values():
        if spec.service == name:
            assert allows(perm["write"], spec.exchange)
    # consume its own queues
    for queue in queues:
        if queue.split(".")[1] == name:
            assert allows(perm["read"], queue), queue


@pytest.mark.parametrize("name", SERVICES)
def test_service_permissions_are_least_privilege(definitions, name):
    perm = permissions(definitions, name)
    for exchange in EXCHANGES:
        if exchange != f"{name}.events":
            assert not allows(perm["write"], exchange), exchange
    for queue in topology.consumer_queues():
        if queue.split(".")[1] != name:
            assert not allows(perm["read"], queue), queue
        assert not allows(perm["read"], topology.dead_queue_name(queue))
    for other in ("integrator.crm", "suara.other", "amq.gen-x", "suara.intake.feedback.x"):
        assert not allows(perm["configure"], other), other
        assert not allows(perm["read"], other), other


def test_city_service_may_only_submit(definitions):
    perm = permissions(definitions, "city-service")
    assert allows(perm["write"], topology.COMMAND_EXCHANGE)
    for exchange in EXCHANGES:
        if exchange != topology.COMMAND_EXCHANGE:
            assert not allows(perm["write"], exchange)
    for entity in topology.entities():
        assert not allows(perm["configure"], entity.name)
        assert not allows(perm["read"], entity.name)


def test_integrator_follows_events_in_its_own_queues(definitions):
    perm = permissions(definitions, "integrator")
    for kind in ("configure", "write", "read"):
        assert allows(perm[kind], "integrator.crm")
    for spec in events.EVENTS.values():
        assert allows(perm["read"], spec.exchange)  # bind from it
        assert not allows(perm["write"], spec.exchange)
        assert not allows(perm["configure"], spec.exchange)
    assert not allows(perm["read"], topology.COMMAND_EXCHANGE)
    for entity in topology.entities():
        if entity.name not in {s.exchange for s in events.EVENTS.values()}:
            assert not allows(perm["read"], entity.name), entity.name
        assert not allows(perm["configure"], entity.name)


def test_definitions_declare_the_exchanges_others_bind_to(definitions):
    declared = {(e["name"], e["type"], e["durable"]) for e in definitions["exchanges"]}
    assert declared == {(name, "topic", True) for name in EXCHANGES}
