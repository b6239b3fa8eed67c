"""The web page at `/`: static files, a small JSON API for the page's actions, and a websocket that
pushes every change to the page as it happens, rendered for the user the page is acting as.

Every API call and the websocket go through `PageGuard` (bot/playground/page_guard.py): only the page the
playground served, with its token, may act, and only as the user it names."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web
from aiohttp.typedefs import Handler

from bot.playground import events as ev
from bot.playground.errors import APIError, InteractionFailed, PlaygroundError
from bot.playground.guild import PlaygroundUser
from bot.playground.interactions import InteractionHandle
from bot.playground.page_guard import SOCKET_PROTOCOL, TOKEN_META, PageGuard, json_error

if TYPE_CHECKING:
    from bot.playground.server import Playground

STATIC_DIR = Path(__file__).parent / "static"
TOKEN_MARK = f'<meta name="{TOKEN_META}" content="">'


class RequestRefused(Exception):
    """An API request that is answered with a JSON error before it does anything."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class WebUI:
    def __init__(self, playground: Playground) -> None:
        self.pg = playground
        self.state = playground.state
        self.guard = PageGuard(playground.host)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.index)
        app.router.add_static("/static/", STATIC_DIR, show_index=False)
        app.router.add_get("/ui/ws", self._guarded(self.websocket, websocket=True))
        for path, handler in (
            ("state", self.get_state), ("users", self.get_users), ("command", self.command), ("click", self.click),
            ("react", self.react), ("modal", self.modal), ("message", self.message), ("autocomplete", self.autocomplete),
        ):  # fmt: skip
            app.router.add_post(f"/ui/{path}", self._guarded(handler))

    def _guarded(self, handler: Handler, *, websocket: bool = False) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            refused = self.guard.api_refusal(request, websocket=websocket)
            if refused is not None:
                return refused
            try:
                return await handler(request)
            except RequestRefused as error:
                return json_error(error.status, str(error))

        return guarded

    async def index(self, request: web.Request) -> web.Response:
        refused = self.guard.page_refusal(request)
        if refused is not None:
            return refused
        page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
        # The token is only in the page's HTML: other sites cannot read it (no CORS), so they cannot use the API.
        page = page.replace(TOKEN_MARK, f'<meta name="{TOKEN_META}" content="{html.escape(self.guard.token)}">')
        return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    # --- reading ------------------------------------------------------------------------------

    def _viewer(self, ref: Any) -> PlaygroundUser:
        # Never a default user: a request that names nobody must not act as the first user, the admin.
        if ref in (None, ""):
            raise RequestRefused(400, "choose a user: name the simulated user to act as")
        try:
            return self.state.user(int(ref))
        except (PlaygroundError, ValueError, TypeError):
            raise RequestRefused(400, f"unknown user {ref!r}: choose one of the playground's users") from None

    def _users(self) -> list[dict[str, Any]]:
        return [{"id": str(u.id), "name": u.name, "admin": u.admin} for u in self.state.users]

    def _places(self, viewer: PlaygroundUser) -> list[dict[str, Any]]:
        """Where the viewer can go: the channels and threads they see in each of their guilds, then their DM with the bot."""
        places: list[dict[str, Any]] = []
        for guild in self.state.guilds.values():
            if viewer.id not in guild.members:
                continue
            for channel in guild.channels.values():
                if self.state.can_see(viewer, channel):
                    kind = "thread" if channel.is_thread else "channel"
                    places.append({"id": str(channel.id), "name": channel.name, "kind": kind, "topic": channel.topic, "guild": {"id": str(guild.id), "name": guild.name}})
        dm = self.state.dm_channel(viewer)
        places.append({"id": str(dm.id), "name": self.state.bot_user.name, "kind": "dm", "topic": "Only you and the bot see this", "guild": None})
        return places

    def _place(self, viewer: PlaygroundUser, ref: Any) -> dict[str, Any]:
        """The place the page asked for, if the viewer may be there; else their first guild channel (or DM)."""
        places = self._places(viewer)
        chosen = next((p for p in places if p["id"] == str(ref)), None)
        if chosen is None and ref not in (None, ""):
            raise RequestRefused(400, f"{viewer.name} cannot see that channel: choose one from the sidebar")
        return chosen or places[0]

    def _channel_id(self, body: dict[str, Any], viewer: PlaygroundUser) -> int:
        return int(self._place(viewer, body.get("channel"))["id"])

    def _commands(self, guild_id: int | None = -1) -> list[dict[str, Any]]:
        """The commands offered in a guild (None: in DMs); by default the first guild."""
        if guild_id == -1:
            guild_id = self.state.guild.id
        return [
            {
                "path": path,
                "description": leaf.get("description", ""),
                "options": [
                    {k: o.get(k) for k in ("name", "description", "type", "required", "choices", "autocomplete", "min_value", "max_value")}
                    for o in options
                ],
            }
            for path, leaf, options in self.state.commands.chat_input_paths(guild_id)
        ]

    async def get_users(self, request: web.Request) -> web.Response:
        """The simulated users, so the page can offer a choice before it acts as anyone."""
        return web.json_response({"users": self._users()})

    async def get_state(self, request: web.Request) -> web.Response:
        body, viewer = await self._read(request)
        place = self._place(viewer, body.get("channel"))
        guild = place["guild"]
        return web.json_response({
            "me": str(viewer.id),
            "users": self._users(),
            "bot": {**self.state.bot_user.user_payload(), "connected": self.state.gateway.connected},
            "guild": guild or {"id": None, "name": "Direct messages"},
            "channel": {"id": place["id"], "name": place["name"], "topic": place["topic"], "kind": place["kind"]},
            "places": self._places(viewer),
            "commands": self._commands(None if guild is None else int(guild["id"])),
            "messages": self.pg.messages(int(place["id"]), as_user=viewer),
            "upload_limit": self.state.limits.upload_limit,
        })

    # --- live updates -------------------------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        viewer = self._viewer(request.query.get("user"))
        socket = web.WebSocketResponse(heartbeat=20, protocols=(SOCKET_PROTOCOL,))
        await socket.prepare(request)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        unsubscribe = self.state.events.subscribe(lambda event: self._push(event, viewer, queue))

        async def writer() -> None:
            while True:
                await socket.send_str(json.dumps(await queue.get()))

        task = asyncio.create_task(writer())
        try:
            async for message in socket:
                if message.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                    break
        finally:
            unsubscribe()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task
        return socket

    def _push(self, event: ev.PlaygroundEvent, viewer: PlaygroundUser, queue: asyncio.Queue[dict[str, Any]]) -> None:
        data = event.data
        mine = data.get("user_id") == str(viewer.id)
        if event.kind in (ev.MESSAGE_CREATE, ev.MESSAGE_UPDATE, "reactions_changed"):
            message_id = data["message"]["id"] if "message" in data else data["message_id"]
            stored = self.state.messages.get(int(message_id))
            if stored is not None and stored.visible_for(viewer.id) and self.state.can_see(viewer, self.state.channel(stored.channel_id)):
                queue.put_nowait({"type": "message", "message": self.state.render(stored, viewer)})
        elif event.kind == ev.MESSAGE_DELETE:
            queue.put_nowait({"type": "delete", "id": data["message_id"]})
        elif event.kind == ev.COMMANDS_SYNCED:
            # Which commands show depends on the place the page is at: it asks again for its own.
            queue.put_nowait({"type": "commands_changed"})
        elif event.kind in (ev.GUILD_CREATE, ev.THREAD_CREATE):
            queue.put_nowait({"type": "places", "places": self._places(viewer)})
        elif event.kind == ev.MEMBER_ADD:
            queue.put_nowait({"type": "users", "users": self._users()})
        elif event.kind in (ev.GATEWAY_IDENTIFY, ev.GATEWAY_RESUME, ev.GATEWAY_DISCONNECT):
            queue.put_nowait({"type": "bot", "connected": self.state.gateway.connected})
        elif mine and event.kind == ev.INTERACTION_CREATE:
            queue.put_nowait({"type": "pending", "interaction_id": data["interaction_id"], "label": data["label"], "kind": data["type"]})
        elif mine and event.kind == ev.INTERACTION_CALLBACK:
            callback = data["callback"]
            update: dict[str, Any] = {"type": "callback", "interaction_id": data["interaction_id"], "callback_type": callback["type"]}
            if callback["type"] == 9:
                update["modal"] = callback["data"]
            queue.put_nowait(update)
        elif mine and event.kind == ev.INTERACTION_TIMEOUT:
            queue.put_nowait({"type": "failed", "interaction_id": data["interaction_id"], "label": data["label"]})

    # --- actions ------------------------------------------------------------------------------

    async def _read(self, request: web.Request) -> tuple[dict[str, Any], PlaygroundUser]:
        try:
            body = await request.json()
        except ValueError:
            raise RequestRefused(400, "expected a JSON body") from None
        if not isinstance(body, dict):
            raise RequestRefused(400, "expected a JSON object")
        return body, self._viewer(body.get("user"))

    @staticmethod
    def _fail(error: Exception) -> web.Response:
        return web.json_response({"error": str(error)}, status=400)

    @staticmethod
    def _started(handle: InteractionHandle) -> web.Response:
        return web.json_response({"interaction_id": str(handle.id)})

    async def command(self, request: web.Request) -> web.Response:
        body, user = await self._read(request)
        try:
            files = [(f["name"], base64.b64decode(f["data"], validate=True)) for f in body.get("attachments") or []]
            options = dict(body.get("options") or {})
            for name, (filename, data) in (body.get("attachment_options") or {}).items():
                options[name] = (filename, base64.b64decode(data, validate=True))
            handle = await self.pg.run_command(user, str(body.get("name", "")), options, attachments=files, channel_id=self._channel_id(body, user))
        except (PlaygroundError, InteractionFailed, APIError, binascii.Error, KeyError, TypeError, ValueError) as error:
            return self._fail(error)
        return self._started(handle)

    async def autocomplete(self, request: web.Request) -> web.Response:
        body, user = await self._read(request)
        try:
            choices = await self.pg.autocomplete(
                user, str(body.get("name", "")), dict(body.get("options") or {}), str(body.get("focused")), timeout=3, channel_id=self._channel_id(body, user)
            )
        except (PlaygroundError, InteractionFailed, APIError) as error:
            return self._fail(error)
        return web.json_response({"choices": choices})

    async def click(self, request: web.Request) -> web.Response:
        body, user = await self._read(request)
        try:
            handle = await self.pg.click(user, str(body.get("message_id")), str(body.get("custom_id")), body.get("values"))
        except (PlaygroundError, InteractionFailed, ValueError) as error:
            return self._fail(error)
        return self._started(handle)

    async def react(self, request: web.Request) -> web.Response:
        body, user = await self._read(request)
        try:
            if body.get("remove"):
                await self.pg.remove_reaction(user, str(body.get("message_id")), str(body.get("emoji")))
            else:
                await self.pg.add_reaction(user, str(body.get("message_id")), str(body.get("emoji")))
        except (PlaygroundError, APIError, ValueError) as error:
            return self._fail(error)
        return web.json_response({"ok": True})

    async def modal(self, request: web.Request) -> web.Response:
        body, user = await self._read(request)
        try:
            record = self.pg.interactions.by_id[int(body.get("interaction_id", 0))]
            handle = await self.pg.submit_modal(user, InteractionHandle(self.pg.interactions, record), dict(body.get("values") or {}))
        except KeyError:
            return self._fail(PlaygroundError("unknown interaction"))
        except (PlaygroundError, InteractionFailed, ValueError) as error:
            return self._fail(error)
        return self._started(handle)

    async def message(self, request: web.Request) -> web.Response:
        body, user = await self._read(request)
        try:
            return web.json_response(await self.pg.send_message(user, str(body.get("content", "")), channel_id=self._channel_id(body, user)))
        except (APIError, PlaygroundError) as error:
            return self._fail(error)
