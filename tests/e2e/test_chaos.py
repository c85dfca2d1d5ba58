"""A short `make chaos` (tests/chaos): a few dozen feedback, half HTTP and half AMQP, while each
service is SIGKILLed and restarted once, and poison messages arrive; nothing lost or doubled."""

from tests.chaos import run as chaos
from tests.e2e.api_client import API_KEY

FEEDBACK = 40


def test_short_chaos_loses_and_doubles_nothing(client, native):
    def kill(name: str):
        def fault():
            native.procs[name].kill()
            native.restart(name)

        return f"SIGKILL {name}", fault

    faults = [kill(name) for name in ("intake", "categorization", "notification", "reporting")]
    figures = chaos.run(
        client.platform.urls, client.platform.amqp_uri, API_KEY, FEEDBACK, 4.0, faults, 120
    )
    print(figures.report())
    assert figures.submitted == figures.accepted == FEEDBACK
    assert len(figures.faults) == 4
    assert figures.problems() == []
