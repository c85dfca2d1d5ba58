"""``suara replay <service>``: rebuild a service's projection from the records of the services
that own them. Intake's cases and categorization's decisions are read page by page (each through
its own store, with its own settings) and turned back into the events they announced
(services/intake/replay.py, services/categorization/replay.py); each event that ``service``
consumes is published, persistent and confirmed, straight to that service's own queue
(``suara.<service>.<event type>``, through the default exchange): no other consumer sees it.

Consumers are idempotent and order-independent, so a replay over a live projection changes
nothing, and over an emptied one rebuilds it: the numbers equal the live ones (the e2e test
tests/e2e/test_replay.py drops reporting's database, replays, and compares every report).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable

from shared import config, events, topology

REPLAYABLE = ("reporting",)  # notification would re-plan messages: never replayed to


def publish_to(
    target: str, source: str, found: Iterable[dict], publish: Callable[[str, bytes], None]
) -> int:
    """Publish the events of ``source`` that ``target`` consumes to its queues; how many."""
    sent = 0
    for event in found:
        event_type = event["type"].removeprefix(events.TYPE_PREFIX)
        if target not in events.spec(source, event_type).consumers:
            continue
        publish(topology.event_queue_name(target, event_type), events.encode(event))
        sent += 1
    return sent


def run(target: str, env=None, out=sys.stderr) -> dict[str, int]:
    from kombu import Connection, Producer

    from services.categorization import replay as categorization_replay
    from services.categorization import store as categorization_store
    from services.intake import replay as intake_replay
    from services.intake import store as intake_store
    from shared.mongo import connect

    if target not in REPLAYABLE:
        raise ValueError(f"replay to {target!r}: only {', '.join(REPLAYABLE)}")
    sources = {
        "intake": (intake_store.pages, intake_replay.events_of),
        "categorization": (categorization_store.pages, categorization_replay.events_of),
    }
    counts: dict[str, int] = {}
    amqp_uri = config.load(target, env)["AMQP_URI"]
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.channel())

        def publish(queue: str, body: bytes) -> None:
            producer.publish(
                body,
                exchange="",
                routing_key=queue,
                content_type=events.CONTENT_TYPE,
                delivery_mode=2,
                mandatory=True,
            )

        for source, (pages, events_of) in sources.items():
            settings = config.load(source, env)
            client = connect(settings["MONGO_URI"])
            try:
                db = client[settings["MONGO_DB"]]
                records = sent = 0
                for page in pages(db):
                    for record in page:
                        records += 1
                        sent += publish_to(target, source, events_of(record), publish)
                counts[source] = sent
                print(json.dumps({"source": source, "records": records, "events": sent}), file=out)
            finally:
                client.close()
    return counts
