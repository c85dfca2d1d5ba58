"""A case's lifecycle rules (services/intake/lifecycle.py)."""

from datetime import UTC, datetime, timedelta

import pytest

from services.intake import lifecycle
from services.intake.lifecycle import Move, MoveInvalid, MoveRefused

FID = "SU-0123456789"
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
WINDOW = timedelta(days=14)


def test_a_department_works_a_case_to_the_end():
    state = "categorized"
    for target, note in (
        ("acknowledged", None),
        ("in_progress", "tim ke lokasi"),
        ("resolved", "lubang sudah ditambal"),
    ):
        lifecycle.check(state, Move(target, note), "staff", FID)
        state = target
    lifecycle.check(state, Move("closed"), "staff", FID)


def test_a_move_not_allowed_now_is_refused_with_the_allowed_ones():
    with pytest.raises(MoveRefused) as refused:
        lifecycle.check("in_progress", Move("acknowledged"), "staff", FID)
    assert refused.value.allowed == ("resolved", "rejected", "duplicate")
    with pytest.raises(MoveRefused):
        lifecycle.check("closed", Move("in_progress"), "staff", FID)
    with pytest.raises(MoveRefused):
        lifecycle.check("categorized", Move("reopened", "masih rusak"), "citizen", FID)


@pytest.mark.parametrize("final", sorted(lifecycle.FINAL))
def test_final_states_allow_no_move(final):
    assert lifecycle.allowed(final, "staff") == ()
    assert lifecycle.allowed(final, "citizen") == ()


@pytest.mark.parametrize("current", lifecycle.STATES)
def test_nobody_moves_a_case_into_the_systems_own_states(current):
    for actor in ("staff", "citizen"):
        assert not set(lifecycle.allowed(current, actor)) & set(lifecycle.SYSTEM)


@pytest.mark.parametrize(
    "move, field",
    [
        (Move("resolved"), "note"),
        (Move("resolved", "sudah diperbaiki", "internal"), "note"),
        (Move("rejected", "  "), "note"),
        (Move("duplicate"), "duplicate_of"),
        (Move("duplicate", duplicate_of=FID), "duplicate_of"),
        (Move("acknowledged", duplicate_of="SU-1111111111"), "duplicate_of"),
        (Move("fixed"), "status"),
        (Move("acknowledged", "ok", "secret"), "note_visibility"),
    ],
)
def test_a_move_without_what_it_needs_is_invalid(move, field):
    with pytest.raises(MoveInvalid) as invalid:
        lifecycle.check("categorized", move, "staff", FID)
    assert field in invalid.value.fields


def test_a_duplicate_names_the_case_it_repeats_and_a_rejection_its_reason():
    lifecycle.check("acknowledged", Move("duplicate", duplicate_of="SU-1111111111"), "staff", FID)
    lifecycle.check("categorized", Move("rejected", "bukan kewenangan kota"), "staff", FID)


def test_the_citizen_reopens_a_resolved_case_within_the_window_only():
    lifecycle.check("resolved", Move("reopened", "masih bocor"), "citizen", FID)
    resolved_at = NOW - timedelta(days=3)
    assert lifecycle.may_reopen("resolved", resolved_at, NOW, WINDOW)
    assert not lifecycle.may_reopen("resolved", NOW - timedelta(days=15), NOW, WINDOW)
    assert not lifecycle.may_reopen("closed", resolved_at, NOW, WINDOW)
    assert lifecycle.closes_by_itself("resolved", NOW - timedelta(days=15), NOW, WINDOW)
    assert not lifecycle.closes_by_itself("resolved", resolved_at, NOW, WINDOW)


def test_a_recategorization_moves_only_the_systems_own_states():
    assert lifecycle.after_categorization("received", needs_review=False) == "categorized"
    assert lifecycle.after_categorization("categorized", needs_review=True) == "in_review"
    assert lifecycle.after_categorization("in_progress", needs_review=False) == "in_progress"
    assert lifecycle.after_categorization("resolved", needs_review=True) == "resolved"


def test_the_public_history_hides_internal_notes():
    history = [
        {"status": "categorized", "at": "t0"},
        {"status": "acknowledged", "at": "t1", "note": "cek CCTV", "visibility": "internal"},
        {"status": "resolved", "at": "t2", "note": "sudah ditambal", "visibility": "public"},
    ]
    assert lifecycle.public_history(history) == [
        {"status": "categorized", "at": "t0"},
        {"status": "acknowledged", "at": "t1"},
        {"status": "resolved", "at": "t2", "note": "sudah ditambal"},
    ]
