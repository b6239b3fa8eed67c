"""The Tunesmith bot: a discord.py `commands.Bot` whose features are all plugins, with a clean start and stop.

Start-up (`setup_hook`, after login and before the gateway connects): open storage, record jobs a previous run
left unfinished as interrupted, load the enabled cogs and plugins, sync the command tree. Shutdown (`close`):
refuse new commands, let the engine finish what it can, unload plugins, record what is left as interrupted,
close storage.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import discord
from discord.ext import commands
from discord.gateway import KeepAliveHandler

from bot.config import Settings
from bot.engine import start_engine
from bot.errors import StartupError
from bot.logging import register_secret
from bot.permissions import AccessPolicy
from bot.plugins import PluginManager, PluginOutcome
from bot.services import Services
from bot.sharding import ShardScope
from bot.tree import TunesmithTree
from bot.version import BOT_VERSION
from storage import DatabaseBusyError, DatabaseOpenError, Job, Storage

log = logging.getLogger(__name__)


# Tunesmith never joins voice channels: discord.py's warnings about missing voice libraries are noise.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


def default_intents() -> discord.Intents:
    # Slash commands need no message content; reactions carry ratings, in servers and in DMs with the bot.
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_reactions = True
    intents.dm_reactions = True
    return intents


SERVER_ONLY_BY_DEFAULT = discord.app_commands.AppCommandContext(guild=True, dm_channel=False, private_channel=False)


class TunesmithBot(commands.Bot):
    def __init__(
        self,
        settings: Settings,
        *,
        sync_guild_id: int | None = None,
        storage: Storage | None = None,
        engine: Any | None = None,
        guild_ready_timeout: float = 2.0,
        reidentify_delay: float = 5.0,
    ) -> None:
        """`sync_guild_id`: register commands in that guild only (instant; used with the playground) instead of globally.
        `storage`: an already open Storage to use (and leave open); by default the bot opens and closes its own.
        `engine`: a started engine.service.EngineService to use (and leave running); by default the bot starts and
        stops its own when settings.start_engine is on.
        `guild_ready_timeout`: how long discord.py waits for more guilds before READY (the playground has one).
        `reidentify_delay`: pause before identifying again after a lost session; Discord allows one IDENTIFY per
        5 s, the playground has no such limit."""
        shards: dict[str, Any] = {}
        if isinstance(self, commands.AutoShardedBot):  # ShardedTunesmithBot: this process's shards of shard_count
            shards = {"shard_count": settings.shard_count, "shard_ids": list(settings.shard_ids) or None}
        super().__init__(
            **shards,
            command_prefix=commands.when_mentioned,
            intents=default_intents(),
            tree_cls=TunesmithTree,
            help_command=None,
            owner_ids=set(settings.owner_ids),
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True),
            guild_ready_timeout=guild_ready_timeout,
            # Every command is for servers unless it declares that it also works, privately, in DMs with the bot.
            allowed_contexts=SERVER_ONLY_BY_DEFAULT,
            allowed_installs=discord.app_commands.AppInstallationType(guild=True, user=False),
        )
        self.version = BOT_VERSION
        self.services = Services(settings, storage=storage, engine=engine)
        self._owns_storage = storage is None
        self._owns_engine = engine is None
        self.access = AccessPolicy(settings)
        self.plugins = PluginManager(self, sync=self.sync_commands)
        self.sync_guild_id = sync_guild_id
        self.interrupted_jobs: list[Job] = []  # left unfinished by the previous run; the compose cog may resume them
        self.startup_outcomes: list[PluginOutcome] = []
        self.shutting_down = False
        self._sync_lock = asyncio.Lock()
        self._closed = False
        self._let_go_of_loop = False  # discord.py's close() has run: it no longer schedules events
        self._reidentify_delay = reidentify_delay

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def shard_scope(self) -> ShardScope:
        return self.settings.shard_scope

    @property
    def holds_jobs_of(self) -> Callable[[int | None], bool] | None:
        """Whose jobs this process may interrupt, resume or answer: the servers its shards hold (None: all)."""
        scope = self.shard_scope
        return scope.holds if scope.sharded else None

    # Start ----------------------------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        register_secret(self.http.token)
        if not self.services.has_storage:
            try:
                storage = await Storage.open(self.settings.database, self.settings.media_dir,
                                             busy_timeout_s=self.settings.database_busy_timeout_seconds)
            except (DatabaseOpenError, DatabaseBusyError) as exc:  # the message names the file and the fix
                raise StartupError(str(exc)) from exc
            except (OSError, sqlite3.Error) as exc:
                raise StartupError(f"Cannot open the data folder {self.settings.data_dir} ({exc}). Check the data_dir setting.") from exc
            self.services.attach_storage(storage)
        # Only this process's servers: another shard's jobs, in the same database, are that shard's to resume.
        self.interrupted_jobs = await self.services.storage.jobs.mark_interrupted_on_startup(self.holds_jobs_of)
        if self.interrupted_jobs:
            log.warning("Jobs from the previous run were interrupted", extra={"count": len(self.interrupted_jobs)})

        if self.services.engine is None and self.settings.start_engine:
            started = await start_engine(self.settings, self.services.storage)
            self.services.engine, self.services.model_notice = started.service, started.notice

        enabled = list(dict.fromkeys([*self.settings.enabled_cogs, *self.settings.enabled_plugins]))
        self.startup_outcomes = await self.plugins.load_many(enabled)
        await self.sync_commands()
        loaded = [o.name for o in self.startup_outcomes if o.ok]
        # Everything made during start-up lives as long as the bot: moving it out of the collector's view keeps
        # full collections (and the pauses they cause under a burst of interactions) short.
        gc.freeze()
        log.info("Bot set up", extra={"version": self.version, "plugins": ",".join(loaded) or "none", "shards": self.shard_scope.describe()})

    async def sync_commands(self) -> list[discord.app_commands.AppCommand]:
        """Publish the current commands: to the sync guild when set (instant), else globally."""
        async with self._sync_lock:
            if self.sync_guild_id is not None:
                guild = discord.Object(self.sync_guild_id)
                self.tree.clear_commands(guild=guild)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
            else:
                synced = await self.tree.sync()
        log.info("Command tree synced", extra={"commands": len(synced), "guild": self.sync_guild_id or "global"})
        return synced

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if not initial:
            await asyncio.sleep(self._reidentify_delay)

    async def on_ready(self) -> None:
        log.info("Connected", extra={"user": str(self.user), "guilds": len(self.guilds)})

    async def on_resumed(self) -> None:
        log.info("Gateway session resumed")

    async def on_app_command_completion(
        self, interaction: discord.Interaction[Any], command: discord.app_commands.Command[Any, ..., Any] | discord.app_commands.ContextMenu
    ) -> None:
        log.info("Command completed", extra={"command": command.qualified_name, "user": interaction.user.id, "guild": interaction.guild_id})

    # Stop -----------------------------------------------------------------------------------------------

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.shutting_down = True  # the tree refuses new commands from here on
        log.info("Shutting down")
        try:
            await self._stop_engine()
            await super().close()  # unloads plugins (their cog_unload runs), then closes the gateway and HTTP
            self._let_go_of_loop = True
            self._stop_orphaned_heartbeats()
        finally:
            await self._close_storage()
        log.info("Stopped")

    def dispatch(self, event_name: str, /, *args: Any, **kwargs: Any) -> None:
        # A command still in flight at shutdown completes after discord.py's close() has let go of the event loop,
        # and the tree then dispatches its completion: scheduling a listener then fails inside the command's task.
        if self._let_go_of_loop:
            return
        super().dispatch(event_name, *args, **kwargs)

    def _stop_orphaned_heartbeats(self) -> None:
        """Stop the heartbeat threads of gateway connections that a cancelled connect left half made: discord.py
        starts one at the gateway's HELLO, before the connection is the client's, so closing the client misses it,
        and it later fires on a closed event loop."""
        for thread in threading.enumerate():
            if isinstance(thread, KeepAliveHandler) and thread.ws._connection is self._connection:
                thread.stop()

    async def _stop_engine(self) -> None:
        engine = self.services.engine
        if engine is None or not self._owns_engine:
            return
        try:
            # The engine drains in-flight jobs itself; the grace period bounds how long shutdown may wait for it.
            await asyncio.wait_for(engine.stop(), timeout=self.settings.shutdown_grace_seconds)
        except TimeoutError:
            log.warning("Engine service did not stop within the grace period", extra={"seconds": self.settings.shutdown_grace_seconds})
        except Exception:
            log.exception("Engine service did not stop cleanly")

    async def _close_storage(self) -> None:
        if not self.services.has_storage:
            return
        storage = self.services.storage
        try:
            # Whatever the engine could not finish in its grace period is recorded, so users can be told.
            left = await storage.jobs.mark_interrupted_on_startup(self.holds_jobs_of)
            if left:
                log.warning("Jobs interrupted by shutdown", extra={"count": len(left)})
        except Exception:
            log.exception("Could not record interrupted jobs")
        if self._owns_storage:
            await storage.close()
            self.services.attach_storage(None)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        log.exception("Unhandled error in event handler", extra={"event": event_method})


class ShardedTunesmithBot(TunesmithBot, commands.AutoShardedBot):
    """The bot with settings.shard_count: discord.py's AutoShardedBot running this process's `shard_ids` (all of
    them when none are named) in one process. Several such processes, each with its own shard_ids, share the
    database and the media folder (docs/DEPLOY.md, "Shards")."""


def bot_class(settings: Settings) -> type[TunesmithBot]:
    """TunesmithBot unsharded (the default), ShardedTunesmithBot when shard_count is set."""
    return ShardedTunesmithBot if settings.shard_count is not None else TunesmithBot
