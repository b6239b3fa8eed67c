"""Running the bot until it is told to stop: against Discord with a token, else against an in-process playground.

Ctrl-C or SIGTERM stops it cleanly: the bot refuses new commands, lets the engine finish what it can,
records the rest as interrupted, and closes storage; then the playground stops. A second Ctrl-C stops at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from enum import StrEnum

import discord

from bot.client import StartupError, TunesmithBot, bot_class
from bot.config import Settings
from bot.logging import register_secret
from storage.backup import BackupSchedule

log = logging.getLogger(__name__)

CONNECT_END_TIMEOUT_S = 10.0  # how long a stop waits for a cancelled connect (or, after the close, the bot) to end
CONNECT_CANCEL_RETRY_S = 0.25  # how often the cancel of a connect is repeated while it has not ended


class Target(StrEnum):
    AUTO = "auto"  # Discord when a token is set, else the playground
    DISCORD = "discord"
    PLAYGROUND = "playground"


class RunError(Exception):
    """The bot could not start for a reason the operator can fix; the message says how."""


def choose_target(settings: Settings, requested: Target) -> Target:
    if requested is Target.DISCORD and settings.discord_token is None:
        raise RunError("--discord needs a bot token: set the DISCORD_TOKEN environment variable.")
    if requested is Target.AUTO:
        return Target.DISCORD if settings.discord_token is not None else Target.PLAYGROUND
    return requested


async def run_bot(
    settings: Settings,
    target: Target = Target.AUTO,
    *,
    host: str | None = None,
    port: int | None = None,
    announce: Callable[[str], None] = print,
    stop: asyncio.Event | None = None,
    playground_url: str | None = None,
    playground_token: str | None = None,
) -> int:
    """Run until `stop` is set (by default: until SIGINT/SIGTERM); returns the process exit code.

    `announce` receives the line telling people where to try the bot (the playground's address).
    `playground_url` (with its bot token): connect to a playground that is already running, as each shard
    process of `tunesmith run --shards N` does, instead of starting one.
    """
    if playground_url is not None:
        if not playground_token:
            raise RunError("Connecting to a running playground needs its bot token.")
        return await _run_on_playground(settings, playground_url, playground_token, announce, stop)
    target = choose_target(settings, target)
    if stop is None:
        stop = asyncio.Event()
        _install_signal_handlers(stop)
    async with contextlib.AsyncExitStack() as stack:
        if target is Target.PLAYGROUND:
            from bot.playground import Playground, configure_discord  # only needed without Discord

            playground = Playground(host=host or settings.playground_host, port=settings.playground_port if port is None else port)
            try:
                await playground.start()
            except OSError as exc:
                raise RunError(
                    f"The playground cannot listen on {playground.host}:{playground.port} ({exc.strerror or exc}). "
                    "Choose another port with --port or TUNESMITH_PLAYGROUND_PORT."
                ) from None
            stack.push_async_callback(playground.stop)
            configure_discord(playground.url)
            token = playground.bot_token
            # Sharded, the playground's servers are spread over the shards: commands are global, as on Discord.
            sync_guild = None if settings.shard_count is not None else playground.guild_id
            bot = bot_class(settings)(settings, sync_guild_id=sync_guild, guild_ready_timeout=0.1, reidentify_delay=0.1)
            where = f"Open {playground.url} to try Tunesmith"
        else:
            assert settings.discord_token is not None
            token = settings.discord_token.get_secret_value()
            bot = bot_class(settings)(settings)
            where = "Connected to Discord"
        register_secret(token)
        return await _serve(bot, token, stop, lambda: _announce_ready(bot, where, announce))


async def _run_on_playground(settings: Settings, url: str, token: str, announce: Callable[[str], None], stop: asyncio.Event | None) -> int:
    from bot.playground import configure_discord

    if stop is None:
        stop = asyncio.Event()
        _install_signal_handlers(stop)
    configure_discord(url)
    register_secret(token)
    # Commands are global: the playground's servers may be spread over several shards.
    bot = bot_class(settings)(settings, sync_guild_id=None, guild_ready_timeout=0.1, reidentify_delay=0.1)
    where = f"Connected to the playground at {url} ({settings.shard_scope.describe()})"
    return await _serve(bot, token, stop, lambda: _announce_ready(bot, where, announce))


async def _serve(bot: TunesmithBot, token: str, stop: asyncio.Event, on_ready: Callable[[], None]) -> int:
    running = asyncio.create_task(bot.start(token), name="tunesmith-bot")
    ready = asyncio.create_task(bot.wait_until_ready(), name="tunesmith-ready")
    stopping = asyncio.create_task(stop.wait(), name="tunesmith-stop")
    backups: asyncio.Task[None] | None = None
    retention: asyncio.Task[None] | None = None
    try:
        # A stop before READY counts too: a shard whose parent died while it connected must not wait for ever.
        done, _ = await asyncio.wait({running, ready, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if ready in done and not stop.is_set():
            on_ready()
            backups = _start_backups(bot)
            retention = _start_retention(bot)
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ready.cancel()
        stopping.cancel()
        if backups is not None:
            backups.cancel()
        if retention is not None:
            retention.cancel()
        if not running.done() and not bot.is_ready():
            # Stopped while connecting: end the connect first, or the close below shuts the HTTP session under a
            # gateway handshake, which discord.py logs as a failed connection with a traceback and retries.
            await _end_connect(running)
        await bot.close()
        if not running.done():
            await asyncio.wait({running}, timeout=CONNECT_END_TIMEOUT_S)
    return _exit_code(running)


async def _end_connect(running: asyncio.Task[None]) -> None:
    """Cancel a connect in progress and wait until it ends, at most CONNECT_END_TIMEOUT_S.

    The cancel is repeated: discord.py's sharded connect swallows one that lands while a shard reconnects
    (Shard.reconnect and reidentify return on CancelledError) and then waits on its event queue for ever.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CONNECT_END_TIMEOUT_S
    while not running.done() and loop.time() < deadline:
        running.cancel()
        await asyncio.wait({running}, timeout=CONNECT_CANCEL_RETRY_S)


def _announce_ready(bot: TunesmithBot, where: str, announce: Callable[[str], None]) -> None:
    announce(where)
    if bot.services.model_notice:  # the operator hears of a model fallback too, not only admins in /model info
        announce(f"⚠️ {bot.services.model_notice}")


def _start_backups(bot: TunesmithBot) -> asyncio.Task[None] | None:
    """Periodic online backups of the database while the bot runs (backup_interval_hours; 0 turns them off)."""
    settings = bot.settings
    if settings.backup_interval_hours <= 0 or not bot.services.has_storage:
        return None
    if settings.shard_scope.sharded and 0 not in settings.shard_scope.ids:
        return None  # shards share one database: the process running shard 0 backs it up
    if bot.services.storage.db.path is None:  # PostgreSQL: backed up by the server's own tools
        log.info("Online backups are SQLite's; on PostgreSQL back up with pg_dump (docs/DEPLOY.md)")
        return None
    schedule = BackupSchedule(bot.services.storage.db.path, settings.backups_dir, settings.backup_interval_hours * 3600, settings.backup_keep)
    log.info("Online backups on", extra={"folder": str(settings.backups_dir), "hours": settings.backup_interval_hours, "keep": settings.backup_keep})
    return asyncio.create_task(schedule.run(), name="tunesmith-backups")


def _start_retention(bot: TunesmithBot) -> asyncio.Task[None] | None:
    """The media retention sweep (storage.retention) at start and every media_prune_interval_hours; 0 days keeps all."""
    settings = bot.settings
    if settings.media_retention_days <= 0 or not bot.services.has_storage:
        return None

    async def sweep() -> None:
        from storage.retention import prune_media

        while True:
            try:
                storage = bot.services.storage
                report = await prune_media(storage.db, storage.media, retention_days=settings.media_retention_days, models_dir=settings.models_dir)
                if report.tracks_pruned or report.files_deleted or report.retrain_runs_deleted:
                    log.info("Media retention sweep: " + report.summary())
            except Exception:
                log.exception("Media retention sweep failed; it runs again later")
            await asyncio.sleep(settings.media_prune_interval_hours * 3600)

    log.info("Media retention on", extra={"days": settings.media_retention_days, "every_hours": settings.media_prune_interval_hours})
    return asyncio.create_task(sweep(), name="tunesmith-retention")


def _exit_code(running: asyncio.Task[None]) -> int:
    if not running.done():
        running.cancel()
        return 0
    if running.cancelled() or running.exception() is None:
        return 0
    error = running.exception()
    if isinstance(error, discord.LoginFailure):
        log.error("Discord refused the token: check DISCORD_TOKEN")
    elif isinstance(error, StartupError):
        log.error(str(error))
    else:
        log.error("The bot stopped with an error", exc_info=error)
    return 1


def _install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.warning("Second signal: stopping now")
            if main is not None:
                main.cancel()
            return
        log.info("Stopping (press Ctrl-C again to stop at once)", extra={"signal": signal.Signals(signum).name})
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not available on Windows: Ctrl-C raises as usual there
            loop.add_signal_handler(signum, on_signal, signum)
