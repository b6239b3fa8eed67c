"""From an engine job to a posted track: queue position, storage, files, buttons and rating reactions.

The data flow of every track-making command: command -> EngineJob -> engine service -> TrackResult ->
storage (media files + track row) -> reply. The interaction must not be answered yet: `publish` submits the job
first, so a full queue is refused with an ephemeral message before anything is shown to the channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import discord

from bot.errors import UserFacingError
from bot.recipes import Recipe
from bot.track_messages import RATING_EMOJI, track_embed, track_files
from engine.music import Key
from engine.errors import EngineError
from engine.protocols import Engine
from engine.service import EngineBusy, EngineJob, JobTicket, TrackResult
from engine.tokens import piece_to_arrays
from storage import DatabaseBusyError, Job, NewTrack, Track
from storage.retention import TOKEN_LIFETIME

if TYPE_CHECKING:
    from bot.client import TunesmithBot

log = logging.getLogger(__name__)

T = TypeVar("T")

# Another program holding the database (a backup, an sqlite3 shell) must not cost anyone a finished track:
# writes are retried until it lets go, for up to this long, and the user is told why the track is late.
PATIENT_WRITE_LIMIT_S = 1800.0
MAX_RETRY_DELAY_S = 15.0
# Discord accepts an interaction's token (to edit its response, or follow it up) for 15 minutes.
INTERACTION_TOKEN_LIFETIME_S = TOKEN_LIFETIME.total_seconds()  # one fact: the retention sweep drops tokens past it
# How long the acknowledgement waits for the job's record to be committed (Discord allows 3 s in all).
RECORD_BEFORE_ACK_S = 1.0
WAITING_TO_START = ("⏳ The database is busy (another program is holding it). Your track is being composed anyway, "
                    "and will be saved and posted here as soon as the database is free.")
WAITING_TO_SAVE = ("💾 Your track is finished, but the database is busy (another program is holding it). "
                   "The track is kept, and will be saved and posted here as soon as the database is free.")

def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def queue_text(position: int) -> str:
    if position <= 0:
        return "🎼 Composing…"
    return f"⏳ {ordinal(position)} in queue…"


def busy_text(error: EngineBusy) -> str:
    return error.user_message


@contextlib.contextmanager
def engine_errors_shown() -> Iterator[None]:
    """The one translation of the engine's errors for a command: each carries the message its user sees
    (engine.errors.EngineError.user_message), raised as UserFacingError so the reply shows it ephemerally."""
    try:
        yield
    except EngineError as exc:
        raise UserFacingError(exc.user_message) from None


@dataclass(frozen=True)
class TrackOrigin:
    """Who asked for a track and what it descends from."""

    guild_id: int | None
    channel_id: int | None
    user_id: int
    parent_id: int | None = None
    relation: str | None = None  # variation, extend, restyle, remood, regenerate, continue
    recipe: Recipe | None = None  # how it is made (bot.recipes): kept with the job and the track


def features_of(result: TrackResult) -> dict[str, float]:
    """Musical features stored with a track for recommendations (engine.service.TrackFeatures), by name."""
    return result.features().as_dict()


class TrackPublisher:
    """Runs track-making jobs for the cogs and posts the results."""

    def __init__(self, bot: TunesmithBot) -> None:
        self.bot = bot
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def engine(self) -> Engine:
        engine = self.bot.services.engine
        if engine is None:
            raise UserFacingError("The composer is still starting up. Please try again in a few seconds.")
        return engine

    def submit(self, job: EngineJob) -> JobTicket:
        """Queue the job, or raise UserFacingError (shown ephemerally) when the engine is busy or the input is bad."""
        with engine_errors_shown():
            return self.engine.submit(job)

    async def publish(self, interaction: discord.Interaction[Any], job: EngineJob, origin: TrackOrigin, *, kind: str, view_factory: Any) -> Track | None:
        """Submit, defer, show queue positions, then post the track. Returns the stored track, or None on failure."""
        storage = self.bot.services.storage
        ticket = self.submit(job)
        request: dict[str, Any] = {"request": asdict(job.request), "parent_id": origin.parent_id, "relation": origin.relation}
        if origin.recipe is not None:  # what a restart needs to make it again (bot.recipes)
            request["recipe"] = origin.recipe.to_json()

        def create() -> Awaitable[Job]:
            return storage.jobs.create(
                kind,
                request,
                user_id=origin.user_id,
                guild_id=origin.guild_id,
                channel_id=origin.channel_id,
                application_id=interaction.application_id,
                interaction_token=interaction.token,
            )

        # The job is committed before the user sees the acknowledgement, so a crash right after cannot lose
        # it (jobs share group commits: milliseconds). A database held by another program must not cost the
        # acknowledgement itself: past RECORD_BEFORE_ACK_S the bot acknowledges and goes on waiting.
        first_try = asyncio.ensure_future(create())
        try:
            await asyncio.wait_for(asyncio.shield(first_try), RECORD_BEFORE_ACK_S)
        except (asyncio.TimeoutError, DatabaseBusyError):
            pass
        try:
            if not interaction.response.is_done():  # uploads acknowledge before they read the file
                await interaction.response.defer(thinking=True)
        except discord.HTTPException:
            ticket.cancel()
            # The record may already be committed: close it, so a restart does not tell the user about a job
            # they were never told had started.
            with contextlib.suppress(Exception):
                await storage.jobs.fail((await first_try).id, "the acknowledgement could not be sent")
            raise
        reply = InteractionReply(interaction)
        waiting = lambda: self._edit(reply, content=WAITING_TO_START)  # noqa: E731
        attempts = iter([first_try])
        record = await when_free(lambda: next(attempts, None) or create(), waiting)
        await when_free(lambda: storage.jobs.start(record.id), waiting)
        return await self._complete(reply, ticket, record, origin, view_factory)

    async def resume(self, record: Job, job: EngineJob, origin: TrackOrigin, reply: "Reply", *, view_factory: Any) -> Track | None:
        """Run again a job an earlier run of the bot acknowledged but did not finish (it is `interrupted`), answering
        in that run's response (`reply`): its queue positions, then the track. Returns the stored track, or None."""
        storage = self.bot.services.storage
        try:
            ticket = self.submit(job)
        except UserFacingError as exc:
            message = exc.message
            await when_free(lambda: storage.jobs.requeue(record.id))
            await when_free(lambda: storage.jobs.fail(record.id, message))
            await self._edit(reply, content=f"❌ Tunesmith restarted while composing this, and could not start it again: {message}")
            return None
        await when_free(lambda: storage.jobs.requeue(record.id))
        await when_free(lambda: storage.jobs.start(record.id))
        return await self._complete(reply, ticket, record, origin, view_factory)

    async def _complete(self, reply: "Reply", ticket: JobTicket, record: Job, origin: TrackOrigin, view_factory: Any) -> Track | None:
        """From a started job to the posted track, answering in `reply`."""
        storage = self.bot.services.storage
        positions = asyncio.create_task(self._show_positions(reply, ticket))
        try:
            result = await ticket.result()
        except EngineError as exc:  # the job failed after it was acknowledged: say why in its reply
            message = exc.user_message
            await when_free(lambda: storage.jobs.fail(record.id, message))
            await self._edit(reply, content=f"❌ {message}")
            return None
        except asyncio.CancelledError:
            await storage.jobs.fail(record.id, "cancelled")
            raise
        finally:
            positions.cancel()
        saving = lambda: self._edit(reply, content=WAITING_TO_SAVE)  # noqa: E731
        track = await when_free(lambda: self._store(result, origin, record.id), saving)
        # Record which message will carry the track before it appears, so the first reaction already counts.
        original = await self._original(reply)
        if original is not None:
            await when_free(lambda: storage.tracks.set_message(track.id, original.id, original.channel.id))
        message = await self._post(reply, track, result, view_factory(track.id))
        if message is None:
            await when_free(lambda: storage.jobs.fail(record.id, "the reply could not be posted"))
            return track
        if original is None or message.id != original.id:
            await when_free(lambda: storage.tracks.set_message(track.id, message.id, message.channel.id))
        await when_free(lambda: storage.jobs.finish(record.id, track_id=track.id, message_id=message.id))
        self._spawn(self._add_rating_reactions(message))
        return await storage.tracks.require(track.id)

    async def _show_positions(self, reply: "Reply", ticket: JobTicket) -> None:
        try:
            async for position in ticket.positions():
                await self._edit(reply, content=queue_text(position))
        except asyncio.CancelledError:
            pass

    async def _store(self, result: TrackResult, origin: TrackOrigin, job_id: int) -> Track:
        storage = self.bot.services.storage
        composition, rendered = result.composition, result.track
        request, plan, piece = composition.request, composition.plan, composition.piece
        # Files are written with fsync: off the event loop, so other users' interactions are not held up.
        midi_path, mp3_path, png_path = await asyncio.to_thread(
            lambda: (storage.media.put(rendered.midi, ".mid"), storage.media.put(rendered.mp3, ".mp3"), storage.media.put(rendered.png, ".png"))
        )
        return await storage.tracks.add(
            NewTrack(
                guild_id=origin.guild_id,
                channel_id=origin.channel_id,
                user_id=origin.user_id,
                style=plan.style,
                mood=plan.mood.name,
                key=plan.key.name,
                tempo=float(plan.tempo),
                form=plan.form,
                bars=piece.bars,
                seed=int(request.seed or 0),
                sampler=request.sampler,
                prompt=request.prompt,
                model_version=composition.model_version,
                latent=composition.latent,
                features=features_of(result),
                tokens=piece_to_arrays(piece),
                parent_id=origin.parent_id,
                relation=origin.relation,
                midi_path=midi_path,
                mp3_path=mp3_path,
                png_path=png_path,
                recipe=None if origin.recipe is None else origin.recipe.with_seed(request.seed).to_json(),
            ),
            job_id=job_id,  # storage anonymises the track if its user asked to be forgotten meanwhile
        )

    async def _post(self, reply: "Reply", track: Track, result: TrackResult, view: discord.ui.View) -> discord.Message | None:
        rendered = result.track
        notes = "\n".join(f"ℹ️ {note}" for note in result.composition.plan.unmet) or None
        files = track_files(track, rendered.midi, rendered.mp3, rendered.png)
        try:
            return await reply.edit(content=notes, embed=track_embed(track), attachments=files, view=view)
        except discord.HTTPException:
            log.warning("Could not edit the original response; posting in the channel", exc_info=True)
        channel = reply.channel
        if channel is None or not hasattr(channel, "send"):
            return None
        try:
            files = track_files(track, rendered.midi, rendered.mp3, rendered.png)
            mention = f"<@{track.user_id}>" if track.user_id else None
            return await channel.send(content="\n".join(filter(None, (mention, notes))) or None, embed=track_embed(track), files=files, view=view)  # type: ignore[union-attr]
        except discord.HTTPException:
            log.exception("Could not post track %s", track.id)
            return None

    async def _original(self, reply: "Reply") -> discord.Message | None:
        try:
            return await reply.original()
        except discord.HTTPException:
            return None

    async def _edit(self, reply: "Reply", **kwargs: Any) -> None:
        try:
            await reply.edit(**kwargs)
        except discord.HTTPException:
            log.info("Could not edit the original response", exc_info=True)

    async def _add_rating_reactions(self, message: discord.Message) -> None:
        for emoji in RATING_EMOJI:
            try:
                await message.add_reaction(emoji)
            except discord.HTTPException:
                log.info("Could not add rating reaction %s", emoji, exc_info=True)
                return

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class Reply(Protocol):
    """Where a track-making job answers: the response to its interaction (edited), or its channel as a fallback."""

    @property
    def channel(self) -> Any: ...

    async def edit(self, **kwargs: Any) -> discord.Message: ...

    async def original(self) -> discord.Message: ...


class InteractionReply:
    """The response to an interaction this run of the bot received."""

    def __init__(self, interaction: discord.Interaction[Any]) -> None:
        self.interaction = interaction

    @property
    def channel(self) -> Any:
        return self.interaction.channel

    async def edit(self, **kwargs: Any) -> discord.Message:
        return await self.interaction.edit_original_response(**kwargs)

    async def original(self) -> discord.Message:
        return await self.interaction.original_response()


class StoredReply:
    """The response to an interaction an earlier run of the bot acknowledged, from the application id and token its
    job record kept: edited through the interaction's webhook (PATCH /webhooks/{application_id}/{token}/messages/@original),
    which Discord honours for INTERACTION_TOKEN_LIFETIME_S after the interaction. The token is never logged."""

    def __init__(self, bot: TunesmithBot, application_id: int, token: str, channel_id: int | None) -> None:
        self._webhook = discord.Webhook.partial(application_id, token, client=bot)
        self._bot = bot
        self._channel_id = channel_id

    def __repr__(self) -> str:
        return f"StoredReply(channel_id={self._channel_id})"

    @property
    def channel(self) -> Any:
        if self._channel_id is None:
            return None
        return self._bot.get_channel(self._channel_id) or self._bot.get_partial_messageable(self._channel_id)

    async def edit(self, **kwargs: Any) -> discord.Message:
        return await self._webhook.edit_message("@original", **kwargs)  # type: ignore[arg-type]  # the route takes "@original" for an id

    async def original(self) -> discord.Message:
        return await self._webhook.fetch_message("@original")  # type: ignore[arg-type]


class ChannelReply:
    """A message of the bot's own in the job's channel, for an interrupted job whose interaction token has expired
    (its original response can no longer be edited): the job answers there, and every state of it (queue
    positions, the track, an error) keeps mentioning the user who asked."""

    def __init__(self, message: discord.Message, user_id: int) -> None:
        self._message = message
        self._mention = f"<@{user_id}>"

    def __repr__(self) -> str:
        return f"ChannelReply(message_id={self._message.id})"

    @property
    def channel(self) -> Any:
        return self._message.channel

    async def edit(self, **kwargs: Any) -> discord.Message:
        content = kwargs.get("content")
        kwargs["content"] = f"{self._mention} {content}" if content else self._mention
        self._message = await self._message.edit(**kwargs)
        return self._message

    async def original(self) -> discord.Message:
        return self._message


async def when_free(write: Callable[[], Awaitable[T]], on_first_wait: Callable[[], Awaitable[None]] | None = None) -> T:
    """Run `write`, again and again while another program holds the database (each try already waits the busy
    timeout), for up to PATIENT_WRITE_LIMIT_S; `on_first_wait` tells the user once. Raises DatabaseBusyError after."""
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + PATIENT_WRITE_LIMIT_S
    delay = 1.0
    told = False
    while True:
        try:
            return await write()
        except DatabaseBusyError:
            if loop.time() >= give_up_at:
                raise
            log.warning("The database is held by another program; retrying the write", extra={"retry_in_s": delay})
            if not told and on_first_wait is not None:
                told = True
                await on_first_wait()
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY_S)


def key_of(track: Track) -> Key:
    return Key.parse(track.key)
