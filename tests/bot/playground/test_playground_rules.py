"""Discord's rules, enforced the way Discord does: deadlines, double acknowledgement, size limits and
malformed payloads, answered with Discord's status codes and JSON error codes."""

from __future__ import annotations

import asyncio
import io

import aiohttp
import discord
import pytest
from tests.helpers.playground_bots import PlaygroundTestBot

from bot.playground import InteractionFailed, Playground


async def test_late_acknowledgement_gets_unknown_interaction(playground_factory, start_bot) -> None:
    pg: Playground = await playground_factory(ack_deadline=0.3)
    bot = await start_bot(PlaygroundTestBot(reply_delay=0.6), pg)
    handle = await pg.run_command(pg.user("bob"), "slow")
    with pytest.raises(InteractionFailed, match=r"did not acknowledge within 0\.3 s"):
        await handle.acknowledged(timeout=5)
    await pg.wait_for(lambda e: e.kind == "interaction_timeout")
    for _ in range(50):
        if bot.late_errors:
            break
        await asyncio.sleep(0.05)
    [error] = bot.late_errors
    assert isinstance(error, discord.NotFound)
    assert (error.status, error.code, error.text) == (404, 10062, "Unknown interaction")
    with pytest.raises(InteractionFailed):
        await handle.followup(timeout=1)


async def test_second_callback_is_already_acknowledged(playground: Playground, start_bot) -> None:
    bot = await start_bot(PlaygroundTestBot())
    handle = await playground.run_command(playground.user("bob"), "twice")
    assert (await handle.followup())["content"] == "one"
    for _ in range(50):
        if bot.late_errors:
            break
        await asyncio.sleep(0.05)
    [error] = bot.late_errors
    assert (error.status, error.code) == (400, 40060)
    assert error.text == "Interaction has already been acknowledged."


async def test_followup_after_the_window_fails(playground_factory, start_bot) -> None:
    pg: Playground = await playground_factory(followup_window=0.4)
    bot = await start_bot(PlaygroundTestBot(reply_delay=0.6), pg)
    handle = await pg.run_command(pg.user("alice"), "later")
    assert (await handle.acknowledged())["type"] == 5
    for _ in range(60):
        if bot.followup_errors:
            break
        await asyncio.sleep(0.05)
    [error] = bot.followup_errors
    assert (error.status, error.code, error.text) == (401, 50027, "Invalid Webhook Token")


async def test_oversize_upload_is_rejected(playground_factory, start_bot) -> None:
    pg: Playground = await playground_factory(upload_limit=64 * 1024)
    bot = await start_bot(PlaygroundTestBot(), pg)
    channel = bot.get_channel(pg.channel_id)
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(file=discord.File(io.BytesIO(b"x" * (64 * 1024 + 1)), "big.mp3"))
    assert (caught.value.status, caught.value.code, caught.value.text) == (413, 40005, "Request entity too large")
    sent = await channel.send(file=discord.File(io.BytesIO(b"y" * 1000), "small.mp3"))
    assert sent.attachments[0].content_type == "audio/mpeg"
    assert await sent.attachments[0].read() == b"y" * 1000


async def test_malformed_payloads_get_invalid_form_body(playground: Playground, start_bot) -> None:
    bot = await start_bot(PlaygroundTestBot())
    channel = bot.get_channel(playground.channel_id)
    with pytest.raises(discord.HTTPException) as too_long:
        await channel.send("x" * 2001)
    assert (too_long.value.status, too_long.value.code) == (400, 50035)
    assert "content" in str(too_long.value) and "2000 or fewer" in str(too_long.value)
    rows = [{"type": 1, "components": [{"type": 2, "style": 1, "label": "b", "custom_id": f"b{i}"}]} for i in range(6)]
    headers = {"Authorization": f"Bot {playground.bot_token}"}
    url = f"{playground.api_base}/channels/{playground.channel_id}/messages"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"content": "hi", "components": rows}, headers=headers) as response:
            assert response.status == 400
            body = await response.json()
        assert body["code"] == 50035 and body["message"] == "Invalid Form Body"
        assert body["errors"]["components"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
        embeds = [{"title": str(i)} for i in range(11)]  # discord.py's send() refuses this itself
        async with session.post(url, json={"embeds": embeds}, headers=headers) as response:
            body = await response.json()
        assert body["code"] == 50035 and body["errors"]["embeds"]["_errors"][0]["message"] == "Must be 10 or fewer in length."
        async with session.post(url, json={"content": 12, "embeds": "no"}, headers=headers) as response:
            body = await response.json()
        assert set(body["errors"]) == {"content", "embeds"}
        async with session.post(url, data=b"{not json", headers={**headers, "Content-Type": "application/json"}) as response:
            assert (response.status, (await response.json())["code"]) == (400, 50109)
        async with session.post(url, json={}, headers=headers) as response:
            assert (response.status, (await response.json())["code"]) == (400, 50006)
        async with session.get(url, headers={"Authorization": "Bot wrong"}) as response:
            assert response.status == 401


async def test_unknown_message_and_channel(playground: Playground, start_bot) -> None:
    bot = await start_bot(PlaygroundTestBot())
    channel = bot.get_channel(playground.channel_id)
    with pytest.raises(discord.NotFound) as message_error:
        await channel.fetch_message(1234)
    assert message_error.value.code == 10008
    with pytest.raises(discord.NotFound) as channel_error:
        await bot.http.send_message(999, params=discord.http.handle_message_parameters(content="hi"))
    assert channel_error.value.code == 10003


async def test_channel_messages_create_edit_delete(playground: Playground, start_bot) -> None:
    bot = await start_bot(PlaygroundTestBot())
    channel = bot.get_channel(playground.channel_id)
    sent = await channel.send("first draft", embed=discord.Embed(title="Piece", description="calm jazz"))
    assert (await channel.fetch_message(sent.id)).embeds[0].title == "Piece"
    edited = await sent.edit(content="final")
    assert edited.content == "final" and playground.messages()[-1]["content"] == "final"
    assert playground.messages()[-1]["edited_timestamp"] is not None
    await edited.delete()
    assert playground.messages() == []
    await playground.wait_for(lambda e: e.kind == "message_delete" and e.data["message_id"] == str(sent.id))
