"""The Tunesmith bot in a process of its own, connected to a playground, for the tests that SIGKILL it.

    python -m tests.helpers.held_bot PLAYGROUND_URL BOT_TOKEN GUILD_ID DATA_DIR

Its engine accepts every job and never finishes one (each stays "Composing…"), so a test can kill the process
with jobs acknowledged and in flight, then restart the bot on the same data folder and see what it does with
them. It prints "ready" once the bot is connected, then runs until killed.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bot.client import TunesmithBot
from bot.playground import configure_discord
from tests.helpers.bot import make_settings
from tests.helpers.music import MUSIC_COGS


class HeldTicket:
    def __init__(self, job: Any) -> None:
        self.job = job
        self._never = asyncio.get_running_loop().create_future()

    def position(self) -> int:
        return 0

    async def positions(self) -> AsyncIterator[int]:
        yield 0
        await asyncio.shield(self._never)

    async def result(self) -> Any:
        return await asyncio.shield(self._never)

    def done(self) -> bool:
        return False

    def cancel(self) -> bool:
        return True


class HeldEngine:
    """An engine service whose jobs never finish."""

    model_version = "held"

    def __init__(self) -> None:
        self.submitted: list[Any] = []

    def submit(self, job: Any) -> HeldTicket:
        self.submitted.append(job)
        return HeldTicket(job)

    def stats(self) -> dict[str, Any]:
        return {"in_flight": len(self.submitted)}

    async def stop(self) -> None:
        pass


async def main(url: str, token: str, guild_id: int, data_dir: Path) -> None:
    configure_discord(url)
    settings = make_settings(data_dir, enabled_cogs=MUSIC_COGS, user_cooldown_seconds=0)
    bot = TunesmithBot(settings, sync_guild_id=guild_id, engine=HeldEngine(), guild_ready_timeout=0.05, reidentify_delay=0)
    running = asyncio.create_task(bot.start(token))
    await asyncio.sleep(0)  # start() sets the client up before wait_until_ready may be called
    await bot.wait_until_ready()
    print("ready", flush=True)
    await running


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])))
