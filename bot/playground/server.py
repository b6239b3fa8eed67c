"""`Playground`: the Discord-compatible server and the Python API that tests and the page drive it with."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiohttp
from aiohttp import web

from bot.playground.cdn import attachment_handler
from bot.playground.components import component_data, find_interactive, modal_submission
from bot.playground.errors import PlaygroundError
from bot.playground.events import PlaygroundEvent
from bot.playground.guild import ADD_REACTIONS, MEMBER_OVERWRITE, ROLE_OVERWRITE, SEND_MESSAGES, USE_APPLICATION_COMMANDS, Guild, Overwrite, PlaygroundUser, TextChannel
from bot.playground.interactions import APPLICATION_COMMAND, AUTOCOMPLETE, MESSAGE_COMPONENT, MODAL_SUBMIT, InteractionHandle, InteractionService
from bot.playground.messages import StoredMessage
from bot.playground.commands import ResolvedCommand
from bot.playground.options import AttachmentInput, build_command_data
from bot.playground.ratelimits import RateLimiter, RateLimits
from bot.playground.rest import RestAPI, discord_errors
from bot.playground.state import MAX_GUILDS_PER_SHARD, Limits, PlaygroundState
from bot.playground.webui import WebUI

MessageRef = Mapping[str, Any] | int | str
UserRef = PlaygroundUser | int | str
GuildRef = Guild | int | str


class Playground:
    """A Discord-compatible server on loopback: guilds (the first, "Playground", made at once) with #general,
    threads and permission overwrites, DMs between the bot and each user, and simulated users.

    `ack_deadline` (Discord: 3 s) and `followup_window` (Discord: 15 min) are seconds and may be
    shrunk for tests; `upload_limit` is the per-file limit in bytes (Discord's default: 10 MiB).
    Messages live in memory; only the newest `max_messages` (and their attachments) are kept.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        upload_limit: int = 10 * 1024 * 1024,
        ack_deadline: float = 3.0,
        followup_window: float = 900.0,
        *,
        heartbeat_interval: float = 41.25,
        resume_window: float = 120.0,
        bot_name: str = "Tunesmith",
        max_messages: int = 2000,
        max_guilds_per_shard: int = MAX_GUILDS_PER_SHARD,
        rate_limits: RateLimits | None = RateLimits(),
    ) -> None:
        self.host = host
        self.port = port
        self.state = PlaygroundState(
            limits=Limits(upload_limit=upload_limit, ack_deadline=ack_deadline, followup_window=followup_window),
            heartbeat_interval=heartbeat_interval,
            resume_window=resume_window,
            bot_name=bot_name,
            max_messages=max_messages,
            max_guilds_per_shard=max_guilds_per_shard,
        )
        self.interactions = InteractionService(self.state)
        self.rate_limiter = None if rate_limits is None else RateLimiter(rate_limits, self.state.events)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        # JSON bodies are bounded here; multipart uploads are streamed and checked against upload_limit.
        middlewares = [discord_errors] if self.rate_limiter is None else [self.rate_limiter.middleware(), discord_errors]
        app = web.Application(middlewares=middlewares, client_max_size=self.state.limits.upload_limit * 11 + (1 << 20))
        RestAPI(self.state, self.interactions).add_routes(app)
        app.router.add_get("/gateway", self.state.gateway.handle)
        app.router.add_get("/cdn/attachments/{channel_id}/{attachment_id}/{filename}", attachment_handler(self.state.messages))
        WebUI(self).add_routes(app)
        return app

    async def start(self) -> None:
        if self._runner is not None:
            raise PlaygroundError("the playground is already started")
        self._runner = web.AppRunner(self.build_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]  # the real port when 0 asked the OS to pick one
        self.state.base_url = f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        await self.state.gateway.close_all()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Playground:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- identity -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if not self.state.base_url:
            raise PlaygroundError("the playground has no URL until start() has run")
        return self.state.base_url

    @property
    def api_base(self) -> str:
        return self.url + "/api/v10"

    @property
    def bot_token(self) -> str:
        return self.state.bot_token

    @property
    def application_id(self) -> int:
        return self.state.application_id

    @property
    def bot_user(self) -> PlaygroundUser:
        return self.state.bot_user

    @property
    def guild_id(self) -> int:
        return self.state.guild.id

    @property
    def channel_id(self) -> int:
        return self.state.guild.default_channel.id

    @property
    def admin_role_id(self) -> int:
        return self.state.guild.admin_role.id

    @property
    def users(self) -> list[PlaygroundUser]:
        return list(self.state.users)

    def user(self, ref: UserRef) -> PlaygroundUser:
        return self.state.user(ref)

    def add_user(self, name: str, admin: bool = False, *, guilds: Sequence[GuildRef] | None = None) -> PlaygroundUser:
        """A new user; a member of `guilds` (default: the first guild), Server Admin in each with `admin`."""
        return self.state.add_user(name, admin=admin, guilds=None if guilds is None else [self.state.find_guild(g) for g in guilds])

    # --- guilds, channels, threads, DMs ----------------------------------------------------------

    @property
    def guilds(self) -> list[Guild]:
        return list(self.state.guilds.values())

    def guild(self, ref: GuildRef | None = None) -> Guild:
        """A guild by object, id or name; the first guild by default."""
        return self.state.guild if ref is None else self.state.find_guild(ref)

    def add_guild(self, name: str, *, members: Mapping[UserRef, bool] | Sequence[UserRef] = ()) -> Guild:
        """A new guild the bot is in (it receives GUILD_CREATE), with its own roles and #general. `members`
        join it: a list of users, or a mapping of user to whether they are Server Admin there."""
        guild = self.state.add_guild(name)
        entries = members.items() if isinstance(members, Mapping) else ((m, False) for m in members)
        for user, admin in entries:
            self.state.add_member(guild, self.state.user(user), admin=admin)
        return guild

    def add_member(self, guild: GuildRef, user: UserRef, *, admin: bool = False) -> None:
        self.state.add_member(self.state.find_guild(guild), self.state.user(user), admin=admin)

    def dm_channel_id(self, user: UserRef) -> int:
        """The id of `user`'s DM channel with the bot; pass it as `channel_id` to act there."""
        return self.state.dm_channel(self.state.user(user)).id

    def add_channel(self, name: str, *, guild: GuildRef | None = None, topic: str | None = None) -> int:
        """Another text channel (CHANNEL_CREATE), in the first guild by default; returns its id."""
        return self.state.add_channel(self.guild(guild), name, topic).id

    def add_thread(self, channel_id: int, name: str, owner: UserRef | None = None) -> int:
        """Start a public thread under a text channel (THREAD_CREATE); returns the thread's id."""
        creator = self.state.bot_user if owner is None else self.state.user(owner)
        return self.state.add_thread(self.state.channel(channel_id), name, creator).id

    def set_overwrite(self, channel_id: int, target: UserRef | int, *, allow: int = 0, deny: int = 0) -> None:
        """A permission overwrite on a channel for a role (by id; the guild id is @everyone) or a user."""
        channel = self.state.channel(channel_id)
        guild = self.state.guild_of(channel)
        if guild is None or channel.is_thread:
            raise PlaygroundError("permission overwrites belong to a server's text channels (threads use their parent's)")
        if isinstance(target, int) and guild.role(target) is not None:
            key = (ROLE_OVERWRITE, target)
        else:
            key = (MEMBER_OVERWRITE, self.state.user(target).id)
        channel.overwrites = [o for o in channel.overwrites if (o.type, o.id) != key]
        if allow or deny:
            channel.overwrites.append(Overwrite(key[1], key[0], allow, deny))
        self.state.dispatch_in(channel, "CHANNEL_UPDATE", channel.payload())

    def set_command_permission(self, guild: GuildRef, command: str, target: UserRef | int, allowed: bool) -> None:
        """Server Settings > Integrations: allow or deny one command for a user, a role (by id) or @everyone
        (the guild id) in one guild, overriding its default_member_permissions."""
        found = self.state.find_guild(guild)
        target_id = target if isinstance(target, int) and (found.role(target) is not None) else self.state.user(target).id
        found.command_permissions.setdefault(command, {})[target_id] = allowed

    # --- what happened --------------------------------------------------------------------------

    @property
    def events(self) -> list[PlaygroundEvent]:
        return list(self.state.events.events)

    @property
    def event_count(self) -> int:
        """Pass to `wait_for(since=...)` to only match events that happen after this point."""
        return len(self.state.events)

    async def wait_for(self, predicate: Callable[[PlaygroundEvent], bool], timeout: float = 10, since: int = 0) -> PlaygroundEvent:
        return await self.state.events.wait_for(predicate, timeout, since)

    async def wait_until_connected(self, timeout: float = 10) -> None:
        await self.state.gateway.wait_connected(timeout)

    @property
    def bot_connected(self) -> bool:
        return self.state.gateway.connected

    def messages(self, channel_id: int | None = None, *, as_user: UserRef | None = None) -> list[dict[str, Any]]:
        """Channel history, oldest first, edits applied. Ephemeral messages appear only with `as_user`
        set to the user who may see them."""
        channel = self.state.channel(channel_id or self.channel_id)
        viewer = None if as_user is None else self.state.user(as_user)
        if viewer is not None and not self.state.can_see(viewer, channel):
            raise PlaygroundError(f"{viewer.name} cannot see that channel")
        return [self.state.render(m, viewer) for m in self.state.messages.in_channel(channel.id, None if viewer is None else viewer.id)]

    def registered_commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """Global commands, or with `guild_id` that guild's commands, as the bot last synced them."""
        return self.state.commands.listing(guild_id)

    async def fetch_attachment(self, attachment: Mapping[str, Any]) -> bytes:
        """Download an attachment from its `url`, over HTTP like a Discord client would."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.get(attachment["url"]) as response:
            response.raise_for_status()
            return await response.read()

    # --- simulated users act ---------------------------------------------------------------------

    async def run_command(
        self,
        user: UserRef,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        attachments: Sequence[AttachmentInput] = (),
        channel_id: int | None = None,
    ) -> InteractionHandle:
        """`user` runs `/name` ("plugins reload" for subcommands) with options by name. Attachment options
        take `(filename, bytes)` as their value, or are filled from `attachments` in declaration order."""
        member = self.state.user(user)
        channel = self._usable_channel(member, channel_id)
        resolved = self._offered(member, channel, name)
        data = build_command_data(self.state, resolved, options or {}, attachments, channel.id)
        return self.interactions.create(APPLICATION_COMMAND, member, data, "/" + " ".join(resolved.path), channel=channel)

    def _usable_channel(self, member: PlaygroundUser, channel_id: int | None) -> TextChannel:
        """The channel `member` acts in: one they can see and use commands in (their own DM counts)."""
        channel = self.state.channel(channel_id or self.channel_id)
        if channel.is_dm and (channel.recipient is None or channel.recipient.id != member.id):
            raise PlaygroundError(f"{member.name} cannot act in another user's DM")
        guild = self.state.guild_of(channel)
        if guild is not None and member.id not in guild.members:
            raise PlaygroundError(f"{member.name} is not a member of {guild.name}")
        permissions = self.state.permissions_in(member, channel)
        if not self.state.can_see(member, channel):
            raise PlaygroundError(f"{member.name} cannot see #{channel.name}")
        if guild is not None and not permissions & USE_APPLICATION_COMMANDS:
            raise PlaygroundError(f"{member.name} may not use application commands in #{channel.name}")
        return channel

    def _offered(self, member: PlaygroundUser, channel: TextChannel, name: str) -> ResolvedCommand:
        """The command, if Discord would offer it to `member` here: its contexts allow the place, and in a
        guild its permissions (overrides, else default_member_permissions) allow the member."""
        guild = self.state.guild_of(channel)
        resolved = self.state.commands.resolve(name, None if guild is None else guild.id)
        if guild is not None and not guild.can_use_command(member, resolved.command):
            raise PlaygroundError(
                f"Discord does not show /{resolved.command['name']} to {member.name} in {guild.name}: "
                "their permissions do not include the command's default_member_permissions and no override allows it"
            )
        return resolved

    async def autocomplete(
        self, user: UserRef, name: str, options: Mapping[str, Any], focused: str, timeout: float = 5, *, channel_id: int | None = None
    ) -> list[dict[str, Any]]:
        """The choices the bot suggests while `user` types option `focused`."""
        member = self.state.user(user)
        channel = self._usable_channel(member, channel_id)
        resolved = self._offered(member, channel, name)
        data = build_command_data(self.state, resolved, options, (), channel.id, focused=focused)
        handle = self.interactions.create(AUTOCOMPLETE, member, data, "/" + " ".join(resolved.path) + f" ({focused}…)", channel=channel)
        callback = await handle.acknowledged(timeout)
        return list(callback["data"].get("choices") or [])

    def _stored_message(self, message: MessageRef, member: PlaygroundUser) -> StoredMessage:
        message_id = message["id"] if isinstance(message, Mapping) else message
        stored = self.state.messages.get(int(message_id))
        if stored is None or not stored.visible_for(member.id) or not self.state.can_see(member, self.state.channel(stored.channel_id)):
            raise PlaygroundError(f"message {message_id} does not exist or {member.name} cannot see it")
        return stored

    async def click(self, user: UserRef, message: MessageRef, custom_id: str, values: Sequence[str] | None = None) -> InteractionHandle:
        """`user` clicks a button or picks select `values` on `message` (a message dict or id)."""
        member = self.state.user(user)
        stored = self._stored_message(message, member)
        component = find_interactive(stored.components, custom_id)
        return self.interactions.create(MESSAGE_COMPONENT, member, component_data(component, values), custom_id, message=stored)

    async def submit_modal(self, user: UserRef, handle: InteractionHandle, values: Mapping[str, Any]) -> InteractionHandle:
        """`user` fills in and submits the modal the bot opened in answer to `handle`."""
        member = self.state.user(user)
        modal = handle.record.modal
        if modal is None:
            raise PlaygroundError(f"{handle.record.label}: the bot did not open a modal (callback: {handle.record.callback})")
        data = {"custom_id": modal["custom_id"], "components": modal_submission(modal, values)}
        source = None if handle.record.source_message_id is None else self.state.messages.get(handle.record.source_message_id)
        return self.interactions.create(MODAL_SUBMIT, member, data, f"modal {modal['custom_id']}", message=source)

    async def add_reaction(self, user: UserRef, message: MessageRef, emoji: str) -> None:
        member = self.state.user(user)
        self.state.add_reaction(self._reactable(message, member), member, emoji)

    async def remove_reaction(self, user: UserRef, message: MessageRef, emoji: str) -> None:
        member = self.state.user(user)
        self.state.remove_reaction(self._reactable(message, member), member, emoji)

    def _reactable(self, message: MessageRef, member: PlaygroundUser) -> StoredMessage:
        stored = self._stored_message(message, member)
        if stored.visible_to is not None:
            raise PlaygroundError("ephemeral messages cannot be reacted to")
        if not self.state.permissions_in(member, self.state.channel(stored.channel_id)) & ADD_REACTIONS:
            raise PlaygroundError(f"{member.name} may not add reactions in that channel")
        return stored

    async def send_message(self, user: UserRef, content: str, channel_id: int | None = None) -> dict[str, Any]:
        """A plain chat message from a simulated user (the bot sees it as MESSAGE_CREATE)."""
        member = self.state.user(user)
        channel = self._usable_channel(member, channel_id)
        if not self.state.permissions_in(member, channel) & (self.state.send_permission(channel) if not channel.is_dm else SEND_MESSAGES):
            raise PlaygroundError(f"{member.name} may not send messages in #{channel.name}")
        message = self.state.create_message(channel, member, {"content": content})
        return self.state.render(message, member)

    async def drop_gateway(self, resumable: bool = True) -> None:
        """Close the bot's gateway socket; it will RESUME (or, with `resumable=False`, IDENTIFY again)."""
        await self.state.gateway.drop(resumable=resumable)
