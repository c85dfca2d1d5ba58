"""A short `make chaos` (tests/chaos): a few dozen feedback, half HTTP and half AMQP, while each
service is SIGKILLed and restarted once, and poison messages arrive; nothing lost or doubled."""

from tests.chaos import run as chaos
from tests.support.client import API_KEY
from tests.support.platform import recount_agrees

FEEDBACK = 40


def test_short_chaos_loses_and_doubles_nothing(client, native):
    def kill(name: str):
        return f"SIGKILL {name}", lambda: native.kill_and_restart(name)

    faults = [kill(name) for name in ("intake", "categorization", "notification", "reporting")]
    native.watch()
    try:
        figures = chaos.run(
            client.platform.urls,
            client.platform.amqp_uri,
            API_KEY,
            FEEDBACK,
            4.0,
            faults,
            120,
            native.unexpected_exits,
        )
    finally:
        native.unwatch()
    print(figures.report())
    assert figures.submitted == figures.accepted == FEEDBACK
    assert len(figures.faults) == 4
    assert figures.problems() == []
    done = recount_agrees(native)  # the counters the summary reads agree with a recount
    assert done.returncode == 0, done.stdout + done.stderr
