"""`/compose`, `/restyle`, `/continue` and the buttons on every track (Variation, Extend, Restyle, Re-mood).

Buttons are discord.py dynamic items: their custom ids carry the track id, so they keep working after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserFacingError
from bot.interactions import reply
from bot.plugins import PluginManifest
from bot.publishing import INTERACTION_TOKEN_LIFETIME_S, ChannelReply, Reply, StoredReply, TrackOrigin, TrackPublisher
from bot.recipes import EXTEND_BARS, VARIATION_STRENGTH, Recipe, SourceGone, Upload, engine_job, from_track, recipe_of
from bot.track_messages import TRACK_ITEMS, Relation, track_view
from engine.data.upload import UploadError, read_upload, size_problem
from engine.music import Piece
from engine.request import MAX_BARS, MIN_BARS, ComposeRequest
from engine.service import EngineJob
from engine.labels import MOODS, STYLES
from storage import Job, Scope, ServerSettings, Track
from storage.taste import active_taste_path

if TYPE_CHECKING:
    from bot.client import TunesmithBot

log = logging.getLogger(__name__)

MANIFEST = PluginManifest(
    name="compose",
    version="1.0.0",
    description="Composes tracks: /compose, /restyle and /continue, and the Variation, Extend, Restyle and Re-mood buttons.",
    permissions=["send_messages", "attach_files", "embed_links", "add_reactions"],
    user_data="The tracks you make: their parameters, files and the server and channel they were made in.",
    bot_versions=">=0.1,<1.0",
)

STYLE_CHOICES = [app_commands.Choice(name=s, value=s) for s in STYLES]
MOOD_CHOICES = [app_commands.Choice(name=m, value=m) for m in MOODS]
MODEL_CHOICES = [app_commands.Choice(name="GAN (default)", value="gan"), app_commands.Choice(name="VAE prior", value="prior")]
MIDI_SUFFIXES = (".mid", ".midi")
# A job interrupted by a restart is resumed in its original response only if its token (valid 15 minutes) has at
# least this long left, to compose and post the track.
RESUME_MARGIN_S = 120.0


def user_key(guild_id: int | None, user_id: int) -> str:
    return f"{guild_id or 'dm'}:{user_id}"


class Cooldowns:
    """When each user may compose again, per server."""

    def __init__(self) -> None:
        self._last: dict[tuple[int | None, int], float] = {}

    def check(self, guild_id: int | None, user_id: int, seconds: float) -> None:
        now = time.monotonic()
        last = self._last.get((guild_id, user_id))
        if last is not None and now - last < seconds:
            wait = seconds - (now - last)
            raise UserFacingError(f"Slow down: you can compose again in {wait:.0f} s." if wait >= 1 else "Slow down: try again in a second.")
        self._last[(guild_id, user_id)] = now


class ComposeCog(commands.Cog, name="Compose"):
    def __init__(self, bot: TunesmithBot) -> None:
        self.bot = bot
        self.publisher = TrackPublisher(bot)
        self.cooldowns = Cooldowns()
        self._in_flight: Counter[Scope] = Counter()  # per server, and per user in their DMs: no scope waits on another

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*TRACK_ITEMS)  # the track buttons (bot.track_messages) call self.action
        self.bot.loop.create_task(self._recover_interrupted())

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*TRACK_ITEMS)

    # Guards shared by every track-making action ----------------------------------------------------------

    async def _server_settings(self, interaction: discord.Interaction[Any]) -> ServerSettings:
        return await self.bot.services.storage.servers.get(interaction.guild_id) if interaction.guild_id else ServerSettings(guild_id=0)

    async def _admit(self, interaction: discord.Interaction[Any], settings: ServerSettings, style: str | None) -> None:
        if settings.allowed_channel_ids and not _in_allowed_channel(interaction, settings.allowed_channel_ids):
            channels = ", ".join(f"<#{c}>" for c in settings.allowed_channel_ids)
            raise UserFacingError(f"Tunesmith composes only in {channels} on this server.")
        if style and settings.allowed_styles and style not in settings.allowed_styles:
            raise UserFacingError(f"This server allows these styles: {', '.join(settings.allowed_styles)}.")
        cap = self.bot.settings.server_queue_cap
        scope = Scope.of(interaction.guild_id, interaction.user.id)
        if self._in_flight[scope] >= cap:
            where = "You already have" if scope.is_dm else "This server already has"
            raise UserFacingError(f"{where} {cap} tracks on the way. Try again in a minute.")
        seconds = settings.cooldown_seconds if settings.cooldown_seconds is not None else self.bot.settings.user_cooldown_seconds
        self.cooldowns.check(interaction.guild_id, interaction.user.id, seconds)

    async def _engine_job(self, recipe: Recipe, prompt: str | None, key: str, *, regenerate: bool = False) -> EngineJob:
        """The engine job a recipe describes (bot.recipes), or a UserFacingError saying why there is none."""
        try:
            return await engine_job(recipe, prompt=prompt, user_key=key, load_track=self.bot.services.storage.tracks.get, regenerate=regenerate)
        except SourceGone as exc:
            raise UserFacingError(str(exc)) from None
        except ValueError as exc:  # EngineInputError included
            raise UserFacingError(str(exc)) from None

    async def run(self, interaction: discord.Interaction[Any], job: EngineJob, *, kind: str, parent: Track | None = None, relation: str | None = None,
                  recipe: Recipe | None = None) -> Track | None:
        origin = TrackOrigin(interaction.guild_id, interaction.channel_id, interaction.user.id, parent.id if parent else None, relation, recipe)
        scope = Scope.of(interaction.guild_id, interaction.user.id)
        self._in_flight[scope] += 1
        try:
            return await self.publisher.publish(interaction, job, origin, kind=kind, view_factory=track_view)
        finally:
            self._in_flight[scope] -= 1

    async def _taste(self, user_id: int) -> tuple[str | None, str | None]:
        """The style and mood of the tracks this user rated best, for a /compose with neither given."""
        styles: Counter[str] = Counter()
        moods: Counter[str] = Counter()
        for style, mood, score in await self.bot.services.storage.ratings.liked_styles_and_moods(user_id):
            styles[style] += score
            moods[mood] += score
        return (styles.most_common(1)[0][0] if styles else None, moods.most_common(1)[0][0] if moods else None)

    # /compose ------------------------------------------------------------------------------------------

    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)  # in DMs: private to the user
    @app_commands.command(name="compose", description="Compose a new track")
    @app_commands.describe(
        style="Musical style",
        mood="Mood",
        prompt='Describe it in words, e.g. "rainy night in Tokyo"',
        key="Key, e.g. C, Eb, F#m",
        tempo="Tempo in bpm (40-240)",
        bars="Length in bars (4-32)",
        seed="Seed: the same seed and settings give the same track",
        model="Which sampler: the GAN (default) or the VAE's prior",
    )
    @app_commands.choices(style=STYLE_CHOICES, mood=MOOD_CHOICES, model=MODEL_CHOICES)
    async def compose(
        self,
        interaction: discord.Interaction[Any],
        style: str | None = None,
        mood: str | None = None,
        prompt: app_commands.Range[str, 1, 200] | None = None,
        key: app_commands.Range[str, 1, 12] | None = None,
        tempo: app_commands.Range[int, 40, 240] | None = None,
        bars: app_commands.Range[int, 4, 32] = 8,
        seed: app_commands.Range[int, 0, 2**31 - 1] | None = None,
        model: str = "gan",
    ) -> None:
        # The server's settings and its own taste (cogs.retrain), if it learned one (only its compositions are
        # steered), read together: the acknowledgement waits on these reads.
        settings, taste = await asyncio.gather(self._server_settings(interaction), active_taste_path(self.bot.services.storage.db, interaction.guild_id))
        if style is None and mood is None and prompt is None:
            style, mood = await self._taste(interaction.user.id)
        style = style or (settings.default_style if prompt is None else None)
        mood = mood or (settings.default_mood if prompt is None else None)
        await self._admit(interaction, settings, style)
        request = ComposeRequest(style=style, mood=mood, key=key, tempo=tempo, bars=bars, seed=seed, sampler=model, prompt=prompt, taste=taste)
        recipe = Recipe.of("compose", request)
        job = await self._engine_job(recipe, prompt, user_key(interaction.guild_id, interaction.user.id))
        await self.run(interaction, job, kind="compose", recipe=recipe)

    # /restyle and /continue on an uploaded MIDI file ---------------------------------------------------

    def _check_upload(self, upload: discord.Attachment) -> None:
        """What can be told from the attachment's name and size alone, before acknowledging."""
        if not upload.filename.lower().endswith(MIDI_SUFFIXES):
            raise UserFacingError("Please upload a MIDI file (.mid or .midi).")
        problem = size_problem(upload.size, self.bot.settings.max_upload_midi_bytes)
        if problem:
            raise UserFacingError(problem)

    async def _read_upload(self, upload: discord.Attachment) -> Piece:
        try:
            data = await upload.read()
        except discord.HTTPException:
            raise UserFacingError("I could not download that file. Please upload it again.") from None
        # The attachment's size was checked, but the bytes are what count.
        problem = size_problem(len(data), self.bot.settings.max_upload_midi_bytes)
        if problem:
            raise UserFacingError(problem)
        try:
            # Bounded (read_upload caps notes, tracks and length) but still up to a few seconds: off the event loop.
            return await asyncio.to_thread(read_upload, data)
        except UploadError as exc:
            raise UserFacingError(exc.reason) from None

    async def _from_upload(self, interaction: discord.Interaction[Any], settings: ServerSettings, upload: discord.Attachment,
                           style: str | None, make_recipe: Any, kind: str) -> None:
        """Check, acknowledge, read the file, then run the job it makes. Reading a large file takes longer than
        Discord's 3 s, so the command is deferred first; a refusal after that replaces the "thinking" message
        with an ephemeral one, as a refusal before it would have been."""
        await self._admit(interaction, settings, style)
        self._check_upload(upload)
        await interaction.response.defer(thinking=True)
        try:
            piece = await self._read_upload(upload)
            # The engine gets the piece as the recipe keeps it (its notes as tokens), so Regenerate replays it exactly.
            uploaded = _job(lambda: Upload.of(piece))
            recipe = _job(lambda: make_recipe(uploaded.piece(), uploaded, settings))
            job = await self._engine_job(recipe, None, user_key(interaction.guild_id, interaction.user.id))
            await self.run(interaction, job, kind=kind, recipe=recipe)
        except UserFacingError as exc:
            log.info("Upload refused", extra={"command": kind, "user": interaction.user.id, "reason": exc.message})
            await _withdraw(interaction, exc.message)

    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)  # in DMs: private to the user
    @app_commands.command(name="restyle", description="Turn an uploaded MIDI file into another style")
    @app_commands.describe(file="A MIDI file (melody and chords work best)", style="The new style", mood="Mood (optional)")
    @app_commands.choices(style=STYLE_CHOICES, mood=MOOD_CHOICES)
    async def restyle_upload(self, interaction: discord.Interaction[Any], file: discord.Attachment, style: str, mood: str | None = None) -> None:
        def make_recipe(piece: Piece, uploaded: Upload, settings: ServerSettings) -> Recipe:
            # read_upload keeps at most MAX_BARS bars; a file shorter than the shortest track is restyled into
            # MIN_BARS bars (the rest is rests), as the engine does.
            bars = max(MIN_BARS, piece.bars)
            request = ComposeRequest(style=style, mood=mood or settings.default_mood or "calm", key=piece.key.name, tempo=_tempo(piece), bars=bars)
            return Recipe.of("restyle_upload", request.validated(), target=style, upload=uploaded)

        await self._from_upload(interaction, await self._server_settings(interaction), file, style, make_recipe, "restyle")

    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)  # in DMs: private to the user
    @app_commands.command(name="continue", description="Continue an uploaded MIDI file")
    @app_commands.describe(file="A MIDI file to continue", bars="How many bars to add (4-32)", style="Style (optional)", mood="Mood (optional)")
    @app_commands.choices(style=STYLE_CHOICES, mood=MOOD_CHOICES)
    async def continue_upload(
        self,
        interaction: discord.Interaction[Any],
        file: discord.Attachment,
        bars: app_commands.Range[int, 4, 32] = 8,
        style: str | None = None,
        mood: str | None = None,
    ) -> None:
        settings = await self._server_settings(interaction)
        chosen = style or settings.default_style or "pop"

        def make_recipe(piece: Piece, uploaded: Upload, settings: ServerSettings) -> Recipe:
            request = ComposeRequest(style=chosen, mood=mood or settings.default_mood or "calm", key=piece.key.name, tempo=_tempo(piece), bars=bars)
            return Recipe.of("continue_upload", request.validated(), bars=bars, upload=uploaded)

        await self._from_upload(interaction, settings, file, chosen, make_recipe, "continue")

    # Buttons ---------------------------------------------------------------------------------------------

    async def _parent(self, interaction: discord.Interaction[Any], track_id: int) -> Track:
        # Only a track of this server (or, in a DM, one of the user's own DM tracks) can be worked on here.
        track = await self.bot.services.storage.tracks.get_in(Scope.of(interaction.guild_id, interaction.user.id), track_id)
        if track is None:
            raise UserFacingError(f"Track #{track_id} no longer exists.")
        return track

    async def action(self, interaction: discord.Interaction[Any], track_id: int, relation: Relation, value: str | None = None) -> None:
        """What every track button does: a new track linked to its parent. Each is described by a recipe (bot.recipes)
        kept with the job and the track; Regenerate replays the parent's recipe, so it makes the same piece whatever
        made the parent."""
        parent = await self._parent(interaction, track_id)
        settings = await self._server_settings(interaction)
        style = value if relation == "restyle" else parent.style
        await self._admit(interaction, settings, style)
        key = user_key(interaction.guild_id, interaction.user.id)
        prompt = None
        if relation == "variation":
            if parent.latent is None:
                raise UserFacingError(f"Track #{parent.id} has no latent code to vary.")
            recipe = Recipe.of("variation", from_track(parent, seed=None), source_track_id=parent.id, strength=VARIATION_STRENGTH)
        elif relation == "extend":
            if parent.bars + EXTEND_BARS > MAX_BARS:
                raise UserFacingError(f"Track #{parent.id} is {parent.bars} bars long; extending it would pass the {MAX_BARS}-bar limit.")
            recipe = Recipe.of("extend", from_track(parent, bars=parent.bars + EXTEND_BARS), source_track_id=parent.id, bars=EXTEND_BARS)
        elif relation in ("restyle", "remood"):
            changes = {"style": value} if relation == "restyle" else {"mood": value}
            recipe = Recipe.of(relation, from_track(parent, **changes), source_track_id=parent.id, target=str(value))
        else:
            recipe, prompt = recipe_of(parent), parent.prompt
        job = await self._engine_job(recipe, prompt, key, regenerate=relation == "regenerate")
        await self.run(interaction, job, kind=relation, parent=parent, relation=relation, recipe=recipe)

    async def _recover_interrupted(self) -> None:
        """Jobs cut short by the last shutdown or crash are made again from their recipes. While the interaction's
        token is still valid (Discord: 15 minutes), the job answers in its original response, which goes from
        "Composing…" to the track; past that, in a new message in the channel it was asked in, which mentions the
        user. A job that cannot be made again (no recipe, its source track deleted) says so in the same place."""
        await self.bot.wait_until_ready()
        jobs, self.bot.interrupted_jobs = list(getattr(self.bot, "interrupted_jobs", [])), []
        resumed = []
        for job in jobs:
            reply: Reply | None = _stored_reply(self.bot, job)
            recipe = job.request.get("recipe")
            if recipe and job.user_id is not None and self.bot.services.engine is not None:
                if reply is None:
                    reply = await self._channel_reply(job)
                if reply is not None:
                    resumed.append(asyncio.create_task(self._resume(job, reply, Recipe.from_json(recipe))))
                    continue
            await self._tell_interrupted(job, reply)
        if resumed:
            log.info("Resuming interrupted jobs", extra={"count": len(resumed)})
            await asyncio.gather(*resumed, return_exceptions=True)

    async def _channel_reply(self, job: Job) -> ChannelReply | None:
        """A new message in the job's channel, mentioning its user, for a job whose token has expired; None if the
        bot can no longer post there."""
        assert job.user_id is not None
        channel = self._channel_of(job)
        if channel is None:
            return None
        try:
            message = await channel.send(f"<@{job.user_id}> Tunesmith restarted while composing this for you ({_what(job)}). Composing it again…")
        except discord.HTTPException:
            log.info("Could not post in the channel of interrupted job %s", job.id)
            return None
        with contextlib.suppress(Exception):  # the expired token is no use now
            await self.bot.services.storage.jobs.forget_token(job.id)
        return ChannelReply(message, job.user_id)

    def _channel_of(self, job: Job) -> Any:
        if job.channel_id is None:
            return None
        # A DM channel is not cached after a restart: a partial one can still be posted to.
        channel = self.bot.get_channel(job.channel_id) or self.bot.get_partial_messageable(job.channel_id)
        return channel if hasattr(channel, "send") else None

    async def _resume(self, job: Job, reply: Reply, recipe: Recipe) -> None:
        assert job.user_id is not None
        request = job.request
        origin = TrackOrigin(job.guild_id, job.channel_id, job.user_id, request.get("parent_id"), request.get("relation"), recipe)
        prompt = (request.get("request") or {}).get("prompt")
        try:
            engine_job = await self._engine_job(recipe, prompt, user_key(job.guild_id, job.user_id), regenerate=job.kind == "regenerate")
        except UserFacingError as exc:
            await self._tell_interrupted(job, reply, because=exc.message)
            return
        scope = Scope.of(job.guild_id, job.user_id)
        self._in_flight[scope] += 1
        try:
            await self.publisher.resume(job, engine_job, origin, reply, view_factory=track_view)
        except Exception:
            log.exception("Could not resume interrupted job %s", job.id)
        finally:
            self._in_flight[scope] -= 1

    async def _tell_interrupted(self, job: Job, reply: Reply | None, because: str | None = None) -> None:
        if job.user_id is None:
            return
        text = f"Tunesmith restarted while composing ({_what(job)}). Please run it again."
        if because:
            text = f"Tunesmith restarted while composing ({_what(job)}), and cannot make it again: {because}"
        told = False
        if reply is not None:
            try:
                await reply.edit(content=f"❌ {text}")
                told = True
            except discord.HTTPException:
                log.info("Could not edit the response of interrupted job %s", job.id)
        if not told:
            channel = self._channel_of(job)
            if channel is not None:
                try:
                    await channel.send(f"<@{job.user_id}> {text}")  # type: ignore[union-attr]
                except discord.HTTPException:
                    log.info("Could not tell user %s about interrupted job %s", job.user_id, job.id)
        with contextlib.suppress(Exception):  # the token is no longer needed
            await self.bot.services.storage.jobs.forget_token(job.id)


def _what(job: Job) -> str:
    """The job as its user asked for it, for messages about it: "compose: folk, happy"."""
    request = job.request.get("request", {})
    return f"{job.kind}: " + (", ".join(str(request[k]) for k in ("style", "mood") if request.get(k)) or "your track")


def _stored_reply(bot: TunesmithBot, job: Job) -> StoredReply | None:
    """The job's original response while Discord still accepts its token (with a margin for composing the track)."""
    if job.application_id is None or not job.interaction_token:
        return None
    age = (datetime.now(timezone.utc) - job.created_at).total_seconds()
    if age > INTERACTION_TOKEN_LIFETIME_S - RESUME_MARGIN_S:
        return None
    return StoredReply(bot, job.application_id, job.interaction_token, job.channel_id)


def _tempo(piece: Any) -> int:
    return int(min(240, max(40, round(piece.tempo))))


async def _withdraw(interaction: discord.Interaction[Any], message: str) -> None:
    """Tell the user why, ephemerally, after the command was deferred: the public "thinking" message goes, since
    the first follow-up would otherwise replace it, visible to everyone."""
    try:
        await interaction.delete_original_response()
    except discord.HTTPException:
        log.info("Could not delete the deferred response", exc_info=True)
    await reply(interaction, message, ephemeral=True)


def _job(make: Any) -> Any:
    """Build an engine job (or its recipe), turning bad input into a message for the user."""
    try:
        return make()
    except ValueError as exc:  # EngineInputError included
        raise UserFacingError(str(exc)) from None


def _in_allowed_channel(interaction: discord.Interaction[Any], allowed: tuple[int, ...]) -> bool:
    """An allowed channel, or a thread under one (a thread's parent is where the server allowed music)."""
    if interaction.channel_id in allowed:
        return True
    parent_id = getattr(interaction.channel, "parent_id", None)
    return parent_id is not None and parent_id in allowed


async def setup(bot: TunesmithBot) -> None:
    await bot.add_cog(ComposeCog(bot))
