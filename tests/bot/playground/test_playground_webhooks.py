"""The interaction webhook (@original and follow-up messages), autocomplete, and raw protocol errors."""

from __future__ import annotations

import json

import aiohttp
import discord
import pytest
from tests.helpers.playground_bots import PlaygroundTestBot

from bot.playground import Playground


async def test_original_response_edit_fetch_and_delete(playground: Playground, start_bot) -> None:
    await start_bot(PlaygroundTestBot())
    handle = await playground.run_command(playground.user("bob"), "revise")
    contents = [(await handle.followup())["content"] for _ in range(4)]
    assert contents == ["draft", "draft, revised", "a note", "a note, edited"]
    await playground.wait_for(lambda e: e.kind == "message_delete")
    assert [m["content"] for m in playground.messages()] == ["a note, edited"]


async def test_autocomplete_suggestions(playground: Playground, start_bot) -> None:
    await start_bot(PlaygroundTestBot())
    choices = await playground.autocomplete(playground.user("carol"), "instrument", {"name": "pi"}, focused="name")
    assert choices == [{"name": "Piano", "value": "piano"}, {"name": "Pipa", "value": "pipa"}]


async def test_webhook_and_callback_errors(playground: Playground, start_bot) -> None:
    await start_bot(PlaygroundTestBot())
    handle = await playground.run_command(playground.user("alice"), "ping")
    await handle.followup()
    webhook = f"{playground.api_base}/webhooks/{playground.application_id}/{handle.token}"
    async with aiohttp.ClientSession() as session:
        async with session.patch(f"{webhook}/messages/123", json={"content": "x"}) as response:
            assert (response.status, (await response.json())["code"]) == (404, 10008)
        async with session.post(f"{playground.api_base}/webhooks/{playground.application_id}/not-a-token", json={"content": "x"}) as response:
            assert (response.status, (await response.json())["code"]) == (404, 10015)
        async with session.post(f"{playground.api_base}/interactions/{handle.id}/wrong-token/callback", json={"type": 4}) as response:
            assert (response.status, (await response.json())["code"]) == (404, 10062)
        async with session.post(webhook + "?wait=true", json={"content": "x" * 2001}) as response:
            assert (response.status, (await response.json())["code"]) == (400, 50035)
        async with session.post(webhook + "?wait=true", json={"content": "extra", "flags": 64}) as response:
            extra = await response.json()
        assert extra["flags"] & 64 and extra["content"] == "extra"
    assert (await handle.followup())["id"] == extra["id"]
    assert [m["content"] for m in playground.messages()] == ["pong"]
    assert [m["content"] for m in playground.messages(as_user="alice")] == ["pong", "extra"]


async def test_wrong_token_cannot_log_in(playground: Playground) -> None:
    from bot.playground import configure_discord

    configure_discord(playground.url)
    bot = PlaygroundTestBot()
    with pytest.raises(discord.LoginFailure):
        await bot.login("not-the-token")
    await bot.close()


async def _frames(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[dict]:
    return [json.loads((await ws.receive(timeout=5)).data) for _ in range(count)]


async def test_raw_gateway_protocol(playground: Playground) -> None:
    url = playground.url.replace("http", "ws") + "/gateway?v=10&encoding=json"
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            [hello] = await _frames(ws, 1)
            assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 41250
            await ws.send_json({"op": 1, "d": None})
            assert (await _frames(ws, 1))[0]["op"] == 11
            await ws.send_json({"op": 8, "d": {"guild_id": str(playground.guild_id)}})
            closing = await ws.receive(timeout=5)
            assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 4003)
        async with session.ws_connect(url) as ws:
            await _frames(ws, 1)
            await ws.send_json({"op": 2, "d": {"token": "wrong", "intents": 0, "properties": {}}})
            assert (await ws.receive(timeout=5)).data == 4004
        async with session.ws_connect(url) as ws:
            await _frames(ws, 1)
            await ws.send_json({"op": 2, "d": {"token": playground.bot_token, "intents": 1, "properties": {}}})
            ready, guild = await _frames(ws, 2)
            assert (ready["t"], ready["s"], guild["t"], guild["s"]) == ("READY", 1, "GUILD_CREATE", 2)
            assert ready["d"]["application"]["id"] == str(playground.application_id)
            # Without the GUILD_MEMBERS intent, Discord only includes the bot's own member.
            assert [m["user"]["username"] for m in guild["d"]["members"]] == ["Tunesmith"]
            roles = {r["name"]: int(r["permissions"]) for r in guild["d"]["roles"]}
            assert roles["Server Admin"] & (1 << 5)
            session_id = ready["d"]["session_id"]
        # A resume from an old sequence number replays what was missed, then RESUMED.
        async with session.ws_connect(url) as ws:
            await _frames(ws, 1)
            await ws.send_json({"op": 6, "d": {"token": playground.bot_token, "session_id": session_id, "seq": 1}})
            replayed, resumed = await _frames(ws, 2)
            assert (replayed["t"], replayed["s"], resumed["t"]) == ("GUILD_CREATE", 2, "RESUMED")
        async with session.ws_connect(url) as ws:
            await _frames(ws, 1)
            await ws.send_json({"op": 6, "d": {"token": playground.bot_token, "session_id": "nope", "seq": 1}})
            invalid = (await _frames(ws, 1))[0]
            assert (invalid["op"], invalid["d"]) == (9, False)
