"""Discord's limits the playground enforces on what a bot sends: embed footers, blank field values,
select value counts, the 25 MiB request and the 10-file cap, each answered as Discord answers."""

from __future__ import annotations

import io
from typing import Any

import aiohttp
import discord
import pytest

from bot.playground import Playground
from tests.bot.playground.test_playground_scopes import ScopeBot
from tests.helpers.playground import PlaygroundFactory, StartBot


async def post_raw(pg: Playground, data: Any, *, json_body: bool = False) -> tuple[int, dict[str, Any]]:
    url = f"{pg.api_base}/channels/{pg.channel_id}/messages"
    headers = {"Authorization": f"Bot {pg.bot_token}"}
    async with aiohttp.ClientSession() as http:
        kwargs = {"json": data} if json_body else {"data": data}
        async with http.post(url, headers=headers, **kwargs) as response:
            return response.status, await response.json()


async def test_embed_footers_and_blank_field_values_are_refused(playground: Playground, start_bot: StartBot) -> None:
    bot = await start_bot(ScopeBot())
    channel = bot.get_partial_messageable(playground.channel_id)
    long_footer = discord.Embed(title="t").set_footer(text="x" * 2049)
    with pytest.raises(discord.HTTPException) as footer:
        await channel.send(embed=long_footer)
    assert (footer.value.status, footer.value.code) == (400, 50035) and "footer" in str(footer.value)
    with pytest.raises(discord.HTTPException) as blank:
        await channel.send(embed=discord.Embed(title="t").add_field(name="Styles", value="   "))
    assert blank.value.code == 50035 and "value" in str(blank.value)
    await channel.send(embed=discord.Embed(title="t").set_footer(text="x" * 2048).add_field(name="Styles", value="jazz"))


async def test_select_value_counts_are_checked(playground: Playground) -> None:
    def select(**values: Any) -> dict[str, Any]:
        component = {"type": 3, "custom_id": "pick", "options": [{"label": "a", "value": "a"}], **values}
        return {"content": "pick", "components": [{"type": 1, "components": [component]}]}

    status, body = await post_raw(playground, select(min_values=2, max_values=1), json_body=True)
    assert status == 400 and body["code"] == 50035 and "min_values" in body["errors"]["components"]["0"]["components"]["0"]
    status, body = await post_raw(playground, select(max_values=0), json_body=True)
    assert status == 400 and "max_values" in body["errors"]["components"]["0"]["components"]["0"]
    status, body = await post_raw(playground, select(required=True, min_values=0), json_body=True)
    assert status == 400 and "min_values" in body["errors"]["components"]["0"]["components"]["0"]
    status, _ = await post_raw(playground, select(min_values=0, max_values=1), json_body=True)
    assert status == 200


async def test_more_than_ten_files_and_requests_over_25_mib_are_refused(playground_factory: PlaygroundFactory) -> None:
    pg = await playground_factory(upload_limit=20 * 1024 * 1024)
    eleven = aiohttp.FormData()
    eleven.add_field("payload_json", '{"content": "files"}', content_type="application/json")
    for n in range(11):
        eleven.add_field(f"files[{n}]", io.BytesIO(b"x"), filename=f"{n}.txt")
    status, body = await post_raw(pg, eleven)
    assert status == 400 and body["code"] == 50035 and "files" in body["errors"]

    big = aiohttp.FormData()
    big.add_field("payload_json", '{"content": "big"}', content_type="application/json")
    for n in range(2):  # each under the per-file limit, together over 25 MiB
        big.add_field(f"files[{n}]", io.BytesIO(b"x" * (13 * 1024 * 1024)), filename=f"{n}.bin")
    status, body = await post_raw(pg, big)
    assert status == 413 and body["code"] == 40005
    assert not pg.messages()
