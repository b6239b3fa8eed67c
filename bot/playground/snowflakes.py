"""Discord-style snowflake ids: milliseconds since the Discord epoch in the high bits, so
discord.py's `created_at` on every object the playground makes is a real, recent time."""

from __future__ import annotations

import time

DISCORD_EPOCH_MS = 1_420_070_400_000


class SnowflakeFactory:
    """Issues strictly increasing snowflakes (ordering by id must equal ordering by creation)."""

    def __init__(self) -> None:
        self._last = 0

    def __call__(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(candidate, self._last + 1)
        return self._last
