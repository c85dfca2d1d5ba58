"""Least privilege on the real broker: each service, the city's services and integrators
connect as their own RabbitMQ users (deploy/rabbitmq/definitions.json, which
deploy/local-servers.sh applies to the local vhosts as docker compose does), and each may do
what it must and nothing else: publish on its own exchange, not another service's; read its
own queues, not another's. A refusal is RabbitMQ's 403 ACCESS_REFUSED, which closes the
channel."""

import uuid

import pika
import pika.exceptions
import pytest

from shared import config, topology

OTHERS_EXCHANGE = {  # a service, and an exchange another service owns
    "intake": "categorization.events",
    "categorization": "intake.events",
    "notification": "reporting.events",
    "reporting": "notification.events",
}
OTHERS_QUEUE = {  # a service, and a queue another service consumes
    "intake": topology.event_queue_name("reporting", "feedback.received"),
    "categorization": topology.event_queue_name("notification", "feedback.received"),
    "notification": topology.event_queue_name("reporting", "feedback.received"),
    "reporting": "suara.notification.deliveries",
}
OWN = {  # a service, its own exchange and one of its own queues
    "intake": ("intake.events", topology.event_queue_name("intake", "feedback.categorized")),
    "categorization": (
        "categorization.events",
        topology.event_queue_name("categorization", "feedback.received"),
    ),
    "notification": (
        "notification.events",
        topology.event_queue_name("notification", "feedback.received"),
    ),
    "reporting": ("reporting.events", topology.event_queue_name("reporting", "feedback.received")),
}


def _connect(amqp_uri: str, user: str) -> pika.BlockingConnection:
    return pika.BlockingConnection(pika.URLParameters(config.dev_amqp_uri(user, amqp_uri)))


def _publish(amqp_uri: str, user: str, exchange: str, routing_key: str = "probe.nothing"):
    """Publish one persistent, confirmed message (routed nowhere: not mandatory)."""
    connection = _connect(amqp_uri, user)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(exchange, routing_key, b"{}", pika.BasicProperties(delivery_mode=2))
    finally:
        if connection.is_open:
            connection.close()


def _get(amqp_uri: str, user: str, queue: str):
    connection = _connect(amqp_uri, user)
    try:
        return connection.channel().basic_get(queue, auto_ack=False)
    finally:
        if connection.is_open:
            connection.close()


def _refused(action) -> str:
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as closed:
        action()
    assert closed.value.reply_code == 403, closed.value
    return closed.value.reply_text


@pytest.mark.parametrize("service", sorted(OWN))
def test_a_service_declares_the_topology_and_uses_its_own_as_itself(amqp_uri, service):
    uri = config.dev_amqp_uri(service, amqp_uri)
    topology.declare(uri, force=True)  # what it does at start-up
    exchange, queue = OWN[service]
    _publish(amqp_uri, service, exchange)
    _get(amqp_uri, service, queue)  # may read it (whatever is there stays: not acked)


@pytest.mark.parametrize("service", sorted(OTHERS_EXCHANGE))
def test_a_service_cannot_publish_on_another_services_exchange(amqp_uri, service):
    exchange = OTHERS_EXCHANGE[service]
    text = _refused(lambda: _publish(amqp_uri, service, exchange, "feedback.received"))
    assert f"exchange '{exchange}'" in text and f"user '{service}'" in text


@pytest.mark.parametrize("service", sorted(OTHERS_QUEUE))
def test_a_service_cannot_read_another_services_queue(amqp_uri, service):
    queue = OTHERS_QUEUE[service]
    text = _refused(lambda: _get(amqp_uri, service, queue))
    assert f"queue '{queue}'" in text and f"user '{service}'" in text


def test_a_city_service_may_only_submit(amqp_uri):
    _publish(amqp_uri, "city-service", "suara.intake", "feedback.submit")
    _refused(lambda: _publish(amqp_uri, "city-service", "intake.events", "feedback.received"))
    _refused(lambda: _get(amqp_uri, "city-service", "suara.intake.feedback.submit"))

    def declare_a_queue():
        connection = _connect(amqp_uri, "city-service")
        try:
            connection.channel().queue_declare("city-service.mine", durable=True)
        finally:
            if connection.is_open:
                connection.close()

    _refused(declare_a_queue)


def test_an_integrator_follows_the_public_events_in_its_own_queues_only(amqp_uri):
    mine = f"integrator.test-{uuid.uuid4().hex[:8]}"
    connection = _connect(amqp_uri, "integrator")
    try:
        channel = connection.channel()
        channel.queue_declare(mine, auto_delete=True)
        channel.queue_bind(mine, "intake.events", "feedback.received")
        channel.queue_bind(mine, "reporting.events", "alert.#")
        channel.basic_get(mine)
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as closed:
            channel.queue_bind(mine, "suara.intake", "#")  # the citizens' submissions
        assert closed.value.reply_code == 403
    finally:
        if connection.is_open:
            connection.close()
    _refused(lambda: _get(amqp_uri, "integrator", OWN["reporting"][1]))
    _refused(lambda: _publish(amqp_uri, "integrator", "intake.events", "feedback.received"))


def test_guest_has_no_rights_on_the_platforms_vhost(amqp_uri):
    """``make run`` uses the vhost ``/``: guest (the tests' harness, loopback only) may not
    touch it."""
    root = amqp_uri.rsplit("/", 1)[0] + "/"
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError):
        pika.BlockingConnection(pika.URLParameters(root))
