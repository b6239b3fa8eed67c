"""The per-member limit on rating changes, and which changes it holds back.

A change over the limit is not written; the member's reactions are still followed, and their rating is written
from the reactions as they stand once the limit allows (nothing is lost, nothing needs reacting again). A member
is told once per burst (from the first held change until none is held), and never more often than
`NOTICE_INTERVAL_S`, so the notice itself cannot become spam.
"""

from __future__ import annotations

import time

from discord import app_commands

NOTICE_INTERVAL_S = 300.0
_PRUNE_ABOVE = 1024  # members with a limiter kept in memory before idle ones are dropped


class RatingRateLimit:
    """At most `rate` rating changes per `per` seconds for each member (discord.py's fixed-window Cooldown)."""

    def __init__(self, rate: int, per: float) -> None:
        self.rate = rate
        self.per = per
        self._members: dict[int, app_commands.Cooldown] = {}

    def try_change(self, user_id: int) -> float | None:
        """Count one change by the member: None when it may be written now, else the seconds until it may."""
        cooldown = self._members.get(user_id)
        if cooldown is None:
            if len(self._members) > _PRUNE_ABOVE:
                self._prune()
            cooldown = self._members[user_id] = app_commands.Cooldown(self.rate, self.per)
        return cooldown.update_rate_limit()

    def _prune(self) -> None:
        now = time.time()
        for user_id in [u for u, c in self._members.items() if c.get_tokens(now) == self.rate]:
            del self._members[user_id]


class HeldChanges:
    """Whose rating changes are held back, on which messages, and who has been told."""

    def __init__(self) -> None:
        self._held: dict[int, set[int]] = {}  # member -> message ids
        self._told: set[int] = set()  # members told during their current burst
        self._last_notice: dict[int, float] = {}

    def hold(self, user_id: int, message_id: int) -> bool:
        """Hold the member's change on the message; True when the member should be told now."""
        self._held.setdefault(user_id, set()).add(message_id)
        if user_id in self._told:
            return False
        self._told.add(user_id)
        now = time.monotonic()
        if len(self._last_notice) > _PRUNE_ABOVE:
            self._last_notice = {u: at for u, at in self._last_notice.items() if now - at < NOTICE_INTERVAL_S}
        last = self._last_notice.get(user_id)
        if last is not None and now - last < NOTICE_INTERVAL_S:
            return False
        self._last_notice[user_id] = now
        return True

    def release(self, user_id: int, message_id: int) -> None:
        """The member's rating on the message is written (or needs no change): their burst ends with the last one."""
        messages = self._held.get(user_id)
        if messages is None:
            return
        messages.discard(message_id)
        if not messages:
            del self._held[user_id]
            self._told.discard(user_id)

    def on_message(self, message_id: int) -> set[int]:
        return {user_id for user_id, messages in self._held.items() if message_id in messages}

    def any_on(self, message_id: int) -> bool:
        return any(message_id in messages for messages in self._held.values())
