"""Test-wide set-up. eventlet must patch the standard library before anything imports it."""

import os

# Hypothesis loads its plugins' entry points, trio's among them (Selenium's dependency), and
# trio cannot be imported once eventlet has patched the socket module
os.environ.setdefault("HYPOTHESIS_NO_PLUGINS", "1")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import uuid  # noqa: E402

import pytest  # noqa: E402

# The tests use their own RabbitMQ vhost (created by deploy/local-servers.sh) and their own
# databases, so they never take messages from, or write into, a running platform.
AMQP_URI = os.environ.get("SUARA_TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/suara-test")
MONGO_URI = os.environ.get("SUARA_TEST_MONGO_URI", "mongodb://127.0.0.1:27017/")


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:8]
