"""The rule on its own: a member's rating is their latest rating reaction still there; reads without times keep
the known order and put unknown reactions first, lowest score first."""

from __future__ import annotations

from cogs.rating.ledger import TrackLedger


def test_latest_present_wins_and_none_left_means_no_rating() -> None:
    ledger = TrackLedger({}, generation=0)
    ledger.add(1, 2)
    ledger.add(1, 4)
    ledger.remove(1, 4)
    assert ledger.rating(1) == 2
    ledger.add(1, 5)
    ledger.remove(1, 2)
    assert ledger.rating(1) == 5
    ledger.remove(1, 5)
    ledger.remove(1, 3)  # not there: nothing happens
    assert ledger.rating(1) is None and ledger.users() == set()


def test_adding_again_makes_it_the_latest() -> None:
    ledger = TrackLedger({}, generation=0)
    for score in (3, 1, 3):
        ledger.add(7, score)
    ledger.remove(7, 3)
    assert ledger.rating(7) == 1 and ledger.is_simple()


def test_a_read_keeps_the_known_order_and_puts_unknown_reactions_first() -> None:
    ledger = TrackLedger({1: 2, 2: 4, 3: 5}, generation=None)
    ledger.merge_read({1: {2, 5}, 2: {1, 3}, 4: {1, 4}}, generation=1)
    assert ledger.generation == 1
    assert ledger.rating(1) == 2  # the recorded rating stays while its reaction does
    assert ledger.rating(2) == 3  # its reaction is gone: of the unknown ones, the highest
    assert ledger.rating(3) is None  # nothing left on the message
    assert ledger.rating(4) == 4
    ledger.remove(1, 2)
    assert ledger.rating(1) == 5
    assert not TrackLedger({}, 0).users() and not ledger.is_simple()
