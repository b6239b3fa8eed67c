"""A queue that serves users in turn: one FIFO per user, visited round-robin, so a heavy user cannot starve others."""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Generic, Hashable, Iterator, TypeVar

T = TypeVar("T", bound=Hashable)


class FairQueue(Generic[T]):
    """Round-robin over per-user FIFOs.

    The rotation holds the users with queued items, in the order they will next be served. Serving a user
    moves them to the back; a newcomer joins at the back, so nobody waits more than one round per item ahead.
    """

    def __init__(self) -> None:
        self._by_user: OrderedDict[str, deque[T]] = OrderedDict()  # insertion order is the rotation order
        self._owner: dict[T, str] = {}

    def __len__(self) -> int:
        return len(self._owner)

    def __contains__(self, item: object) -> bool:
        return item in self._owner

    def count(self, user: str) -> int:
        return len(self._by_user.get(user, ()))

    def push(self, user: str, item: T) -> None:
        if item in self._owner:
            raise ValueError("item is already queued")
        self._by_user.setdefault(user, deque()).append(item)
        self._owner[item] = user

    def pop(self) -> T:
        """The next item in round-robin order; raises IndexError when empty."""
        if not self._by_user:
            raise IndexError("pop from an empty FairQueue")
        user, items = next(iter(self._by_user.items()))
        item = items.popleft()
        del self._owner[item]
        del self._by_user[user]
        if items:
            self._by_user[user] = items  # re-inserting moves the user to the back of the rotation
        return item

    def remove(self, item: T) -> bool:
        """Take an item out wherever it is (a cancelled or expired job). False if it was not queued."""
        user = self._owner.pop(item, None)
        if user is None:
            return False
        items = self._by_user[user]
        items.remove(item)
        if not items:
            del self._by_user[user]
        return True

    def position(self, item: T) -> int:
        """1 for the item that pop() returns next, 2 for the one after, ...; 0 if the item is not queued."""
        user = self._owner.get(item)
        if user is None:
            return 0
        depth = self._by_user[user].index(item)  # the round in which this item is served
        ahead = 0
        before_user = True
        for other, items in self._by_user.items():
            if other == user:
                before_user = False
                continue
            # Every user is served once per round; users ahead in the rotation are also served in round `depth`.
            ahead += min(len(items), depth + 1 if before_user else depth)
        return ahead + depth + 1

    def __iter__(self) -> Iterator[T]:
        """Items in the order pop() would return them (does not modify the queue)."""
        queues = [list(items) for items in self._by_user.values()]
        for round_ in range(max((len(q) for q in queues), default=0)):
            for items in queues:
                if round_ < len(items):
                    yield items[round_]


__all__ = ["FairQueue"]
