"""The page's JSON API and attachment serving, over plain HTTP."""

from __future__ import annotations

import aiohttp
from tests.helpers.playground_bots import PlaygroundTestBot

from bot.playground import Playground
from tests.helpers.page import page_headers


async def test_page_state_and_command_api(playground: Playground, start_bot) -> None:
    await start_bot(PlaygroundTestBot())
    bob = playground.user("bob")
    async with aiohttp.ClientSession(playground.url) as http:
        async with http.get("/") as response:
            page = await response.text()
            assert response.status == 200 and "/static/app.js" in page
        headers = page_headers(playground.url, page)
        async with http.get("/static/app.js") as response:
            assert response.status == 200 and "applyUpdate" in await response.text()
        async with http.post("/ui/state", json={"user": str(bob.id)}, headers=headers) as response:
            state = await response.json()
        assert state["me"] == str(bob.id) and state["bot"]["connected"]
        assert [u["name"] for u in state["users"] if u["admin"]] == ["alice"]
        paths = {c["path"] for c in state["commands"]}
        assert {"ping", "compose", "plugins reload"} <= paths
        async with http.post("/ui/command", json={"user": str(bob.id), "name": "compose", "options": {"style": "jazz"}}, headers=headers) as response:
            assert response.status == 400
            assert "missing required option(s): mood" in (await response.json())["error"]
        async with http.post("/ui/command", json={"user": str(bob.id), "name": "ping"}, headers=headers) as response:
            interaction_id = (await response.json())["interaction_id"]
    callback = await playground.wait_for(lambda e: e.kind == "interaction_callback" and e.data["interaction_id"] == interaction_id)
    assert callback.data["callback"]["type"] == 4


async def test_attachments_support_byte_ranges_and_unknown_api_routes_answer_in_discord_format(playground: Playground, start_bot) -> None:
    await start_bot(PlaygroundTestBot())
    data = bytes(range(256)) * 4
    reply = await (await playground.run_command("carol", "echo", attachments=[("clip.wav", data)])).followup()
    url = reply["attachments"][0]["url"]
    assert reply["attachments"][0]["content_type"] == "audio/wav"
    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers={"Range": "bytes=10-19"}) as response:
            assert response.status == 206 and await response.read() == data[10:20]
            assert response.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
        async with http.get(url, headers={"Range": "bytes=-4"}) as response:
            assert await response.read() == data[-4:]
        async with http.get(url.replace(url.rsplit("/", 2)[1], "42")) as response:
            assert response.status == 404
        async with http.get(playground.api_base + "/nothing/here") as response:
            assert (response.status, await response.json()) == (404, {"message": "404: Not Found", "code": 0})


async def test_oldest_messages_are_evicted_with_their_attachments(playground_factory, start_bot) -> None:
    pg: Playground = await playground_factory(max_messages=3)
    await start_bot(PlaygroundTestBot(), pg)
    first = await (await pg.run_command("bob", "echo", attachments=[("a.mid", b"MThd")])).followup()
    for text in ("two", "three", "four"):
        await pg.send_message("bob", text)
    assert [m["content"] for m in pg.messages()] == ["two", "three", "four"]
    async with aiohttp.ClientSession() as http, http.get(first["attachments"][0]["url"]) as response:
        assert response.status == 404


async def test_the_page_switches_guilds_and_opens_dms(playground: Playground, start_bot) -> None:
    from test_playground_scopes import ScopeBot

    second = playground.add_guild("Second", members=["bob"])
    await start_bot(ScopeBot())
    bob, carol = str(playground.user("bob").id), str(playground.user("carol").id)
    async with aiohttp.ClientSession(playground.url) as http:
        async with http.get("/") as response:
            headers = page_headers(playground.url, await response.text())

        async def ui(path: str, body: dict) -> tuple[int, dict]:
            async with http.post(path, json=body, headers=headers) as response:
                return response.status, await response.json()

        status, state = await ui("/ui/state", {"user": bob})
        places = {(p["guild"]["name"] if p["guild"] else None, p["kind"], p["name"]) for p in state["places"]}
        assert {("Playground", "channel", "general"), ("Second", "channel", "general"), (None, "dm", "Tunesmith")} <= places
        dm = next(p["id"] for p in state["places"] if p["kind"] == "dm")

        # In the second guild and in the DM the page shows what Discord offers there, and acts there.
        status, there = await ui("/ui/state", {"user": bob, "channel": str(second.default_channel.id)})
        assert status == 200 and there["guild"]["name"] == "Second" and "where" in {c["path"] for c in there["commands"]}
        status, in_dm = await ui("/ui/state", {"user": bob, "channel": dm})
        paths = {c["path"] for c in in_dm["commands"]}
        assert in_dm["guild"]["name"] == "Direct messages" and "where" in paths and "admin" not in paths
        status, started = await ui("/ui/command", {"user": bob, "channel": dm, "name": "where"})
        assert status == 200
        reply = await playground.wait_for(lambda e: e.kind == "message_create" and e.data["message"]["content"].startswith("dm channel"))
        assert reply.data["message"]["channel_id"] == dm
        status, refused = await ui("/ui/command", {"user": bob, "channel": dm, "name": "admin"})
        assert status == 400 and "not offered in DMs" in refused["error"]

        # Another user can neither open bob's DM nor a guild they are not in.
        status, denied = await ui("/ui/state", {"user": carol, "channel": dm})
        assert status == 400 and "cannot see that channel" in denied["error"]
        status, denied = await ui("/ui/message", {"user": carol, "channel": str(second.default_channel.id), "content": "hi"})
        assert status == 400
