"""The reaction-users endpoint as Discord serves it: users by id, in pages of `limit` after the user id `after`."""

from __future__ import annotations

from urllib.parse import quote

import aiohttp
import discord
from tests.helpers.playground_bots import PlaygroundTestBot

from bot.playground import Playground


async def test_reaction_users_come_in_pages_by_user_id(playground: Playground, start_bot) -> None:
    bot = await start_bot(PlaygroundTestBot())
    message = await (await playground.run_command(playground.user("alice"), "ping")).followup()
    fans = [playground.add_user(f"fan{i:03}") for i in range(130)]
    for fan in reversed(fans):  # the order of reacting is not the order of the list
        await playground.add_reaction(fan, message, "🎷")
    channel = bot.get_channel(playground.channel_id)
    fetched = await channel.fetch_message(int(message["id"]))
    [reaction] = fetched.reactions
    assert reaction.count == 130
    # discord.py asks for 100, then for 30 after the 100th (and yields each page backwards).
    everyone = [user.id async for user in reaction.users()]
    by_id = sorted(fan.id for fan in fans)
    assert len(everyone) == 130 and sorted(everyone) == by_id
    page = [user.id async for user in reaction.users(limit=10, after=discord.Object(by_id[49]))]
    assert sorted(page) == by_id[50:60]
    assert [user.id async for user in reaction.users(type=discord.ReactionType.burst)] == []


async def test_reaction_users_query_is_checked(playground: Playground) -> None:
    message = await playground.send_message("bob", "react to me")
    for name in ("carol", "bob", "alice"):
        await playground.add_reaction(name, message, "🎷")
    url = f"{playground.api_base}/channels/{playground.channel_id}/messages/{message['id']}/reactions/{quote('🎷')}"
    headers = {"Authorization": f"Bot {playground.bot_token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(url) as response:
            assert response.status == 200
            assert [u["username"] for u in await response.json()] == ["alice", "bob", "carol"]  # by id; default limit 25
        async with session.get(url, params={"limit": "2"}) as response:
            assert [u["username"] for u in await response.json()] == ["alice", "bob"]
        for params, code in (({"limit": "0"}, "NUMBER_TYPE_MIN"), ({"limit": "101"}, "NUMBER_TYPE_MAX"), ({"after": "me"}, "NUMBER_TYPE_COERCE")):
            async with session.get(url, params=params) as response:
                body = await response.json()
                assert response.status == 400 and body["code"] == 50035, body
                [field] = body["errors"]
                assert body["errors"][field]["_errors"][0]["code"] == code
