"""Each server's own taste, for its admins; the shared model, for the bot's owners.

`/retrain start` learns this server's taste from this server's ratings only (engine.taste: a critic of the
ratings in the model's latent space and an actor that steers the GAN's latents toward what the server likes),
in a separate process, so the bot keeps answering; it is stored and versioned per server and applied only
when this server composes. No member's ratings weigh more than `retrain_max_member_share` of it, and at least
`retrain_min_raters` members must have rated. `/model info|history|rollback` show and change this server's
taste (rollback past the first version returns to the shared model as it is).

`/retrain base` fine-tunes the shared model every server uses (engine.finetune) and `/model rollback
target:shared` rolls it back: both are for the bot's owners only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.engine import active_checkpoint
from bot.errors import UserFacingError
from bot.permissions import admin_only, ensure_owner, owner_only
from bot.plugins import PluginManifest
from engine.service import EngineFailure
from storage import ModelVersionError
from storage.export import export_ratings, remove_user_from_export
from storage.taste import TasteModelRepository, TasteVersion, TasteVersionError

if TYPE_CHECKING:
    from bot.client import TunesmithBot

log = logging.getLogger(__name__)

MANIFEST = PluginManifest(
    name="retrain",
    version="2.0.0",
    description="/retrain start|cancel|status learns this server's own taste from its ratings; /model info|history|rollback. Server admins; the shared model: owners.",
    permissions=["send_messages", "embed_links"],
    user_data="None of its own: it trains on the ratings the rating plugin keeps (anonymous scores of tracks).",
    bot_versions=">=0.1,<1.0",
)

MIN_RATINGS = 5
EDIT_EVERY_SECONDS = 2.0
BAR_WIDTH = 20
TASTE_STEPS = 300
STAGES = {"vae": "tuning the VAE", "gan": "tuning the GAN", "critic": "learning what this server likes", "actor": "learning to steer toward it"}


def progress_bar(done: int, total: int) -> str:
    filled = round(BAR_WIDTH * done / max(1, total))
    return "█" * filled + "░" * (BAR_WIDTH - filled) + f" {100 * done // max(1, total)}%"


@dataclass
class RetrainRun:
    """One training run in progress: this server's taste (kind "taste") or the shared model (kind "base")."""

    started_by: int
    process: asyncio.subprocess.Process
    message: discord.Message | None
    out_dir: Path
    kind: Literal["taste", "base"] = "taste"
    guild_id: int | None = None
    base_version: str | None = None
    started: float = field(default_factory=time.monotonic)
    last: dict[str, Any] = field(default_factory=dict)
    cancelled: bool = False

    @property
    def what(self) -> str:
        return "this server's taste" if self.kind == "taste" else "the shared model"

    def status_text(self) -> str:
        step, total = int(self.last.get("step", 0)), int(self.last.get("total", 1))
        stage = STAGES.get(str(self.last.get("stage")), "starting")
        metrics = ", ".join(f"{k} {self.last[k]}" for k in ("loss", "critic", "generator", "gain", "distance") if k in self.last)
        elapsed = time.monotonic() - self.started
        return f"🛠️ Retraining {self.what} ({stage}), started by <@{self.started_by}>\n`{progress_bar(step, total)}` {metrics} · {elapsed:.0f} s"


class RetrainCog(commands.Cog, name="Retrain"):
    retrain = app_commands.Group(name="retrain", description="Teach the composer this server's taste from its ratings (admins)")
    model = app_commands.Group(name="model", description="This server's taste model and the shared model (admins)")

    def __init__(self, bot: TunesmithBot) -> None:
        self.bot = bot
        # One run at a time on the whole bot: training shares the CPU with composing for every server.
        self.run: RetrainRun | None = None
        self._task: asyncio.Task[None] | None = None
        # Held from the busy check to the run being recorded, so two starts cannot both pass the check.
        self._starting = asyncio.Lock()

    @property
    def tastes(self) -> TasteModelRepository:
        return TasteModelRepository(self.bot.services.storage.db)

    async def cog_unload(self) -> None:
        if self.run is not None:
            self.run.cancelled = True
            self._kill(self.run)

    def _refuse_if_busy(self, guild_id: int | None) -> None:
        run = self.run
        if run is None:
            return
        if run.kind == "taste" and run.guild_id == guild_id:
            raise UserFacingError(f"A retrain of this server's taste is already running (started by <@{run.started_by}>). Use /retrain cancel to stop it.")
        raise UserFacingError("Another retrain is running on this bot right now (training shares the machine with composing). Please try again in a few minutes.")

    # /retrain start: this server's taste --------------------------------------------------------------

    @retrain.command(name="start", description="Learn this server's taste from its ratings (only this server changes)")
    @app_commands.describe(steps=f"Steering training steps (default {TASTE_STEPS})")
    @admin_only()
    async def start(self, interaction: discord.Interaction[Any], steps: app_commands.Range[int, 10, 5000] = TASTE_STEPS) -> None:
        guild_id = interaction.guild_id
        if guild_id is None:
            raise UserFacingError("/retrain start learns one server's taste: run it in that server.")
        self._refuse_if_busy(guild_id)
        # Exporting grows with the server's library: acknowledge first, answer in the follow-up.
        await interaction.response.defer(ephemeral=True, thinking=True)
        async with self._starting:
            await self._start_taste(interaction, guild_id, steps)

    async def _start_taste(self, interaction: discord.Interaction[Any], guild_id: int, steps: int) -> None:
        self._refuse_if_busy(guild_id)  # another start may have run while this one waited
        storage, settings = self.bot.services.storage, self.bot.settings
        export = await export_ratings(storage.db, guild_id=guild_id)
        if len(export) < MIN_RATINGS:
            raise UserFacingError(f"This server has only {len(export)} ratings so far; learning its taste needs at least {MIN_RATINGS}. Rate some tracks with 1️⃣–5️⃣ first.")
        raters = len(set(export.user_ids.tolist()))
        if raters < settings.retrain_min_raters:
            raise UserFacingError(
                f"Only {raters} member(s) of this server have rated tracks so far; learning its taste needs ratings from at least {settings.retrain_min_raters} "
                "different members, so that one person's taste does not decide the server's. Ask others to rate with 1️⃣–5️⃣ first."
            )
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        out_dir = settings.models_dir / f"taste-{guild_id}-{stamp}"  # beside the shared model's runs: /forget-me scrubs both
        ratings_path = out_dir / "ratings.npz"
        await asyncio.to_thread(export.save, ratings_path)
        # Someone who used /forget-me after the export was read but before it was written: their scrub found no file.
        for gone in [u for u in set(export.user_ids.tolist()) if await storage.users.get(u) is None]:
            await asyncio.to_thread(remove_user_from_export, ratings_path, gone)
        base = await active_checkpoint(settings, storage)
        command = [sys.executable, "-m", "engine.taste.train", "--ratings", str(ratings_path), "--out", str(out_dir), "--steps", str(steps), "--guild", str(guild_id),
                   "--min-raters", str(settings.retrain_min_raters), "--max-member-share", str(settings.retrain_max_member_share)]
        if base is not None:
            command += ["--base", str(base)]
        process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        self.run = RetrainRun(interaction.user.id, process, None, out_dir, kind="taste", guild_id=guild_id, base_version=getattr(self.bot.services.engine, "model_version", None))
        await interaction.followup.send(
            f"Learning this server's taste from {len(export)} ratings by {raters} members started (no member counts for more than "
            f"{max(settings.retrain_max_member_share, 1 / raters):.0%} of them). Only this server's compositions will change. "
            "Progress below; /retrain cancel stops it.",
            ephemeral=True,
        )
        await self._launch(interaction, self.run)
        log.info("Taste retrain started", extra={"guild": guild_id, "ratings": len(export), "steps": steps, "by": interaction.user.id})

    # /retrain base: the shared model, owners only ----------------------------------------------------------

    @retrain.command(name="base", description="Fine-tune the shared model every server uses (bot owners only)")
    @app_commands.describe(steps="Training steps per stage (default 150)")
    @owner_only()
    async def base(self, interaction: discord.Interaction[Any], steps: app_commands.Range[int, 10, 5000] = 150) -> None:
        self._refuse_if_busy(None)
        await interaction.response.defer(ephemeral=True, thinking=True)
        async with self._starting:
            await self._start_base(interaction, steps)

    async def _start_base(self, interaction: discord.Interaction[Any], steps: int) -> None:
        self._refuse_if_busy(None)
        storage, settings = self.bot.services.storage, self.bot.settings
        export = await export_ratings(storage.db)
        if len(export) < MIN_RATINGS:
            raise UserFacingError(f"There are only {len(export)} ratings so far; retraining needs at least {MIN_RATINGS}. Rate some tracks with 1️⃣–5️⃣ first.")
        raters = len(set(export.user_ids.tolist()))
        if raters < settings.retrain_min_raters:
            raise UserFacingError(
                f"Only {raters} member(s) have rated tracks so far; retraining needs ratings from at least {settings.retrain_min_raters} "
                "different members, so that one person's taste does not decide the model. Ask others to rate with 1️⃣–5️⃣ first."
            )
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        out_dir = settings.models_dir / stamp
        ratings_path = out_dir / "ratings.npz"
        await asyncio.to_thread(export.save, ratings_path)
        for gone in [u for u in set(export.user_ids.tolist()) if await storage.users.get(u) is None]:
            await asyncio.to_thread(remove_user_from_export, ratings_path, gone)
        base = await active_checkpoint(settings, storage)
        command = [sys.executable, "-m", "engine.finetune", "--ratings", str(ratings_path), "--out", str(out_dir), "--vae-steps", str(steps), "--gan-steps", str(steps),
                   "--min-raters", str(settings.retrain_min_raters), "--max-member-share", str(settings.retrain_max_member_share)]
        if base is not None:
            command += ["--base", str(base)]
        process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        self.run = RetrainRun(interaction.user.id, process, None, out_dir, kind="base")
        await interaction.followup.send(
            f"Retraining the shared model on {len(export)} ratings from {raters} members started (no member counts for more than "
            f"{max(settings.retrain_max_member_share, 1 / raters):.0%} of them). It changes every server's compositions if promoted. /retrain cancel stops it.",
            ephemeral=True,
        )
        await self._launch(interaction, self.run)
        log.info("Base retrain started", extra={"ratings": len(export), "steps": steps, "by": interaction.user.id})

    async def _launch(self, interaction: discord.Interaction[Any], run: RetrainRun) -> None:
        if interaction.channel is not None and hasattr(interaction.channel, "send"):
            try:
                run.message = await interaction.channel.send(f"🛠️ Retraining {run.what} started by <@{interaction.user.id}>…")  # type: ignore[union-attr]
            except discord.HTTPException:
                log.info("Could not post the retrain progress message", exc_info=True)
        self._task = asyncio.create_task(self._follow(run))

    def _this_servers_run(self, interaction: discord.Interaction[Any]) -> RetrainRun:
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
        run.cancelled = True
        self._kill(run)
        await interaction.response.send_message(f"Retrain of {run.what} cancelled; nothing changed.", ephemeral=True)

    @retrain.command(name="status", description="How this server's running retrain is doing")
    @admin_only()
    async def status(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message(self._this_servers_run(interaction).status_text(), ephemeral=True)

    def _kill(self, run: RetrainRun) -> None:
        if run.process.returncode is None:
            run.process.kill()

    async def _edit(self, run: RetrainRun, content: str) -> None:
        if run.message is None:
            return
        try:
            await run.message.edit(content=content)
        except discord.HTTPException:
            log.info("Could not edit the retrain progress message", exc_info=True)

    async def _follow(self, run: RetrainRun) -> None:
        """Read the training process's JSON lines, show progress, and act on its verdict."""
        result: dict[str, Any] | None = None
        error: str | None = None
        last_edit = 0.0
        assert run.process.stdout is not None
        unchanged = "This server keeps composing as before." if run.kind == "taste" else "The current model keeps serving."
        try:
            async for raw in run.process.stdout:
                try:
                    event = json.loads(raw)
                except json.JSONDecodeError:
                    continue
                if event.get("event") == "progress":
                    run.last = event
                    if time.monotonic() - last_edit >= EDIT_EVERY_SECONDS:
                        last_edit = time.monotonic()
                        await self._edit(run, run.status_text())
                elif event.get("event") == "done":
                    result = event
                elif event.get("event") == "error":
                    error = str(event.get("message"))
            await run.process.wait()
            if run.cancelled:
                await self._edit(run, f"🛑 Retrain cancelled. {unchanged}")
            elif result is not None:
                await self._edit(run, await (self._conclude_taste(run, result) if run.kind == "taste" else self._conclude_base(result)))
            else:
                stderr = (await run.process.stderr.read()).decode(errors="replace")[-500:] if run.process.stderr else ""
                log.error("Retrain failed", extra={"error": error, "stderr": stderr, "kind": run.kind})
                await self._edit(run, f"❌ Retrain failed: {error or 'the training process stopped unexpectedly'}. {unchanged}")
        except Exception:
            log.exception("Retrain follow-up failed")
            await self._edit(run, f"❌ Retrain failed on our side (logged). {unchanged}")
        finally:
            self.run = None

    async def _conclude_taste(self, run: RetrainRun, result: dict[str, Any]) -> str:
        assert run.guild_id is not None
        metrics = dict(result.get("metrics", {}))
        version, path = str(result["version"]), str(result["path"])
        base_version = str(metrics.get("base_version") or run.base_version or "")
        summary = (f"held-out correlation {metrics.get('held_out_correlation')}, {metrics.get('rated_tracks')} tracks rated by {metrics.get('raters')} members, "
                   f"largest member share {metrics.get('largest_member_share')}")
        await self.tastes.register(run.guild_id, version, path, base_version, {**metrics, "promote": bool(result.get("promote")), "reason": result.get("reason")})
        if not result.get("promote"):
            return f"↩️ Learned a taste ({version}) but it is not used: {result.get('reason')}.\n{summary}\nThis server keeps composing as before."
        await self.tastes.activate(run.guild_id, version)
        return f"✅ This server now composes with its own taste **{version}**: {result.get('reason')}.\n{summary}\nOther servers are not affected; /model rollback undoes it."

    async def _conclude_base(self, result: dict[str, Any]) -> str:
        metrics = result.get("metrics", {})
        summary = "; ".join(f"{name} {values['base']} → {values['candidate']}" for name, values in metrics.items() if isinstance(values, dict) and "base" in values)
        if not result.get("promote"):
            return f"↩️ Retrain finished but the new model was not promoted: {result.get('reason')}.\n{summary}\nThe current model keeps serving."
        storage = self.bot.services.storage
        version, path = str(result["version"]), str(result["path"])
        await storage.models.register(version, path, metrics)
        engine = self.bot.services.engine
        if engine is not None:
            try:
                await engine.swap_model(Path(path))
            except EngineFailure as exc:
                return f"❌ The new model {version} could not be loaded ({exc}); the current model keeps serving."
        await storage.models.activate(version)
        return f"✅ Promoted model **{version}**: {result.get('reason')}.\n{summary}\nServers' tastes trained on the previous model no longer apply until they retrain."

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
        try:
            previous: TasteVersion | None = await self.tastes.rollback(interaction.guild_id)
        except TasteVersionError as exc:
            raise UserFacingError(str(exc)) from None
        if previous is None:
            await interaction.response.send_message("Rolled back: this server composes with the shared model as it is again.", ephemeral=True)
        else:
            await interaction.response.send_message(f"Rolled back: this server now composes with its taste **{previous.version}**.", ephemeral=True)

    async def _rollback_shared(self, interaction: discord.Interaction[Any]) -> None:
        # Loading the previous model can take longer than the 3 s Discord allows for an answer.
        await interaction.response.defer(ephemeral=True, thinking=True)
        storage = self.bot.services.storage
        try:
            previous = await storage.models.rollback()
        except ModelVersionError as exc:
            raise UserFacingError(str(exc)) from None
        engine = self.bot.services.engine
        if engine is not None:
            try:
                await engine.swap_model(Path(previous.path))
            except EngineFailure as exc:
                raise UserFacingError(f"Rolled back in the records, but {previous.version} could not be loaded: {exc}") from None
        await interaction.followup.send(f"Rolled back the shared model: now serving **{previous.version}**.", ephemeral=True)


async def setup(bot: TunesmithBot) -> None:
    await bot.add_cog(RetrainCog(bot))
