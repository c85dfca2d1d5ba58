"""A fast subset of `make fuzz` (tests/fuzz): every named regression of issue 7 and a few
hundred generated inputs against every HTTP endpoint and the AMQP command exchange."""

from tests.e2e.conftest import READ_TIMEOUT_S
from tests.fuzz import campaign

EXAMPLES = 300


def test_fuzz_subset_finds_no_5xx_hang_or_stuck_message(client, native):
    tally = campaign.run(
        client.platform.urls, client.platform.amqp_uri, EXAMPLES, 11, READ_TIMEOUT_S, "e2e-fuzz"
    )
    print(tally.report())
    assert tally.total >= EXAMPLES
    assert len(tally.named) >= 20
    assert tally.problems() == []
    assert all(p.alive() for p in native.procs.values())
