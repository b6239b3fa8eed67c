"""Each server's own taste, for its admins; the shared model, for the bot's owners.

`/retrain start` learns this server's taste from this server's ratings only (engine.taste: a critic of the
ratings in the model's latent space and an actor that steers the GAN's latents toward what the server likes),
in a separate process, so the bot keeps answering; it is stored and versioned per server and applied only
when this server composes. No member's ratings weigh more than `retrain_max_member_share` of it, and at least
`retrain_min_raters` members must have rated. `/model info|history|rollback|activate` show and change this
server's taste (rollback past the first version returns to the shared model as it is; activate puts a registered
version in use, such as a candidate a run left unused). `/retrain status` shows the running run, or how the last
one ended (a run the bot never saw end, because it was killed, says interrupted).

`/retrain base` fine-tunes the shared model every server uses (engine.finetune) and `/model rollback
target:shared` / `/model activate target:shared` change it: these are for the bot's owners only.

The workflow (runs, their records, promotion and rollback) is bot.registry's; this cog only translates between
Discord and it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserFacingError
from bot.permissions import admin_only, ensure_owner, owner_only
from bot.plugins import PluginManifest
from bot.registry import ActiveRun, ModelRegistry, RunOutcome
from storage.runs import TrainingRun
from storage.taste import TasteModelRepository, TasteVersion

if TYPE_CHECKING:
    from bot.client import TunesmithBot

log = logging.getLogger(__name__)

MANIFEST = PluginManifest(
    name="retrain",
    version="2.1.0",
    description="/retrain start|cancel|status learns this server's own taste from its ratings; /model info|history|rollback|activate. Server admins; the shared model: owners.",
    permissions=["send_messages", "embed_links"],
    user_data="None of its own: it trains on the ratings the rating plugin keeps (anonymous scores of tracks).",
    bot_versions=">=0.1,<1.0",
)

BAR_WIDTH = 20
TASTE_STEPS = 300
STAGES = {"vae": "tuning the VAE", "gan": "tuning the GAN", "critic": "learning what this server likes", "actor": "learning to steer toward it"}
STATUS_MARKS = {"running": "🛠️", "finished": "✅", "failed": "❌", "cancelled": "🛑", "interrupted": "⚠️"}


def progress_bar(done: int, total: int) -> str:
    filled = round(BAR_WIDTH * done / max(1, total))
    return "█" * filled + "░" * (BAR_WIDTH - filled) + f" {100 * done // max(1, total)}%"


def status_text(run: ActiveRun) -> str:
    last = run.last
    step, total = (last.step, last.total) if last else (0, 1)
    stage = STAGES.get(last.stage if last else "", "starting")
    metrics = ", ".join(f"{k} {last.metrics[k]:g}" for k in ("loss", "critic", "generator", "gain", "distance") if last and k in last.metrics)
    return f"🛠️ Retraining {run.what} ({stage}), started by <@{run.started_by}>\n`{progress_bar(step, total)}` {metrics} · {run.elapsed:.0f} s"


def unchanged_text(kind: str) -> str:
    return "This server keeps composing as before." if kind == "taste" else "The current model keeps serving."


def outcome_text(run: ActiveRun, outcome: RunOutcome) -> str:
    """What the progress message says once the run has ended."""
    unchanged = unchanged_text(run.kind)
    if outcome.status == "cancelled":
        return f"🛑 Retrain cancelled. {unchanged}"
    if outcome.status == "interrupted":
        return f"⚠️ Retrain interrupted: {outcome.error}. {unchanged}"
    metrics = outcome.metrics
    if run.kind == "taste":
        summary = (f"held-out correlation {metrics.get('held_out_correlation')}, {metrics.get('rated_tracks')} tracks rated by {metrics.get('raters')} members, "
                   f"largest member share {metrics.get('largest_member_share')}")
    else:
        summary = "; ".join(f"{name} {values['base']} → {values['candidate']}" for name, values in metrics.items() if isinstance(values, dict) and "base" in values)
    if outcome.status == "failed":
        if outcome.version:  # registered, but it could not be put in use
            return f"❌ The new model {outcome.version} could not be loaded ({outcome.error}); the current model keeps serving. /model activate can try it again."
        return f"❌ Retrain failed: {outcome.error}. {unchanged}"
    if run.kind == "taste":
        if not outcome.active:
            return (f"↩️ Learned a taste ({outcome.version}) but it is not used: {outcome.reason}.\n{summary}\nThis server keeps composing as before. "
                    f"/model activate version:{outcome.version} puts it in use anyway.")
        return f"✅ This server now composes with its own taste **{outcome.version}**: {outcome.reason}.\n{summary}\nOther servers are not affected; /model rollback undoes it."
    if not outcome.active:
        return f"↩️ Retrain finished but the new model was not promoted: {outcome.reason}.\n{summary}\nThe current model keeps serving."
    return f"✅ Promoted model **{outcome.version}**: {outcome.reason}.\n{summary}\nServers' tastes trained on the previous model no longer apply until they retrain."


def record_text(run: TrainingRun) -> str:
    """A recorded run, for /retrain status when none is running."""
    what = "this server's taste" if run.kind == "taste" else "the shared model"
    when = discord.utils.format_dt(run.ended_at or run.started_at, "R")
    text = f"{STATUS_MARKS.get(run.status, '')} The last retrain of {what} (started by <@{run.started_by}>) **{run.status}** {when}: {run.outcome or 'no details'}."
    if run.status != "running" and run.progress:
        step, total = int(run.progress.get("step", 0)), int(run.progress.get("total", 1))
        text += f"\nIt had got to `{progress_bar(step, total)}`."
    if run.candidate_version and not run.activated:
        target = "" if run.kind == "taste" else " target:shared"
        text += f"\nIts candidate **{run.candidate_version}** is not in use: /model activate version:{run.candidate_version}{target} puts it in use."
    return text


class ProgressMessage:
    """The channel message that shows one run's progress (bot.registry.RunObserver)."""

    def __init__(self) -> None:
        self.message: discord.Message | None = None

    async def post(self, interaction: discord.Interaction[Any], run: ActiveRun) -> None:
        if interaction.channel is not None and hasattr(interaction.channel, "send"):
            try:
                self.message = await interaction.channel.send(f"🛠️ Retraining {run.what} started by <@{interaction.user.id}>…")  # type: ignore[union-attr]
            except discord.HTTPException:
                log.info("Could not post the retrain progress message", exc_info=True)

    async def edit(self, content: str) -> None:
        if self.message is None:
            return
        try:
            await self.message.edit(content=content)
        except discord.HTTPException:
            log.info("Could not edit the retrain progress message", exc_info=True)

    async def progress(self, run: ActiveRun) -> None:
        await self.edit(status_text(run))

    async def ended(self, run: ActiveRun, outcome: RunOutcome) -> None:
        await self.edit(outcome_text(run, outcome))


class RetrainCog(commands.Cog, name="Retrain"):
    retrain = app_commands.Group(name="retrain", description="Teach the composer this server's taste from its ratings (admins)")
    model = app_commands.Group(name="model", description="This server's taste model and the shared model (admins)")

    def __init__(self, bot: TunesmithBot) -> None:
        self.bot = bot
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def registry(self) -> ModelRegistry:
        return self.bot.services.registry

    @property
    def run(self) -> ActiveRun | None:
        """The run in progress on this bot, if any (one at a time: training shares the CPU with composing)."""
        return self.registry.current

    @property
    def tastes(self) -> TasteModelRepository:
        return self.registry.tastes

    async def cog_load(self) -> None:
        # Runs the previous bot process never saw end (it was killed): closed before any new one can start.
        closed = await self.registry.recover()
        if closed:
            task = asyncio.create_task(self._close_progress_messages(closed))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def cog_unload(self) -> None:
        await self.registry.stop()

    async def _close_progress_messages(self, runs: list[TrainingRun]) -> None:
        for run in runs:
            if run.channel_id is None or run.message_id is None:
                continue
            what = "this server's taste" if run.kind == "taste" else "the shared model"
            kept = f" Its candidate **{run.candidate_version}** was kept: /model activate puts it in use." if run.candidate_version else ""
            message = self.bot.get_partial_messageable(run.channel_id).get_partial_message(run.message_id)
            try:
                await message.edit(content=f"⚠️ Retrain of {what} interrupted: the bot restarted while it ran. {unchanged_text(run.kind)}{kept}")
            except discord.HTTPException:
                log.info("Could not close the progress message of an interrupted retrain", extra={"run": run.id}, exc_info=True)

    # /retrain start: this server's taste --------------------------------------------------------------

    @retrain.command(name="start", description="Learn this server's taste from its ratings (only this server changes)")
    @app_commands.describe(steps=f"Steering training steps (default {TASTE_STEPS})")
    @admin_only()
    async def start(self, interaction: discord.Interaction[Any], steps: app_commands.Range[int, 10, 5000] = TASTE_STEPS) -> None:
        guild_id = interaction.guild_id
        if guild_id is None:
            raise UserFacingError("/retrain start learns one server's taste: run it in that server.")
        self.registry.refuse_if_busy(guild_id)
        # Exporting grows with the server's library: acknowledge first, answer in the follow-up.
        await interaction.response.defer(ephemeral=True, thinking=True)
        shown = ProgressMessage()
        started = await self.registry.start_taste(interaction.user.id, guild_id, steps, shown)
        await interaction.followup.send(
            f"Learning this server's taste from {started.ratings} ratings by {started.raters} members started (no member counts for more than "
            f"{started.largest_share:.0%} of them). Only this server's compositions will change. "
            "Progress below; /retrain cancel stops it.",
            ephemeral=True,
        )
        await self._show(interaction, started.run, shown)

    # /retrain base: the shared model, owners only ----------------------------------------------------------

    @retrain.command(name="base", description="Fine-tune the shared model every server uses (bot owners only)")
    @app_commands.describe(steps="Training steps per stage (default 150)")
    @owner_only()
    async def base(self, interaction: discord.Interaction[Any], steps: app_commands.Range[int, 10, 5000] = 150) -> None:
        self.registry.refuse_if_busy(None)
        await interaction.response.defer(ephemeral=True, thinking=True)
        shown = ProgressMessage()
        started = await self.registry.start_base(interaction.user.id, steps, shown)
        await interaction.followup.send(
            f"Retraining the shared model on {started.ratings} ratings from {started.raters} members started (no member counts for more than "
            f"{started.largest_share:.0%} of them). It changes every server's compositions if promoted. /retrain cancel stops it.",
            ephemeral=True,
        )
        await self._show(interaction, started.run, shown)

    async def _show(self, interaction: discord.Interaction[Any], run: ActiveRun, shown: ProgressMessage) -> None:
        await shown.post(interaction, run)
        if shown.message is not None:
            await self.registry.show_progress_at(run, shown.message.channel.id, shown.message.id)

    def _this_servers_run(self, interaction: discord.Interaction[Any]) -> ActiveRun:
        run = self.run
        if run is None or (run.kind == "taste" and run.guild_id != interaction.guild_id):
            raise UserFacingError("No retrain is running for this server.")
        if run.kind == "base" and not self.bot.access.is_owner(interaction.user):
            raise UserFacingError("No retrain is running for this server (the shared model is being retrained by the bot's owners).")
        return run

    @retrain.command(name="cancel", description="Stop this server's running retrain; nothing changes")
    @admin_only()
    async def cancel(self, interaction: discord.Interaction[Any]) -> None:
        run = self._this_servers_run(interaction)
        self.registry.cancel(run)
        await interaction.response.send_message(f"Retrain of {run.what} cancelled; nothing changed.", ephemeral=True)

    @retrain.command(name="status", description="How this server's retrain is doing, or how the last one ended")
    @admin_only()
    async def status(self, interaction: discord.Interaction[Any]) -> None:
        try:
            text = status_text(self._this_servers_run(interaction))
        except UserFacingError as nothing:
            last = await self.registry.last_run(interaction.guild_id, include_shared=self.bot.access.is_owner(interaction.user))
            if last is None:
                raise nothing from None
            text = f"No retrain is running for this server.\n{record_text(last)}"
        await interaction.response.send_message(text, ephemeral=True)

    # /model -------------------------------------------------------------------------------------------

    def _serving(self) -> str | None:
        return getattr(self.bot.services.engine, "model_version", None)

    @model.command(name="info", description="The shared model and this server's taste")
    @admin_only()
    async def info(self, interaction: discord.Interaction[Any]) -> None:
        storage = self.bot.services.storage
        active = await storage.models.active()
        serving = self._serving()
        embed = discord.Embed(title="Composer model", colour=0x5865F2)
        embed.add_field(name="Shared model", value=serving or (active.version if active else "(engine not running)"))
        if self.bot.services.model_notice:
            embed.add_field(name="⚠️ Fallback", value=self.bot.services.model_notice[:1024], inline=False)
        taste = await self.tastes.active(interaction.guild_id)
        if taste is None:
            embed.add_field(name="This server's taste", value="none: composing with the shared model as it is (/retrain start learns one)", inline=False)
        else:
            applies = serving is None or taste.base_version == serving
            note = "" if applies else f" (trained on {taste.base_version}, not the serving model: not applied until /retrain start runs again)"
            embed.add_field(name="This server's taste", value=f"**{taste.version}** · {discord.utils.format_dt(taste.created_at, 'R')}{note}", inline=False)
            shown = {k: taste.metrics[k] for k in ("held_out_correlation", "rated_tracks", "raters", "largest_member_share", "predicted_gain") if k in taste.metrics}
            embed.add_field(name="Metrics", value=f"```{json.dumps(shown, indent=1)[:900]}```", inline=False)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @model.command(name="history", description="This server's taste versions, newest first")
    @admin_only()
    async def history(self, interaction: discord.Interaction[Any]) -> None:
        if interaction.guild_id is None:
            raise UserFacingError("Taste versions belong to a server: run this in one.")
        versions = await self.tastes.history(interaction.guild_id)
        if not versions:
            raise UserFacingError("This server has no taste versions yet; /retrain start learns one from its ratings.")
        lines = [f"{'🟢' if v.active else '⚪'} **{v.version}** · {discord.utils.format_dt(v.created_at, 'R')}" + ("" if v.metrics.get("promote", True) else " (not used)")
                 for v in versions[:20]]
        await interaction.response.send_message("\n".join(lines), ephemeral=True)

    @model.command(name="rollback", description="Go back to this server's previous taste (or the shared model's previous version: owners)")
    @app_commands.describe(target="This server's taste (default), or the shared model every server uses (bot owners only)")
    @app_commands.choices(target=[app_commands.Choice(name="this server's taste", value="server"), app_commands.Choice(name="the shared model (owners)", value="shared")])
    @admin_only()
    async def rollback(self, interaction: discord.Interaction[Any], target: str = "server") -> None:
        if target == "shared":
            await ensure_owner(interaction)
            await self._rollback_shared(interaction)
            return
        if interaction.guild_id is None:
            raise UserFacingError("A taste belongs to a server: run this in one.")
        previous: TasteVersion | None = await self.registry.rollback_taste(interaction.guild_id)
        if previous is None:
            await interaction.response.send_message("Rolled back: this server composes with the shared model as it is again.", ephemeral=True)
        else:
            await interaction.response.send_message(f"Rolled back: this server now composes with its taste **{previous.version}**.", ephemeral=True)

    async def _rollback_shared(self, interaction: discord.Interaction[Any]) -> None:
        # Loading the previous model can take longer than the 3 s Discord allows for an answer.
        await interaction.response.defer(ephemeral=True, thinking=True)
        previous = await self.registry.rollback_shared()  # loads it first: if it cannot be loaded, nothing changes
        await interaction.followup.send(f"Rolled back the shared model: now serving **{previous.version}**.", ephemeral=True)

    @model.command(name="activate", description="Put a version in use: one of this server's tastes (or a shared model version: owners)")
    @app_commands.describe(version="The version, as /model history or /retrain status shows it",
                           target="This server's taste (default), or the shared model every server uses (bot owners only)")
    @app_commands.choices(target=[app_commands.Choice(name="this server's taste", value="server"), app_commands.Choice(name="the shared model (owners)", value="shared")])
    @admin_only()
    async def activate(self, interaction: discord.Interaction[Any], version: app_commands.Range[str, 1, 100], target: str = "server") -> None:
        if target == "shared":
            await ensure_owner(interaction)
            await interaction.response.defer(ephemeral=True, thinking=True)  # loading a model takes a while
            activated = await self.registry.activate_shared(version)
            await interaction.followup.send(f"Now serving the shared model **{activated.version}**; /model rollback target:shared goes back.", ephemeral=True)
            return
        if interaction.guild_id is None:
            raise UserFacingError("A taste belongs to a server: run this in one.")
        taste = await self.registry.activate_taste(interaction.guild_id, version)
        serving = self._serving()
        note = "" if serving is None or taste.base_version == serving else f" It was trained on {taste.base_version}, not the serving model, so it is not applied until /retrain start runs again."
        await interaction.response.send_message(f"This server now composes with its taste **{taste.version}**; /model rollback goes back.{note}", ephemeral=True)

    @activate.autocomplete("version")
    async def _version_choices(self, interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
        if (interaction.namespace.target or "server") == "shared":
            versions = [v.version for v in await self.bot.services.storage.models.history() if not v.active]
        else:
            versions = await self.registry.unused_candidates(interaction.guild_id)
        return [app_commands.Choice(name=v, value=v) for v in versions if current.lower() in v.lower()][:25]


async def setup(bot: TunesmithBot) -> None:
    await bot.add_cog(RetrainCog(bot))
