"""Which rating reactions each member has on one track message, in the order they were added.

The rule: a member's rating is the score of their latest rating reaction still on the message; with none, no
rating. Reactions read through the API come without times, so a read keeps the order already known and puts
reactions it did not know of before the known ones, lowest score first: the rating already recorded stays
while its reaction does, and among reactions of unknown order the highest score counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class TrackLedger:
    def __init__(self, stored: Mapping[int, int], generation: int | None) -> None:
        """`stored`: the ratings recorded for the track, taken as one reaction each until a read says otherwise.
        `generation`: the gateway session whose events this ledger has all seen (None: not known to be complete)."""
        self._present: dict[int, list[int]] = {user_id: [score] for user_id, score in stored.items()}
        self.generation = generation

    def add(self, user_id: int, score: int) -> None:
        scores = self._present.setdefault(user_id, [])
        if score in scores:
            scores.remove(score)
        scores.append(score)

    def remove(self, user_id: int, score: int) -> None:
        scores = self._present.get(user_id)
        if scores is not None and score in scores:
            scores.remove(score)
            if not scores:
                del self._present[user_id]

    def rating(self, user_id: int) -> int | None:
        scores = self._present.get(user_id)
        return scores[-1] if scores else None

    def users(self) -> set[int]:
        return set(self._present)

    def merge_read(self, on_message: Mapping[int, Iterable[int]], generation: int) -> None:
        """Make the ledger equal to the reactions `on_message` (member -> scores) read through the API."""
        for user_id in set(self._present) | set(on_message):
            there = set(on_message.get(user_id, ()))
            kept = [score for score in self._present.get(user_id, []) if score in there]
            merged = sorted(there - set(kept)) + kept
            if merged:
                self._present[user_id] = merged
            else:
                self._present.pop(user_id, None)
        self.generation = generation

    def is_simple(self) -> bool:
        """True when every member has at most one rating reaction: the stored ratings alone say everything."""
        return all(len(scores) <= 1 for scores in self._present.values())
