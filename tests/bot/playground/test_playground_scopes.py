"""Several guilds, DMs, threads, permission overwrites, command contexts and permissions, and sharding,
driven with the real discord.py client."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.playground import Playground, PlaygroundError
from tests.helpers.playground import PlaygroundFactory, StartBot

SEND_MESSAGES, VIEW_CHANNEL, ADD_REACTIONS, ATTACH_FILES = 1 << 11, 1 << 10, 1 << 6, 1 << 15


class ScopeBot(commands.Bot):
    """Global commands only, as a public bot has: where each runs, a guild-only admin command, a DM sender."""

    def __init__(self, *, intents: discord.Intents | None = None, **kwargs: Any) -> None:
        if intents is None:
            intents = discord.Intents.default()
        super().__init__(command_prefix="!", intents=intents, guild_ready_timeout=0.05, **kwargs)
        self.raw_reactions: list[discord.RawReactionActionEvent] = []
        self.seen_messages: list[discord.Message] = []
        self.post_errors: list[tuple[int, int]] = []

        @self.tree.command(description="Where this runs")
        @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
        async def where(interaction: discord.Interaction) -> None:
            channel = interaction.channel
            parent = getattr(channel, "parent_id", None)
            place = f"guild {interaction.guild_id}" if interaction.guild_id else "dm"
            kind = type(channel).__name__
            perms = interaction.permissions.manage_guild
            await interaction.response.send_message(f"{place} channel {interaction.channel_id} {kind} parent {parent} manage {perms}")

        @self.tree.command(description="Admins only")
        @app_commands.guild_only()
        @app_commands.default_permissions(manage_guild=True)
        async def admin(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("admin ok")

        @self.tree.command(description="The bot sends you a DM")
        @app_commands.guild_only()
        async def poke(interaction: discord.Interaction) -> None:
            await interaction.user.send("psst")
            await interaction.response.send_message("sent", ephemeral=True)

        @self.tree.command(description="The bot posts in this channel, with a file if asked")
        @app_commands.guild_only()
        async def post(interaction: discord.Interaction, file: bool = False) -> None:
            await interaction.response.defer(ephemeral=True)
            try:
                kwargs: dict[str, Any] = {"file": discord.File(__file__, filename="a.txt")} if file else {}
                await interaction.channel.send("posted", **kwargs)  # type: ignore[union-attr]
                await interaction.followup.send("posted ok", ephemeral=True)
            except discord.Forbidden as exc:
                self.post_errors.append((exc.status, exc.code))
                await interaction.followup.send(f"refused {exc.status} {exc.code} {exc.text}", ephemeral=True)

    async def setup_hook(self) -> None:
        await self.tree.sync()

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        self.raw_reactions.append(payload)

    async def on_message(self, message: discord.Message) -> None:
        self.seen_messages.append(message)


async def say(pg: Playground, user: str, command: str, options: dict[str, Any] | None = None, **kwargs: Any) -> str:
    handle = await pg.run_command(user, command, options or {}, **kwargs)
    await handle.acknowledged()
    return (await handle.followup(timeout=10))["content"]


async def until(predicate: Any, timeout: float = 5) -> None:
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def test_the_bot_is_in_several_guilds_each_with_its_own_members_and_admins(playground: Playground, start_bot: StartBot) -> None:
    second = playground.add_guild("Second", members={"alice": False, "carol": True})
    bot = await start_bot(ScopeBot())
    assert {g.id for g in bot.guilds} == {playground.guild_id, second.id}
    assert set(second.members) >= {playground.user("alice").id, playground.user("carol").id}
    assert second.admin_ids == {playground.user("carol").id}

    here = await say(playground, "alice", "where")
    there = await say(playground, "alice", "where", channel_id=second.default_channel.id)
    assert here.startswith(f"guild {playground.guild_id} ") and here.endswith("manage True")
    assert there.startswith(f"guild {second.id} channel {second.default_channel.id} TextChannel") and there.endswith("manage False")
    with pytest.raises(PlaygroundError, match="bob is not a member of Second"):
        await playground.run_command("bob", "where", channel_id=second.default_channel.id)

    # A guild made while the bot runs arrives as GUILD_CREATE.
    third = playground.add_guild("Third", members=["bob"])
    await until(lambda: bot.get_guild(third.id) is not None)


async def test_dms_offer_only_commands_allowed_there_and_stay_private(playground: Playground, start_bot: StartBot) -> None:
    intents = discord.Intents.default()  # includes DM messages and DM reactions
    bot = await start_bot(ScopeBot(intents=intents))
    alice_dm = playground.dm_channel_id("alice")
    assert (await say(playground, "alice", "where", channel_id=alice_dm)).startswith(f"dm channel {alice_dm} DMChannel")
    with pytest.raises(PlaygroundError, match="/admin is not offered in DMs"):
        await playground.run_command("alice", "admin", channel_id=alice_dm)
    with pytest.raises(PlaygroundError, match="another user's DM"):
        await playground.run_command("bob", "where", channel_id=alice_dm)

    # The bot opens a DM (POST /users/@me/channels) and writes there; only that user sees it.
    assert await say(playground, "bob", "poke") == "sent"
    bob_dm = playground.dm_channel_id("bob")
    assert [m["content"] for m in playground.messages(bob_dm, as_user="bob")] == ["psst"]
    with pytest.raises(PlaygroundError, match="cannot see"):
        playground.messages(bob_dm, as_user="alice")

    # Reactions and messages in a DM reach the bot with no guild.
    psst = playground.messages(bob_dm, as_user="bob")[0]
    await playground.add_reaction("bob", psst, "👍")
    await until(lambda: bool(bot.raw_reactions))
    assert bot.raw_reactions[0].guild_id is None and bot.raw_reactions[0].channel_id == bob_dm
    await playground.send_message("bob", "hello bot", channel_id=bob_dm)
    await until(lambda: any(m.channel.id == bob_dm for m in bot.seen_messages))
    assert isinstance(next(m for m in bot.seen_messages if m.channel.id == bob_dm).channel, discord.DMChannel)


async def test_dm_reactions_need_the_direct_message_reactions_intent(playground: Playground, start_bot: StartBot) -> None:
    intents = discord.Intents.none()
    intents.guilds = intents.guild_reactions = True
    bot = await start_bot(ScopeBot(intents=intents))
    await say(playground, "bob", "poke")
    psst = playground.messages(playground.dm_channel_id("bob"), as_user="bob")[0]
    guild_message = await playground.send_message("carol", "hi")
    await playground.add_reaction("bob", psst, "👍")
    await playground.add_reaction("bob", guild_message, "👍")
    await until(lambda: bool(bot.raw_reactions))
    assert [r.message_id for r in bot.raw_reactions] == [int(guild_message["id"])]


async def test_default_member_permissions_hide_commands_unless_the_guild_overrides_them(playground: Playground, start_bot: StartBot) -> None:
    await start_bot(ScopeBot())
    assert await say(playground, "alice", "admin") == "admin ok"
    with pytest.raises(PlaygroundError, match="does not show /admin to bob"):
        await playground.run_command("bob", "admin")
    playground.set_command_permission(playground.guild_id, "admin", "bob", True)
    assert await say(playground, "bob", "admin") == "admin ok"
    playground.set_command_permission(playground.guild_id, "admin", playground.guild_id, True)  # @everyone
    assert await say(playground, "carol", "admin") == "admin ok"


async def test_threads_are_channels_under_a_parent(playground: Playground, start_bot: StartBot) -> None:
    bot = await start_bot(ScopeBot())
    thread_id = playground.add_thread(playground.channel_id, "jam session", owner="bob")
    await until(lambda: bot.get_channel(thread_id) is not None)
    thread = bot.get_channel(thread_id)
    assert isinstance(thread, discord.Thread) and thread.parent_id == playground.channel_id
    answer = await say(playground, "bob", "where", channel_id=thread_id)
    assert answer.startswith(f"guild {playground.guild_id} channel {thread_id} Thread parent {playground.channel_id}")
    assert await say(playground, "bob", "post", channel_id=thread_id) == "posted ok"
    assert [m["content"] for m in playground.messages(thread_id)][-1] == "posted"
    assert "posted" not in [m["content"] for m in playground.messages()]


async def test_permission_overwrites_refuse_the_bot_as_discord_does(playground: Playground, start_bot: StartBot) -> None:
    bot = await start_bot(ScopeBot())
    me = playground.bot_user.id
    playground.set_overwrite(playground.channel_id, me, deny=ATTACH_FILES)
    assert await say(playground, "bob", "post", {"file": True}) == "refused 403 50013 Missing Permissions"
    assert await say(playground, "bob", "post") == "posted ok"
    playground.set_overwrite(playground.channel_id, me, deny=SEND_MESSAGES)
    assert await say(playground, "bob", "post") == "refused 403 50013 Missing Permissions"

    # Reactions: the bot needs Add Reactions for a new emoji; members too.
    message = await playground.send_message("carol", "react to me")
    channel = bot.get_partial_messageable(playground.channel_id)
    playground.set_overwrite(playground.channel_id, me, deny=ADD_REACTIONS)
    with pytest.raises(discord.Forbidden) as refused:
        await channel.get_partial_message(int(message["id"])).add_reaction("🎵")
    assert refused.value.code == 50013
    playground.set_overwrite(playground.channel_id, playground.guild_id, deny=ADD_REACTIONS)  # @everyone
    with pytest.raises(PlaygroundError, match="may not add reactions"):
        await playground.add_reaction("bob", message, "🎵")

    # A channel the bot cannot see sends it no events, and its endpoints answer 50001 Missing Access.
    playground.set_overwrite(playground.channel_id, me, deny=VIEW_CHANNEL)
    before = len(bot.seen_messages)
    await playground.send_message("carol", "secret")
    with pytest.raises(discord.Forbidden) as hidden:
        await channel.send("hello?")
    assert hidden.value.code == 50001
    assert len(bot.seen_messages) == before


async def test_a_shard_with_too_many_guilds_is_closed_with_4011(playground_factory: PlaygroundFactory, start_bot: StartBot) -> None:
    pg = await playground_factory(max_guilds_per_shard=1)
    pg.add_guild("Second")
    with pytest.raises(discord.ConnectionClosed) as closed:
        await start_bot(ScopeBot(), pg, timeout=10)
    assert closed.value.code == 4011


async def test_an_identified_shard_receives_only_its_guilds(playground_factory: PlaygroundFactory, start_bot: StartBot) -> None:
    pg = await playground_factory()
    for name in ("Second", "Third", "Fourth"):
        pg.add_guild(name)
    shard_id = (pg.guild_id >> 22) % 2
    bot = await start_bot(ScopeBot(shard_id=shard_id, shard_count=2), pg)
    assert {g.id for g in bot.guilds} == {g.id for g in pg.guilds if (g.id >> 22) % 2 == shard_id}
    assert bot.get_guild(pg.guild_id) is not None


async def test_rate_limits_answer_with_discords_headers_and_429s(playground_factory: PlaygroundFactory, start_bot: StartBot) -> None:
    from bot.playground.ratelimits import RateLimits, RouteLimit

    limits = RateLimits(global_per_second=1000, routes={("POST", "/channels/{channel_id}/messages"): RouteLimit(2, 0.5)})
    pg = await playground_factory(rate_limits=limits)
    bot = await start_bot(ScopeBot(), pg)
    url = f"{pg.api_base}/channels/{pg.channel_id}/messages"
    headers = {"Authorization": f"Bot {pg.bot_token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http:
        statuses = []
        for n in range(3):
            async with http.post(url, json={"content": f"raw {n}"}, headers=headers) as response:
                statuses.append(response.status)
                if response.status == 200:
                    assert response.headers["X-RateLimit-Limit"] == "2" and "X-RateLimit-Bucket" in response.headers
                    assert float(response.headers["X-RateLimit-Reset-After"]) <= 0.5
                else:
                    body = await response.json()
                    assert response.headers["X-RateLimit-Scope"] == "user" and response.headers["X-RateLimit-Remaining"] == "0"
                    assert body["global"] is False and 0 < body["retry_after"] <= 0.5
        assert statuses == [200, 200, 429]
        # Another channel is another bucket.
        second = pg.add_guild("Second")
        async with http.post(f"{pg.api_base}/channels/{second.default_channel.id}/messages", json={"content": "x"}, headers=headers) as response:
            assert response.status == 200

    # discord.py itself waits out the bucket (from the headers, or the 429's retry_after) and every message arrives.
    channel = bot.get_partial_messageable(pg.channel_id)
    await asyncio.gather(*(channel.send(f"burst {n}") for n in range(5)))
    assert sorted(m["content"] for m in pg.messages() if m["content"].startswith("burst")) == [f"burst {n}" for n in range(5)]


async def test_the_global_rate_limit_is_marked_global(playground_factory: PlaygroundFactory) -> None:
    from bot.playground.ratelimits import RateLimits

    pg = await playground_factory(rate_limits=RateLimits(global_per_second=2))
    headers = {"Authorization": f"Bot {pg.bot_token}"}
    async with aiohttp.ClientSession() as http:
        answers = []
        for _ in range(3):
            async with http.get(f"{pg.api_base}/users/@me", headers=headers) as response:
                answers.append((response.status, response.headers.get("X-RateLimit-Global"), response.headers.get("Via")))
                if response.status == 429:
                    assert (await response.json())["global"] is True
    assert answers[:2] == [(200, None, None), (200, None, None)] and answers[2] == (429, "true", "1.1 google")
    assert any(e.kind == "rate_limited" and e.data["global_"] for e in pg.events)


async def test_two_shards_connected_at_once_each_receive_their_own_guilds_and_interactions(playground_factory: PlaygroundFactory, start_bot: StartBot) -> None:
    from tests.helpers.playground import add_guilds_on_shards

    pg = await playground_factory()
    by_shard = await add_guilds_on_shards(pg, 2, 2)
    bots = [await start_bot(ScopeBot(shard_id=shard, shard_count=2), pg) for shard in (0, 1)]
    received: dict[int, list[int | None]] = {0: [], 1: []}
    for shard, bot in enumerate(bots):

        async def record(interaction: discord.Interaction, shard: int = shard) -> None:
            received[shard].append(interaction.guild_id)

        bot.add_listener(record, "on_interaction")
    await bots[0].tree.sync()
    for shard, bot in enumerate(bots):
        assert {g.id for g in bot.guilds} == set(by_shard[shard])  # the first shard's session was not superseded
    assert set(pg.state.gateway.shard_sessions) == {(0, 2), (1, 2)}
    for shard in (0, 1):
        guild = pg.guild(by_shard[shard][-1])
        pg.add_member(guild, pg.users[0])
        handle = await pg.run_command(pg.users[0], "where", channel_id=guild.default_channel.id)
        assert (await handle.followup())["content"].startswith(f"guild {guild.id}")
    handle = await pg.run_command(pg.users[0], "where", channel_id=pg.dm_channel_id(pg.users[0]))
    assert (await handle.followup())["content"].startswith("dm")
    assert received == {0: [by_shard[0][-1], None], 1: [by_shard[1][-1]]}  # DMs go to shard 0, as on Discord
