"""Hostile requests to the page's API, sent for real over loopback: other origins, forms, missing tokens,
unnamed users and rebinding host names are refused, and nothing happens (no plugin unloaded, no reply read)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.client import TunesmithBot
from bot.playground import Playground
from tests.helpers.bot import StartTunesmith, answer
from tests.helpers.page import page_headers

EVIL = "http://evil.example"
UNLOAD = {"name": "plugins unload", "options": {"name": "settings"}}


async def fetch_page(http: aiohttp.ClientSession) -> str:
    async with http.get("/") as response:
        assert response.status == 200
        return await response.text()


async def post(http: aiohttp.ClientSession, path: str, body: Any, headers: dict[str, str], *, raw: bool = False) -> tuple[int, dict[str, Any]]:
    kwargs: dict[str, Any] = {"data": body} if raw else {"json": body}
    async with http.post(path, headers=headers, **kwargs) as response:
        return response.status, await response.json()


@pytest_asyncio.fixture
async def tunesmith(start_tunesmith: StartTunesmith, playground: Playground) -> TunesmithBot:
    """The core cogs with alice also a bot owner, so her unloading a plugin (owners only) is what the guard protects."""
    return await start_tunesmith(enabled_cogs=["plugins", "settings"], owner_ids=[playground.user("alice").id])


def interactions_since(pg: Playground, since: int) -> list[Any]:
    return [e for e in pg.events[since:] if e.kind == "interaction_create"]


async def test_a_cross_site_form_or_foreign_request_cannot_unload_a_plugin(playground: Playground, tunesmith: TunesmithBot) -> None:
    alice = str(playground.user("alice").id)
    async with aiohttp.ClientSession(playground.url) as http:
        good = page_headers(playground.url, await fetch_page(http))
        since = playground.event_count
        # What a page on another site can send without a preflight: a text/plain form whose body parses as JSON.
        form = json.dumps({"user": alice, **UNLOAD})
        status, body = await post(http, "/ui/command", form, {"Origin": EVIL, "Content-Type": "text/plain"}, raw=True)
        assert status == 403 and "own page" in body["error"]
        status, body = await post(http, "/ui/command", form, {"Origin": "null", "Content-Type": "text/plain"}, raw=True)
        assert status == 403
        # A foreign Origin with a JSON body, and no Origin at all.
        assert (await post(http, "/ui/command", {"user": alice, **UNLOAD}, {"Origin": EVIL}))[0] == 403
        assert (await post(http, "/ui/command", {"user": alice, **UNLOAD}, {}))[0] == 403
        # The right Origin but no token (or a guessed one).
        assert (await post(http, "/ui/command", {"user": alice, **UNLOAD}, {"Origin": playground.url}))[0] == 403
        status, body = await post(http, "/ui/command", {"user": alice, **UNLOAD}, {"Origin": playground.url, "X-Playground-Token": "guess"})
        assert status == 403 and "reload the playground page" in body["error"]
        # Everything right but the body type: the page's API takes only JSON.
        status, body = await post(http, "/ui/command", form, {**good, "Content-Type": "text/plain"}, raw=True)
        assert status == 415 and "only JSON" in body["error"]
        # Everything right but no user named: nobody is acted as, least of all the admin.
        status, body = await post(http, "/ui/command", UNLOAD, good)
        assert status == 400 and "choose a user" in body["error"]
        status, body = await post(http, "/ui/command", {"user": "", **UNLOAD}, good)
        assert status == 400 and "choose a user" in body["error"]
        assert interactions_since(playground, since) == []
        assert tunesmith.plugins.is_loaded("settings")

        # The page itself, with its token and as the user it names, still can.
        status, body = await post(http, "/ui/command", {"user": alice, **UNLOAD}, good)
        assert status == 200, body
    await playground.wait_for(lambda e: e.kind == "interaction_create" and e.data["interaction_id"] == body["interaction_id"], timeout=30)
    await playground.wait_for(lambda e: e.kind.startswith("message") and "Unloaded settings" in str(e.data), timeout=30, since=since)
    assert not tunesmith.plugins.is_loaded("settings")


async def test_another_origin_cannot_read_an_ephemeral_reply(playground: Playground, tunesmith: TunesmithBot) -> None:
    alice = str(playground.user("alice").id)
    ws_url = playground.url + f"/ui/ws?user={alice}"
    async with aiohttp.ClientSession(playground.url) as http:
        good = page_headers(playground.url, await fetch_page(http))
        token = good["X-Playground-Token"]
        listing = await answer(playground, "alice", "plugins list")
        assert listing["flags"] & 64  # ephemeral: only alice may see it

        # Reading alice's view of the channel from another origin, or without the token, is refused.
        for headers in ({"Origin": EVIL, "X-Playground-Token": token}, {"Origin": playground.url}, {}):
            status, body = await post(http, "/ui/state", {"user": alice}, headers)
            assert status == 403 and "messages" not in body
        status, body = await post(http, "/ui/state", {}, good)
        assert status == 400 and "choose a user" in body["error"] and "messages" not in body

        # So is the websocket: from another origin, with no Origin, without the token, or without a user.
        offers = ["tunesmith-playground", f"token.{token}"]
        for headers, protocols, url in (
            ({"Origin": EVIL}, offers, ws_url),
            ({}, offers, ws_url),
            ({"Origin": playground.url}, ["tunesmith-playground"], ws_url),
            ({"Origin": playground.url}, ["tunesmith-playground", "token.guess"], ws_url),
            ({"Origin": playground.url}, offers, playground.url + "/ui/ws"),
        ):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(url, headers=headers, protocols=protocols)
            assert refused.value.status in (400, 403)

        # The page itself sees alice's private reply, over HTTP and live on its websocket.
        status, body = await post(http, "/ui/state", {"user": alice}, good)
        assert status == 200 and listing["id"] in {m["id"] for m in body["messages"]}
        async with http.ws_connect(ws_url, headers={"Origin": playground.url}, protocols=offers) as socket:
            assert socket.protocol == "tunesmith-playground"
            again = await answer(playground, "alice", "plugins list")
            while True:
                update = await socket.receive_json(timeout=15)
                if update["type"] == "message" and update["message"]["id"] == again["id"]:
                    break


async def test_a_rebinding_host_name_gets_neither_the_page_nor_the_api(playground: Playground, tunesmith: TunesmithBot) -> None:
    alice = str(playground.user("alice").id)
    async with aiohttp.ClientSession(playground.url) as http:
        good = page_headers(playground.url, await fetch_page(http))
        since = playground.event_count
        # A DNS name pointed at 127.0.0.1: its pages are same-origin with themselves, so Origin alone does not help.
        rebound = "evil.example:" + str(playground.port)
        async with http.get("/", headers={"Host": rebound}) as response:
            assert response.status == 403 and good["X-Playground-Token"] not in await response.text()
        headers = {"Host": rebound, "Origin": f"http://{rebound}", "X-Playground-Token": good["X-Playground-Token"]}
        status, body = await post(http, "/ui/command", {"user": alice, **UNLOAD}, headers)
        assert status == 403 and "host name" in body["error"]
        # localhost is the playground's own name.
        async with http.get("/", headers={"Host": f"localhost:{playground.port}"}) as response:
            assert response.status == 200
    assert interactions_since(playground, since) == []
    assert tunesmith.plugins.is_loaded("settings")
