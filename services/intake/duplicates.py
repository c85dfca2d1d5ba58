"""The "me too" link (issue 15): a new case that repeats an open case at the same place
(categorization's ``feedback.duplicate_suspected``) is linked to it. Pure: the rules of the
link; the intake handlers apply them to the stored cases.

The new case (the *me-too* case) records ``similar_to`` (the *primary*: the earliest open case it
repeats), ``cluster_id`` and its ``duplicate_link`` (state, similarity, distance, who reviewed it
and when). The primary keeps the me-too ids in ``me_too`` (a set: ``$addToSet`` by ``_id``) and
their number in ``me_too_count``. A link's states:

- ``suspected``: categorization's suggestion, not reviewed yet. The me-too case's citizen
  follows the primary (``followers`` of its ``feedback.status_changed``), and the case is left
  out of the department's lists by default (the primary stands for it).
- ``confirmed``: a department agreed; the me-too case moves to ``duplicate`` of the primary
  through the lifecycle when its state allows it; its citizen still follows the primary.
- ``undone``: a department disagreed; the case left the primary's set and is a case of its own.
- ``lapsed``: the primary was unknown or already final (or the new case already final) when the
  suggestion came: recorded on the new case only; it stands as its own case, followed by no one.
"""

from __future__ import annotations

from services.intake import lifecycle

STATES = ("suspected", "confirmed", "undone", "lapsed")
LINKED = frozenset({"suspected", "confirmed"})  # the citizen follows the primary
DECISIONS = ("confirmed", "undone")
FOLLOWERS_CAP = 1000  # feedback.status_changed's followers: at most this many (the contract's)


class LinkRefused(Exception):
    """A review the link's state does not allow (HTTP 409): no link, or decided otherwise."""

    def __init__(self, message: str, state: str | None):
        super().__init__(message)
        self.state = state


def link_of(record: dict) -> dict | None:
    return record.get("duplicate_link") or None


def state_of(record: dict) -> str | None:
    link = link_of(record)
    return link["state"] if link else None


def is_linked(record: dict) -> bool:
    """Does this case's citizen follow its primary (suspected or confirmed)?"""
    return state_of(record) in LINKED


def hidden_in_lists(record: dict, hidden_from: float = 0.0) -> bool:
    """Is the case left out of the department's lists by default (and its own deadline
    waiting)? A me-too case still linked (its primary is the one case worked), unless it is
    final anyway; a suspected one only from the similarity ``hidden_from``: below it the
    department sees it beside its primary until it confirms or undoes the link (a wrong link
    must not hide another problem)."""
    if not is_linked(record) or record["status"] in lifecycle.FINAL:
        return False
    link = link_of(record) or {}
    return link.get("state") == "confirmed" or (link.get("similarity") or 0.0) >= hidden_from


def may_join(primary: dict | None, me_too: dict) -> bool:
    """Can ``me_too`` join ``primary``'s set now: the primary known and open, the new case not
    final (a case already closed, rejected or duplicate follows no one)?"""
    return (
        primary is not None
        and primary["status"] not in lifecycle.FINAL
        and me_too["status"] not in lifecycle.FINAL
        and primary["_id"] != me_too["_id"]
    )


def followers(record: dict) -> list[str]:
    """The me-too cases whose citizens hear this case's updates: its set in the order they
    joined (an undone link has left it), the first FOLLOWERS_CAP."""
    return [f for f in record.get("me_too") or [] if f != record["_id"]][:FOLLOWERS_CAP]


def check_review(record: dict, decision: str) -> bool:
    """Whether ``decision`` on this me-too case changes anything: True for a suspected link;
    False for a repeat of the decision already taken (answered as before). Raises LinkRefused
    for a case without a link (or a lapsed one) and for the other decision than the one taken
    (a confirmed duplicate is final; an undone link is gone: move the case instead)."""
    state = state_of(record)
    if state is None or state == "lapsed":
        raise LinkRefused("this case is not linked to another case", state)
    if state == "suspected":
        return True
    if state == decision:
        return False
    raise LinkRefused(f"the link was {state} already", state)
