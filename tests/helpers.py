"""Small helpers for tests: wait on a condition with a timeout (never a fixed sleep)."""

import time
from collections.abc import Callable


def poll_until(
    condition: Callable[[], object], timeout: float = 10.0, interval: float = 0.05
) -> object:
    """The first truthy result of ``condition`` within ``timeout`` seconds, else None.

    For tools that report what did not happen (fuzz, chaos) instead of failing at once; an
    exception from ``condition`` counts as not yet (the system may be coming back)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = condition()
            if result:
                return result
        except Exception:  # noqa: S110 - not ready yet
            pass
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def wait_for(
    condition: Callable[[], object],
    timeout: float = 10.0,
    interval: float = 0.05,
    message: str = "",
) -> object:
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = condition()
            if result:
                return result
        except Exception as exc:  # the condition may fail until the system is ready
            last_error = exc
        time.sleep(interval)
    raise AssertionError(
        f"condition not met within {timeout}s {message} (last error: {last_error})"
    )


def urgent_data(feedback_id: str) -> dict:
    """The data of a valid ``feedback.urgent`` event."""
    from shared.events import now_iso

    return {
        "feedback_id": feedback_id,
        "category": "roads",
        "department": "Dinas PUPR",
        "reasons": ["collapsed bridge"],
        "flagged_at": now_iso(),
    }
