"""Discord REST API v10 routes that discord.py uses, answered from the playground state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from bot.playground import events as ev
from bot.playground.bodies import RequestBody, read_body
from bot.playground.errors import (
    UNKNOWN_APPLICATION_COMMAND,
    UNKNOWN_GUILD,
    UNKNOWN_MEMBER,
    UNKNOWN_USER,
    APIError,
    FormErrors,
    PlaygroundError,
    cannot_edit_others_message,
    discord_json,
    invalid_form_body,
    not_found,
    unauthorized,
)
from bot.playground.guild import ADD_REACTIONS, ATTACH_FILES, EMBED_LINKS, MANAGE_MESSAGES, READ_MESSAGE_HISTORY, Guild, TextChannel
from bot.playground.interactions import InteractionRecord, InteractionService
from bot.playground.messages import StoredMessage
from bot.playground.state import PlaygroundState, missing_access
from bot.playground.validation import validate_commands

API = r"/api/v{version:\d+}"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


json = discord_json


def no_content() -> web.Response:
    return web.Response(status=204)


class RestAPI:
    def __init__(self, state: PlaygroundState, interactions: InteractionService) -> None:
        self.state = state
        self.interactions = interactions

    def add_routes(self, app: web.Application) -> None:
        bot = self._bot_only
        r = app.router
        r.add_get(API + "/users/@me", bot(self.get_me))
        r.add_post(API + "/users/@me/channels", bot(self.create_dm))
        r.add_get(API + "/users/{user_id}", bot(self.get_user))
        r.add_get(API + "/oauth2/applications/@me", bot(self.get_application))
        r.add_get(API + "/applications/@me", bot(self.get_application))
        r.add_get(API + "/gateway", self.get_gateway)
        r.add_get(API + "/gateway/bot", bot(self.get_gateway_bot))
        for scope in ("/applications/{app_id}/commands", "/applications/{app_id}/guilds/{guild_id}/commands"):
            r.add_get(API + scope, bot(self.list_commands))
            r.add_put(API + scope, bot(self.overwrite_commands))
            r.add_post(API + scope, bot(self.upsert_command))
            r.add_get(API + scope + "/{command_id}", bot(self.get_command))
            r.add_patch(API + scope + "/{command_id}", bot(self.edit_command))
            r.add_delete(API + scope + "/{command_id}", bot(self.delete_command))
        r.add_get(API + "/guilds/{guild_id}", bot(self.get_guild))
        r.add_get(API + "/guilds/{guild_id}/channels", bot(self.get_guild_channels))
        r.add_get(API + "/guilds/{guild_id}/roles", bot(self.get_roles))
        r.add_get(API + "/guilds/{guild_id}/members", bot(self.list_members))
        r.add_get(API + "/guilds/{guild_id}/members/{user_id}", bot(self.get_member))
        r.add_get(API + "/channels/{channel_id}", bot(self.get_channel))
        r.add_post(API + "/channels/{channel_id}/typing", bot(self.typing))
        r.add_get(API + "/channels/{channel_id}/messages", bot(self.list_messages))
        r.add_post(API + "/channels/{channel_id}/messages", bot(self.create_message))
        r.add_get(API + "/channels/{channel_id}/messages/{message_id}", bot(self.get_message))
        r.add_patch(API + "/channels/{channel_id}/messages/{message_id}", bot(self.edit_message))
        r.add_delete(API + "/channels/{channel_id}/messages/{message_id}", bot(self.delete_message))
        reactions = API + "/channels/{channel_id}/messages/{message_id}/reactions"
        r.add_delete(reactions, bot(self.clear_reactions))
        r.add_get(reactions + "/{emoji}", bot(self.list_reactors))
        r.add_delete(reactions + "/{emoji}", bot(self.clear_emoji))
        r.add_put(reactions + "/{emoji}/@me", bot(self.add_own_reaction))
        r.add_delete(reactions + "/{emoji}/{user}", bot(self.remove_reaction))
        # Interaction callback and webhooks authenticate by the token in the URL, not the bot token.
        r.add_post(API + "/interactions/{interaction_id}/{token}/callback", self.interaction_callback)
        r.add_post(API + "/webhooks/{app_id}/{token}", self.webhook_execute)
        r.add_get(API + "/webhooks/{app_id}/{token}/messages/{message}", self.webhook_get)
        r.add_patch(API + "/webhooks/{app_id}/{token}/messages/{message}", self.webhook_edit)
        r.add_delete(API + "/webhooks/{app_id}/{token}/messages/{message}", self.webhook_delete)

    def _bot_only(self, handler: Handler) -> Handler:
        async def checked(request: web.Request) -> web.StreamResponse:
            if request.headers.get("Authorization", "") != f"Bot {self.state.bot_token}":
                raise unauthorized()
            return await handler(request)

        return checked

    async def body(self, request: web.Request) -> RequestBody:
        return await read_body(request, self.state.limits.upload_limit)

    # --- identity -----------------------------------------------------------------------------

    async def get_me(self, request: web.Request) -> web.Response:
        return json({**self.state.bot_user.user_payload(), "verified": True, "mfa_enabled": False, "flags": 0})

    async def get_user(self, request: web.Request) -> web.Response:
        try:
            return json(self.state.user(int(request.match_info["user_id"])).user_payload())
        except (PlaygroundError, ValueError):
            raise APIError(404, UNKNOWN_USER, "Unknown User") from None

    async def get_application(self, request: web.Request) -> web.Response:
        state = self.state
        owner = {"id": str(state.guild.owner_id), "username": "playground-owner", "discriminator": "0", "avatar": None, "global_name": None}
        return json({
            "id": str(state.application_id),
            "name": state.bot_user.name,
            "icon": None,
            "description": "A bot running in the Tunesmith playground",
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": owner,
            "verify_key": "0" * 64,
            "flags": 0,
            "team": None,
            "bot": state.bot_user.user_payload(),
            "interactions_endpoint_url": None,
            "approximate_guild_count": len(state.guilds),
        })

    async def create_dm(self, request: web.Request) -> web.Response:
        """POST /users/@me/channels {"recipient_id"}: the bot's DM channel with a user (made on first use)."""
        payload = (await self.body(request)).payload
        recipient = payload.get("recipient_id") if isinstance(payload, dict) else None
        try:
            user = self.state.user(int(recipient))
        except (PlaygroundError, TypeError, ValueError):
            raise invalid_form_body({"recipient_id": {"_errors": [{"code": "NUMBER_TYPE_COERCE", "message": f"Value \"{recipient}\" is not snowflake."}]}}) from None
        if user.bot:
            raise APIError(400, 50007, "Cannot send messages to this user")
        return json(self.state.dm_channel(user).payload())

    def _ws_url(self) -> str:
        return self.state.base_url.replace("http", "ws", 1) + "/gateway"

    async def get_gateway(self, request: web.Request) -> web.Response:
        return json({"url": self._ws_url()})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        per_shard = self.state.max_guilds_per_shard
        shards = max(1, -(-len(self.state.guilds) // per_shard))  # Discord recommends one shard per 1,000 guilds; here per the limit
        return json({"url": self._ws_url(), "shards": shards, "session_start_limit": limit})

    # --- application commands -----------------------------------------------------------------

    def _command_scope(self, request: web.Request) -> int | None:
        if request.match_info["app_id"] != str(self.state.application_id):
            raise APIError(403, 50001, "Missing Access")
        guild_id = request.match_info.get("guild_id")
        if guild_id is None:
            return None
        if not guild_id.isdigit() or int(guild_id) not in self.state.guilds:
            raise APIError(404, UNKNOWN_GUILD, "Unknown Guild")
        return int(guild_id)

    async def list_commands(self, request: web.Request) -> web.Response:
        return json(self.state.commands.listing(self._command_scope(request)))

    async def overwrite_commands(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        payload = (await self.body(request)).payload
        validate_commands(payload)
        stored = self.state.commands.overwrite(scope, payload)
        self.state.events.record(ev.COMMANDS_SYNCED, guild_id=None if scope is None else str(scope), commands=stored)
        return json(stored)

    async def upsert_command(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        payload = (await self.body(request)).payload
        validate_commands([payload])
        stored = self.state.commands.upsert(scope, payload)
        self.state.events.record(ev.COMMANDS_SYNCED, guild_id=None if scope is None else str(scope), commands=self.state.commands.listing(scope))
        return json(stored, status=201)

    def _command(self, request: web.Request) -> tuple[int | None, dict[str, Any]]:
        scope = self._command_scope(request)
        try:
            command = self.state.commands.find_by_id(scope, int(request.match_info["command_id"]))
        except ValueError:
            command = None
        if command is None:
            raise APIError(404, UNKNOWN_APPLICATION_COMMAND, "Unknown application command")
        return scope, command

    async def get_command(self, request: web.Request) -> web.Response:
        return json(self._command(request)[1])

    async def edit_command(self, request: web.Request) -> web.Response:
        scope, command = self._command(request)
        patch = (await self.body(request)).payload
        if not isinstance(patch, dict):
            raise invalid_form_body({"_errors": [{"code": "DICT_TYPE_CONVERT", "message": "Only dictionaries may be used in a DictType"}]})
        merged = {**command, **patch, "name": patch.get("name", command["name"])}
        validate_commands([merged])
        self.state.commands.delete(scope, int(command["id"]))
        return json(self.state.commands.upsert(scope, merged))

    async def delete_command(self, request: web.Request) -> web.Response:
        scope, command = self._command(request)
        self.state.commands.delete(scope, int(command["id"]))
        return no_content()

    # --- guild --------------------------------------------------------------------------------

    def _guild(self, request: web.Request) -> Guild:
        guild_id = request.match_info["guild_id"]
        guild = self.state.guilds.get(int(guild_id)) if guild_id.isdigit() else None
        if guild is None:
            raise APIError(404, UNKNOWN_GUILD, "Unknown Guild")
        return guild

    async def get_guild(self, request: web.Request) -> web.Response:
        payload = self._guild(request).payload(include_all_members=False)
        for key in ("members", "channels", "threads", "presences", "voice_states", "joined_at", "large", "member_count"):
            payload.pop(key, None)
        return json(payload)

    async def get_guild_channels(self, request: web.Request) -> web.Response:
        return json([c.payload() for c in self._guild(request).text_channels()])

    async def get_roles(self, request: web.Request) -> web.Response:
        return json([role.payload() for role in self._guild(request).roles])

    async def list_members(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        return json([guild.member_payload(user) for user in guild.members.values()])

    async def get_member(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        try:
            user = guild.members[int(request.match_info["user_id"])]
        except (KeyError, ValueError):
            raise APIError(404, UNKNOWN_MEMBER, "Unknown Member") from None
        return json(guild.member_payload(user))

    def _visible_channel(self, request: web.Request) -> TextChannel:
        """The channel, if the bot can see it (else 403 Missing Access, as Discord answers)."""
        channel = self.state.channel(request.match_info["channel_id"])
        if not self.state.can_see(self.state.bot_user, channel):
            raise missing_access()
        return channel

    async def get_channel(self, request: web.Request) -> web.Response:
        return json(self._visible_channel(request).payload())

    async def typing(self, request: web.Request) -> web.Response:
        channel = self._visible_channel(request)
        self.state.require_bot_permissions(channel, self.state.send_permission(channel))
        return no_content()

    # --- messages -----------------------------------------------------------------------------

    async def list_messages(self, request: web.Request) -> web.Response:
        channel = self._visible_channel(request)
        if not self.state.permissions_in(self.state.bot_user, channel) & READ_MESSAGE_HISTORY:
            return json([])  # Discord answers an empty history without Read Message History
        messages = self.state.messages.in_channel(channel.id, None)
        try:
            limit = max(1, min(100, int(request.query.get("limit", 50))))
            before, after = request.query.get("before"), request.query.get("after")
            if before:
                messages = [m for m in messages if m.id < int(before)]
            if after:
                messages = [m for m in messages if m.id > int(after)][:limit]
        except ValueError:
            raise invalid_form_body({"limit": {"_errors": [{"code": "NUMBER_TYPE_COERCE", "message": "Value is not int."}]}}) from None
        newest_first = list(reversed(messages))[:limit]
        return json([self.state.render(m, self.state.bot_user) for m in newest_first])

    async def create_message(self, request: web.Request) -> web.Response:
        channel = self._visible_channel(request)
        body = await self.body(request)
        needed = self.state.send_permission(channel) | (ATTACH_FILES if body.files else 0)
        self.state.require_bot_permissions(channel, needed)
        payload = body.payload
        if isinstance(payload, dict) and payload.get("embeds") and not self.state.permissions_in(self.state.bot_user, channel) & EMBED_LINKS:
            payload = {**payload, "embeds": []}  # without Embed Links Discord drops the embeds, not the message
        message = self.state.create_message(channel, self.state.bot_user, payload, body.files)
        return json(self.state.render(message, self.state.bot_user))

    def _message(self, request: web.Request) -> StoredMessage:
        channel = self._visible_channel(request)
        return self.state.message(channel, request.match_info["message_id"])

    async def get_message(self, request: web.Request) -> web.Response:
        return json(self.state.render(self._message(request), self.state.bot_user))

    async def edit_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        if message.author.id != self.state.bot_user.id:
            raise cannot_edit_others_message()
        body = await self.body(request)
        if not isinstance(body.payload, dict):
            raise invalid_form_body({"_errors": [{"code": "DICT_TYPE_CONVERT", "message": "Only dictionaries may be used in a DictType"}]})
        return json(self.state.render(self.state.edit_message(message, body.payload, body.files), self.state.bot_user))

    async def delete_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        if message.author.id != self.state.bot_user.id and message.guild_id is None:
            raise APIError(403, 50003, "Cannot execute action on a DM channel")
        if message.author.id != self.state.bot_user.id:
            self.state.require_bot_permissions(self.state.channel(message.channel_id), MANAGE_MESSAGES)
        self.state.delete_message(message)
        return no_content()

    # --- reactions ----------------------------------------------------------------------------

    def _emoji(self, request: web.Request) -> str:
        return unquote(request.match_info["emoji"])

    async def add_own_reaction(self, request: web.Request) -> web.Response:
        message = self._message(request)
        key = self.state.emoji_key(self._emoji(request))
        # Adding an emoji nobody has used on the message needs Add Reactions; joining one needs only history.
        needed = READ_MESSAGE_HISTORY | (0 if message.reactions.get(key) else ADD_REACTIONS)
        self.state.require_bot_permissions(self.state.channel(message.channel_id), needed)
        self.state.add_reaction(message, self.state.bot_user, key)
        return no_content()

    async def remove_reaction(self, request: web.Request) -> web.Response:
        message = self._message(request)
        who = request.match_info["user"]
        try:
            user = self.state.bot_user if who == "@me" else self.state.user(int(who))
        except (PlaygroundError, ValueError):
            raise APIError(404, UNKNOWN_USER, "Unknown User") from None
        if user.id != self.state.bot_user.id:
            self._may_manage_reactions(message)
        self.state.remove_reaction(message, user, self._emoji(request))
        return no_content()

    async def list_reactors(self, request: web.Request) -> web.Response:
        """As Discord: users by id, `limit` (1-100, default 25) after the user id `after`; `type` 1 (burst) has none here."""
        message = self._message(request)
        key = self.state.emoji_key(self._emoji(request))
        limit, after, burst = reactor_query(request.query)
        users = [] if burst else sorted(uid for uid in message.reactions.get(key, []) if uid > after)
        return json([self.state.user(uid).user_payload() for uid in users[:limit]])

    def _may_manage_reactions(self, message: StoredMessage) -> None:
        """Removing other people's reactions needs Manage Messages, and cannot be done in a DM at all."""
        if message.guild_id is None:
            raise APIError(403, 50003, "Cannot execute action on a DM channel")
        self.state.require_bot_permissions(self.state.channel(message.channel_id), MANAGE_MESSAGES)

    async def clear_emoji(self, request: web.Request) -> web.Response:
        message = self._message(request)
        self._may_manage_reactions(message)
        key = self.state.emoji_key(self._emoji(request))
        for uid in list(message.reactions.get(key, [])):
            self.state.remove_reaction(message, self.state.user(uid), key)
        return no_content()

    async def clear_reactions(self, request: web.Request) -> web.Response:
        message = self._message(request)
        self._may_manage_reactions(message)
        for key, users in list(message.reactions.items()):
            for uid in list(users):
                self.state.remove_reaction(message, self.state.user(uid), key)
        return no_content()

    # --- interactions -------------------------------------------------------------------------

    async def interaction_callback(self, request: web.Request) -> web.Response:
        body = await self.body(request)
        with_response = request.query.get("with_response", "").lower() in ("1", "true")
        result = self.interactions.callback(request.match_info["interaction_id"], request.match_info["token"], body, with_response=with_response)
        return no_content() if result is None else json(result)

    def _webhook(self, request: web.Request) -> InteractionRecord:
        return self.interactions.webhook(request.match_info["app_id"], request.match_info["token"])

    async def webhook_execute(self, request: web.Request) -> web.Response:
        record = self._webhook(request)
        body = await self.body(request)
        message = self.interactions.send_followup(record, body)
        if request.query.get("wait", "").lower() not in ("1", "true"):
            return no_content()
        return json(self.state.render(message, self.state.bot_user))

    async def webhook_get(self, request: web.Request) -> web.Response:
        message = self.interactions.message_ref(self._webhook(request), request.match_info["message"])
        return json(self.state.render(message, self.state.bot_user))

    async def webhook_edit(self, request: web.Request) -> web.Response:
        record = self._webhook(request)
        body = await self.body(request)
        message = self.interactions.edit(record, request.match_info["message"], body)
        return json(self.state.render(message, self.state.bot_user))

    async def webhook_delete(self, request: web.Request) -> web.Response:
        self.interactions.delete(self._webhook(request), request.match_info["message"])
        return no_content()


def reactor_query(query: Mapping[str, str]) -> tuple[int, int, bool]:
    """`limit`, `after` and whether `type` asks for burst reactions, checked the way Discord checks them."""
    errors = FormErrors()
    values = {"limit": 25, "after": 0, "type": 0}
    bounds = {"limit": (1, 100), "after": (0, None), "type": (0, 1)}
    for name, (low, high) in bounds.items():
        if name not in query:
            continue
        try:
            value = int(query[name])
        except ValueError:
            kind = "snowflake" if name == "after" else "int"
            errors.add((name,), "NUMBER_TYPE_COERCE", f"Value \"{query[name]}\" is not {kind}.")
            continue
        if value < low:
            errors.add((name,), "NUMBER_TYPE_MIN", f"int value should be greater than or equal to {low}.")
        elif high is not None and value > high:
            errors.add((name,), "NUMBER_TYPE_MAX", f"int value should be less than or equal to {high}.")
        values[name] = value
    errors.raise_if_any()
    return values["limit"], values["after"], values["type"] == 1


@web.middleware
async def discord_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure under /api answers in Discord's JSON error format."""
    try:
        return await handler(request)
    except APIError as error:
        return error.to_response()
    except web.HTTPNotFound:
        if request.path.startswith("/api/"):
            return not_found().to_response()
        raise
    except web.HTTPMethodNotAllowed:
        if request.path.startswith("/api/"):
            return APIError(405, 0, "405: Method Not Allowed").to_response()
        raise
