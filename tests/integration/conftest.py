import pytest
from kombu import Connection

from shared import config, topology
from shared.mongo import connect
from tests.conftest import AMQP_URI, MONGO_URI


@pytest.fixture(scope="session")
def amqp_uri() -> str:
    try:
        with Connection(AMQP_URI, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=2)
    except Exception as exc:
        pytest.fail(
            f"RabbitMQ is not reachable at {AMQP_URI} ({exc}); run deploy/local-servers.sh start"
        )
    topology.declare(AMQP_URI)
    return AMQP_URI


@pytest.fixture(scope="session")
def mongo_client():
    client = connect(MONGO_URI, timeout_ms=3000)
    try:
        client.admin.command("ping")
    except Exception as exc:
        pytest.fail(f"MongoDB/FerretDB is not reachable at {MONGO_URI} ({exc})")
    yield client
    client.close()


@pytest.fixture
def db(mongo_client, run_id, request):
    name = f"it_{run_id}_{request.node.name[:20]}".replace("[", "_").replace("]", "_")
    yield mongo_client[name]
    mongo_client.drop_database(name)


@pytest.fixture
def purge(amqp_uri):
    """Empty the named queues before and after a test."""
    names: list[str] = []

    def _purge(*queues: str) -> None:
        names.extend(queues)
        with Connection(amqp_uri) as conn:
            channel = conn.channel()
            for name in queues:
                channel.queue_purge(name)

    yield _purge
    if names:
        _purge(*names)


@pytest.fixture
def service_config(amqp_uri, db):
    def make(service: str, **overrides) -> dict:
        # the service as its own RabbitMQ user, as it runs (tests/integration/test_broker_users)
        own = config.dev_amqp_uri(service, amqp_uri)
        cfg = config.load(service, {"SUARA_AMQP_URI": own, "SUARA_MONGO_URI": MONGO_URI})
        cfg.update(MONGO_DB=db.name, RETRY_DELAY_MS=50, WEB_SERVER_ADDRESS="127.0.0.1:0")
        cfg.update(overrides)
        return cfg

    return make
