import pytest

from engine.service.fair_queue import FairQueue


def drain(queue: FairQueue[str]) -> list[str]:
    return [queue.pop() for _ in range(len(queue))]


def test_users_are_served_in_turn_not_in_arrival_order():
    queue: FairQueue[str] = FairQueue()
    for i in range(3):
        queue.push("heavy", f"h{i}")
    queue.push("light", "l0")
    queue.push("other", "o0")
    assert drain(queue) == ["h0", "l0", "o0", "h1", "h2"]


def test_position_matches_pop_order_for_every_item():
    queue: FairQueue[str] = FairQueue()
    for user, count in (("a", 4), ("b", 1), ("c", 2)):
        for i in range(count):
            queue.push(user, f"{user}{i}")
    queue.pop()  # "a0": a moves to the back of the rotation
    expected = list(queue)
    assert [queue.position(item) for item in expected] == list(range(1, len(expected) + 1))
    assert drain(queue) == expected


def test_newcomer_waits_at_most_one_round():
    queue: FairQueue[str] = FairQueue()
    for i in range(10):
        queue.push("a", f"a{i}")
    queue.push("b", "b0")
    assert queue.position("b0") == 2


def test_remove_takes_an_item_out_and_closes_the_gap():
    queue: FairQueue[str] = FairQueue()
    queue.push("a", "a0")
    queue.push("b", "b0")
    queue.push("b", "b1")
    assert queue.remove("b0") and not queue.remove("b0")
    assert "b0" not in queue and queue.count("b") == 1
    assert queue.position("b1") == 2 and queue.position("b0") == 0
    assert drain(queue) == ["a0", "b1"]


def test_pop_from_empty_queue_raises_and_duplicates_are_refused():
    queue: FairQueue[str] = FairQueue()
    with pytest.raises(IndexError):
        queue.pop()
    queue.push("a", "x")
    with pytest.raises(ValueError):
        queue.push("b", "x")
