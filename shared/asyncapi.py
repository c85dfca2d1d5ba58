"""Suara's AsyncAPI 3.0 document, generated from the contracts (shared/events.py, the
``feedback.submit`` command's schema and shared/topology.py), so it cannot drift: every
exchange and routing key, every consumer's queue and its binding, every payload's schema
(marshmallow, turned into JSON Schema by apispec's converter). Served by each service at
``GET /asyncapi.json`` and committed as docs/asyncapi.yaml (a test compares them, another
validates it with the AsyncAPI CLI).

    python -m shared.asyncapi > docs/asyncapi.yaml      # make contracts
"""

from __future__ import annotations

import sys

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from shared import events, topology

AMQP_BINDING = "0.3.0"
DESCRIPTION = """\
Every event is a CloudEvents 1.0 JSON document in structured mode (content type
`application/cloudevents+json`), persistent, published with publisher confirms on its
service's topic exchange with its routing key; `type` is `id.go.pekalongankota.suara.<routing
key>`, `subject` the feedback id, `correlationid` follows a feedback through every service,
`traceparent`/`tracestate` carry the W3C trace (the distributed-tracing extension) and
`dataschema` is `urn:suara:schema:<routing key>:v1`. No event carries personal data.

Each consumer's queue `Q` is durable (classic, or quorum with `SUARA_QUEUE_TYPE=quorum`) and
has two companions: `Q.retry` (a failed message waits there for its backoff, then goes back to
`Q`) and `Q.dead` (what cannot be processed, with the reason in the `x-suara-reason` header).
Integrators bind queues of their own, named `integrator.*`, to the public exchanges.
"""


def _schema_name(schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    prefix = "Submit" if cls.__module__.endswith("intake.schemas") else ""
    return prefix + cls.__name__


def _spec() -> APISpec:
    return APISpec(
        title="Suara",
        version="1",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
    )


def _cloudevent(spec: events.EventSpec, data_ref: str) -> dict:
    return {
        "type": "object",
        "required": ["specversion", "id", "source", "type", "time", "data"],
        "properties": {
            "specversion": {"type": "string", "const": events.SPEC_VERSION},
            "id": {
                "type": "string",
                "description": "unique per event; consumers deduplicate on it",
            },
            "source": {"type": "string", "const": f"/suara/{spec.service}"},
            "type": {"type": "string", "const": spec.ce_type},
            "subject": {"type": "string", "description": "the feedback id (SU-...)"},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"type": "string", "const": "application/json"},
            "dataschema": {"type": "string", "const": spec.dataschema},
            "correlationid": {"type": "string"},
            "traceparent": {"type": "string", "description": "W3C Trace Context"},
            "tracestate": {"type": "string"},
            "data": {"$ref": data_ref},
        },
    }


def _id(*parts: str) -> str:
    return "-".join(p.replace(".", "_") for p in parts)


def _exchange(name: str) -> dict:
    return {"name": name, "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"}


def _queue(name: str) -> dict:
    return {"name": name, "durable": True, "exclusive": False, "autoDelete": False, "vhost": "/"}


def document() -> dict:
    from services.intake.schemas import SubmitCommand  # the command's contract is intake's

    apispec = _spec()
    channels: dict = {}
    operations: dict = {}
    messages: dict = {}
    schemas: dict = {}
    for spec in sorted(events.EVENTS.values(), key=lambda s: (s.exchange, s.type)):
        data_name = spec.schema.__name__
        apispec.components.schema(data_name, schema=spec.schema)
        envelope = f"CloudEvent_{_id(spec.type)}"
        schemas[envelope] = _cloudevent(spec, f"#/components/schemas/{data_name}")
        message = _id(spec.type)
        messages[message] = {
            "name": spec.type,
            "title": spec.ce_type,
            "summary": spec.description,
            "contentType": events.CONTENT_TYPE,
            "payload": {"$ref": f"#/components/schemas/{envelope}"},
        }
        ref = {"$ref": f"#/components/messages/{message}"}
        channel = _id(spec.exchange, spec.type)
        channels[channel] = {
            "address": spec.type,
            "title": f"{spec.type} on {spec.exchange}",
            "messages": {message: ref},
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "exchange": _exchange(spec.exchange),
                    "bindingVersion": AMQP_BINDING,
                }
            },
        }
        operations[_id(spec.service, "sends", spec.type)] = {
            "action": "send",
            "title": f"{spec.service} publishes {spec.type}",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{message}"}],
            "bindings": {"amqp": {"deliveryMode": 2, "bindingVersion": AMQP_BINDING}},
        }
        for consumer in spec.consumers:
            queue = topology.event_queue_name(consumer, spec.type)
            queue_channel = _id(queue)
            channels[queue_channel] = {
                "address": queue,
                "title": f"{consumer}'s queue of {spec.type}",
                "description": f"Bound to `{spec.exchange}` with routing key `{spec.type}`; "
                f"companions `{queue}.retry` and `{queue}.dead`.",
                "messages": {message: ref},
                "bindings": {
                    "amqp": {"is": "queue", "queue": _queue(queue), "bindingVersion": AMQP_BINDING}
                },
            }
            operations[_id(consumer, "receives", spec.type)] = {
                "action": "receive",
                "title": f"{consumer} consumes {spec.type}",
                "channel": {"$ref": f"#/channels/{queue_channel}"},
                "messages": [{"$ref": f"#/channels/{queue_channel}/messages/{message}"}],
                "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING}},
            }
    # the command other city services send
    apispec.components.schema("SubmitCommand", schema=SubmitCommand)
    for routing_key, service in sorted(topology.COMMANDS.items()):
        message = _id(routing_key)
        messages[message] = {
            "name": routing_key,
            "title": "Submit a feedback (another city service)",
            "summary": "A plain JSON object, not a CloudEvent: any AMQP client can send it. "
            "Once per (source, external_id); an invalid one is dead-lettered with the reason.",
            "contentType": "application/json",
            "payload": {"$ref": "#/components/schemas/SubmitCommand"},
        }
        channel = _id(topology.COMMAND_EXCHANGE, routing_key)
        channels[channel] = {
            "address": routing_key,
            "title": f"{routing_key} on {topology.COMMAND_EXCHANGE}",
            "messages": {message: {"$ref": f"#/components/messages/{message}"}},
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "exchange": _exchange(topology.COMMAND_EXCHANGE),
                    "bindingVersion": AMQP_BINDING,
                }
            },
        }
        operations[_id("city-service", "sends", routing_key)] = {
            "action": "send",
            "title": "a city service submits feedback (user city-service)",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{message}"}],
        }
        operations[_id(service, "receives", routing_key)] = {
            "action": "receive",
            "title": f"{service} stores it (queue {topology.command_queue_name(routing_key)})",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{message}"}],
        }
    converted = apispec.to_dict().get("components", {}).get("schemas", {})
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Suara: events and commands",
            "version": "1.0.0",
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
        },
        "defaultContentType": events.CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "127.0.0.1:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "pathname": "/",
                "description": "make run (deploy/local-servers.sh)",
            },
            "compose": {
                "host": "rabbitmq:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "pathname": "/",
                "description": "docker compose; on Kubernetes the RabbitmqCluster's service",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": {**converted, **schemas}},
    }


def as_yaml() -> str:
    header = "# Generated by `make contracts` (python -m shared.asyncapi): do not edit by hand.\n"
    return header + yaml.safe_dump(document(), sort_keys=False, allow_unicode=True, width=100)


if __name__ == "__main__":
    sys.stdout.write(as_yaml())
