"""Gateway behaviour: reactions both ways, plain messages, reconnect with RESUME and replay,
and a fresh IDENTIFY when the session cannot be resumed."""

from __future__ import annotations

import asyncio

import discord
import pytest
from tests.helpers.playground_bots import PlaygroundTestBot

from bot.playground import Playground


async def _wait(event: asyncio.Event, timeout: float = 5) -> None:
    await asyncio.wait_for(event.wait(), timeout)
    event.clear()


async def test_reactions_in_both_directions(playground: Playground, start_bot) -> None:
    bot = await start_bot(PlaygroundTestBot())
    message = await (await playground.run_command(playground.user("alice"), "ping")).followup()
    # The bot reacts over REST...
    channel = bot.get_channel(playground.channel_id)
    bot_message = await channel.fetch_message(int(message["id"]))
    await bot_message.add_reaction("👍")
    [reaction] = playground.messages()[-1]["reactions"]
    assert reaction["emoji"]["name"] == "👍" and reaction["count"] == 1
    await _wait(bot.reaction_event)  # Discord echoes the bot's own reaction too
    bot.raw_reactions.clear()
    # ...and a user's reaction reaches on_raw_reaction_add / _remove.
    bob = playground.user("bob")
    await playground.add_reaction(bob, message, "🎷")
    await _wait(bot.reaction_event)
    kind, payload = bot.raw_reactions[-1]
    assert (kind, payload.user_id, str(payload.emoji), payload.message_id) == ("add", bob.id, "🎷", int(message["id"]))
    assert payload.member is not None and payload.member.name == "bob"
    await playground.remove_reaction(bob, message, "🎷")
    await _wait(bot.reaction_event)
    assert bot.raw_reactions[-1][0] == "remove" and bot.raw_reactions[-1][1].user_id == bob.id
    await bot_message.remove_reaction("👍", bot.user)
    assert "reactions" not in playground.messages()[-1]
    for not_an_emoji in ("<:custom:123>", "thumbsup"):
        with pytest.raises(discord.HTTPException) as unknown:
            await bot_message.add_reaction(not_an_emoji)
        assert (unknown.value.status, unknown.value.code) == (400, 10014)


async def _seen_plain_message(playground: Playground, start_bot, intents: discord.Intents, text: str) -> discord.Message:
    seen: list[discord.Message] = []
    arrived = asyncio.Event()

    async def on_message(message: discord.Message) -> None:
        seen.append(message)
        arrived.set()

    bot = PlaygroundTestBot(intents=intents)
    bot.add_listener(on_message)
    await start_bot(bot)
    await playground.send_message("carol", text)
    await _wait(arrived)
    return seen[0]


async def test_plain_messages_without_content_intent_arrive_blank(playground: Playground, start_bot) -> None:
    message = await _seen_plain_message(playground, start_bot, discord.Intents.default(), "hello bot")
    assert message.author.name == "carol" and message.content == ""


async def test_plain_messages_with_content_intent_arrive_whole(playground: Playground, start_bot) -> None:
    intents = discord.Intents.default()
    intents.message_content = True
    message = await _seen_plain_message(playground, start_bot, intents, "hello bot")
    assert message.content == "hello bot"


async def test_dropped_gateway_resumes_and_replays_missed_events(playground: Playground, start_bot) -> None:
    bot = await start_bot(PlaygroundTestBot())
    session = playground.state.gateway.current
    since = playground.event_count
    await playground.drop_gateway()
    # While the socket is down, a command is run; its INTERACTION_CREATE is buffered and replayed.
    handle = await playground.run_command(playground.user("bob"), "ping")
    await _wait(bot.resumed, timeout=15)
    resume = await playground.wait_for(lambda e: e.kind == "gateway_resume", since=since)
    assert resume.data["session_id"] == session.session_id
    assert (await handle.followup(timeout=10))["content"] == "pong"
    reply = await (await playground.run_command(playground.user("bob"), "ping")).followup()
    assert reply["content"] == "pong"


async def test_unresumable_session_identifies_afresh(playground: Playground, start_bot) -> None:
    bot = await start_bot(PlaygroundTestBot())
    old_session = playground.state.gateway.current.session_id
    since = playground.event_count
    await playground.drop_gateway(resumable=False)
    identify = await playground.wait_for(lambda e: e.kind == "gateway_identify", since=since, timeout=20)
    assert identify.data["session_id"] != old_session
    await playground.wait_until_connected(timeout=10)
    await asyncio.wait_for(bot.wait_until_ready(), 10)
    reply = await (await playground.run_command(playground.user("carol"), "ping")).followup()
    assert reply["content"] == "pong"
