"""Pytest fixtures and helpers for running a real discord.py bot against the playground.

tests/conftest.py registers this module as a pytest plugin, so every test can ask for the fixtures:

    async def test_ping(playground, start_bot):
        bot = await start_bot(MyBot())          # configured, started, READY, guild available
        handle = await playground.run_command(playground.users[0], "ping")
        assert (await handle.followup())["content"] == "pong"

Bots connect faster if built with `guild_ready_timeout=0.1` (discord.py waits that long after the
last GUILD_CREATE before READY; the default is 2 s).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

import discord
import pytest_asyncio

from bot.playground import Playground, configure_discord

ClientT = TypeVar("ClientT", bound=discord.Client)


class StartBot(Protocol):
    def __call__(self, bot: ClientT, playground: Playground | None = None, *, timeout: float = 20) -> Awaitable[ClientT]: ...


PlaygroundFactory = Callable[..., Awaitable[Playground]]


@asynccontextmanager
async def running_bot(playground: Playground, bot: ClientT, *, timeout: float = 20) -> AsyncIterator[ClientT]:
    """Point discord.py at `playground`, start `bot` as a task, wait until READY, and close it afterwards."""
    configure_discord(playground.url)
    task = asyncio.create_task(bot.start(playground.bot_token), name=f"bot-{bot.__class__.__name__}")
    try:
        await _wait_ready(bot, task, timeout)
        yield bot
    finally:
        await bot.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def _wait_ready(bot: discord.Client, task: asyncio.Task[Any], timeout: float) -> None:
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait({ready, task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        if task in done:
            task.result()  # re-raise why the bot stopped (bad token, setup_hook error, ...)
            raise RuntimeError("the bot stopped before it became ready")
        raise TimeoutError(f"the bot was not ready within {timeout} s")


@pytest_asyncio.fixture
async def playground_factory() -> AsyncIterator[PlaygroundFactory]:
    """Start playgrounds with custom limits, e.g. `await playground_factory(ack_deadline=0.5)`; all stop at teardown."""
    started: list[Playground] = []

    async def make(**kwargs: Any) -> Playground:
        pg = Playground(**kwargs)
        await pg.start()
        started.append(pg)
        return pg

    yield make
    for pg in reversed(started):
        await pg.stop()


# The `playground` fixture's acknowledgement deadline. Discord's is 3 s, and the bot acknowledges in milliseconds;
# but on a machine loaded by other work a test must not fail on speed: tests assert what the bot does (it
# acknowledges, before anything else, exactly once), and `tunesmith bench` measures how fast. The rule itself
# is tested with short deadlines (tests/bot/playground/test_playground_rules.py).
TEST_ACK_DEADLINE_S = 60.0


@pytest_asyncio.fixture
async def playground(playground_factory: PlaygroundFactory) -> Playground:
    """A started playground with Discord's default limits, but for a generous acknowledgement deadline."""
    return await playground_factory(ack_deadline=TEST_ACK_DEADLINE_S)


@pytest_asyncio.fixture
async def start_bot(playground: Playground) -> AsyncIterator[StartBot]:
    """`await start_bot(bot)` runs `bot` against the `playground` fixture (or the playground given) until the test ends."""
    default = playground
    async with contextlib.AsyncExitStack() as stack:

        async def start(bot: ClientT, playground: Playground | None = None, *, timeout: float = 20) -> ClientT:
            return await stack.enter_async_context(running_bot(playground or default, bot, timeout=timeout))

        yield start


from bot.scale import add_guilds_on_shards  # noqa: E402  (re-exported for the tests)
