"""Fine-tuning from ratings and model versions, for server admins.

`/retrain start` runs `engine.finetune` in a separate process (on the GPU when there is one), so the bot keeps
answering; a progress message is edited with a bar and the current metrics. The candidate is promoted only if
it is not worse than the serving model; promotion registers a new version and swaps the engine to it between
batches. `/retrain cancel` stops a run; `/model info|history|rollback` show and change the serving version.
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
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.engine import active_checkpoint
from bot.errors import UserFacingError
from bot.permissions import admin_only
from bot.plugins import PluginManifest
from engine.service import EngineFailure
from storage import ModelVersionError
from storage.export import export_ratings, remove_user_from_export

if TYPE_CHECKING:
    from bot.client import TunesmithBot

log = logging.getLogger(__name__)

MANIFEST = PluginManifest(
    name="retrain",
    version="1.0.0",
    description="/retrain start|cancel|status fine-tunes the composer on ratings; /model info|history|rollback. Server admins only.",
    permissions=["send_messages", "embed_links"],
    user_data="None of its own: it trains on the ratings the rating plugin keeps (anonymous scores of tracks).",
    bot_versions=">=0.1,<1.0",
)

MIN_RATINGS = 5
EDIT_EVERY_SECONDS = 2.0
BAR_WIDTH = 20


def progress_bar(done: int, total: int) -> str:
    filled = round(BAR_WIDTH * done / max(1, total))
    return "█" * filled + "░" * (BAR_WIDTH - filled) + f" {100 * done // max(1, total)}%"


@dataclass
class RetrainRun:
    """The one fine-tuning run in progress."""

    started_by: int
    process: asyncio.subprocess.Process
    message: discord.Message | None
    out_dir: Path
    started: float = field(default_factory=time.monotonic)
    last: dict[str, Any] = field(default_factory=dict)
    cancelled: bool = False

    def status_text(self) -> str:
        step, total = int(self.last.get("step", 0)), int(self.last.get("total", 1))
        stage = {"vae": "tuning the VAE", "gan": "tuning the GAN"}.get(str(self.last.get("stage")), "starting")
        metrics = ", ".join(f"{k} {self.last[k]}" for k in ("loss", "critic", "generator") if k in self.last)
        elapsed = time.monotonic() - self.started
        return f"🛠️ Retraining ({stage}), started by <@{self.started_by}>\n`{progress_bar(step, total)}` {metrics} · {elapsed:.0f} s"


class RetrainCog(commands.Cog, name="Retrain"):
    retrain = app_commands.Group(name="retrain", description="Fine-tune the composer on this bot's ratings (admins)")
    model = app_commands.Group(name="model", description="The composer's model versions (admins)")

    def __init__(self, bot: TunesmithBot) -> None:
        self.bot = bot
        self.run: RetrainRun | None = None
        self._task: asyncio.Task[None] | None = None

    async def cog_unload(self) -> None:
        if self.run is not None:
            self.run.cancelled = True
            self._kill(self.run)

    # /retrain -----------------------------------------------------------------------------------------

    @retrain.command(name="start", description="Fine-tune the composer on the ratings so far")
    @app_commands.describe(steps="Training steps per stage (default 150)")
    @admin_only()
    async def start(self, interaction: discord.Interaction[Any], steps: app_commands.Range[int, 10, 5000] = 150) -> None:
        if self.run is not None:
            raise UserFacingError(f"A retrain is already running (started by <@{self.run.started_by}>). Use /retrain cancel to stop it.")
        storage = self.bot.services.storage
        export = await export_ratings(storage.db)
        if len(export) < MIN_RATINGS:
            raise UserFacingError(f"There are only {len(export)} ratings so far; retraining needs at least {MIN_RATINGS}. Rate some tracks with 1️⃣–5️⃣ first.")
        settings = self.bot.settings
        raters = len(set(export.user_ids.tolist()))
        if raters < settings.retrain_min_raters:
            raise UserFacingError(
                f"Only {raters} member(s) have rated tracks so far; retraining needs ratings from at least {settings.retrain_min_raters} "
                "different members, so that one person's taste does not decide the model. Ask others to rate with 1️⃣–5️⃣ first."
            )
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        out_dir = self.bot.settings.models_dir / stamp
        ratings_path = out_dir / "ratings.npz"
        await asyncio.to_thread(export.save, ratings_path)
        # Someone who used /forget-me after the export was read but before it was written: their scrub found no file.
        for gone in [u for u in set(export.user_ids.tolist()) if await storage.users.get(u) is None]:
            await asyncio.to_thread(remove_user_from_export, ratings_path, gone)
        base = await active_checkpoint(self.bot.settings, storage)
        command = [sys.executable, "-m", "engine.finetune", "--ratings", str(ratings_path), "--out", str(out_dir), "--vae-steps", str(steps), "--gan-steps", str(steps),
                   "--min-raters", str(settings.retrain_min_raters), "--max-member-share", str(settings.retrain_max_member_share)]
        if base is not None:
            command += ["--base", str(base)]
        process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        await interaction.response.send_message(
            f"Retraining on {len(export)} ratings from {raters} members started (no member counts for more than "
            f"{max(settings.retrain_max_member_share, 1 / raters):.0%} of them). Progress below; /retrain cancel stops it.",
            ephemeral=True,
        )
        message = None
        if interaction.channel is not None and hasattr(interaction.channel, "send"):
            try:
                message = await interaction.channel.send(f"🛠️ Retraining started by <@{interaction.user.id}>…")  # type: ignore[union-attr]
            except discord.HTTPException:
                log.info("Could not post the retrain progress message", exc_info=True)
        self.run = RetrainRun(interaction.user.id, process, message, out_dir)
        self._task = asyncio.create_task(self._follow(self.run))
        log.info("Retrain started", extra={"ratings": len(export), "steps": steps, "by": interaction.user.id})

    @retrain.command(name="cancel", description="Stop the running retrain; the serving model stays")
    @admin_only()
    async def cancel(self, interaction: discord.Interaction[Any]) -> None:
        run = self.run
        if run is None:
            raise UserFacingError("No retrain is running.")
        run.cancelled = True
        self._kill(run)
        await interaction.response.send_message("Retrain cancelled; the current model keeps serving.", ephemeral=True)

    @retrain.command(name="status", description="How the running retrain is doing")
    @admin_only()
    async def status(self, interaction: discord.Interaction[Any]) -> None:
        if self.run is None:
            raise UserFacingError("No retrain is running.")
        await interaction.response.send_message(self.run.status_text(), ephemeral=True)

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
        """Read the fine-tuning process's JSON lines, show progress, and act on its verdict."""
        result: dict[str, Any] | None = None
        error: str | None = None
        last_edit = 0.0
        assert run.process.stdout is not None
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
                await self._edit(run, "🛑 Retrain cancelled; the current model keeps serving.")
            elif result is not None:
                await self._edit(run, await self._conclude(result))
            else:
                stderr = (await run.process.stderr.read()).decode(errors="replace")[-500:] if run.process.stderr else ""
                log.error("Retrain failed", extra={"error": error, "stderr": stderr})
                await self._edit(run, f"❌ Retrain failed: {error or 'the training process stopped unexpectedly'}. The current model keeps serving.")
        except Exception:
            log.exception("Retrain follow-up failed")
            await self._edit(run, "❌ Retrain failed on our side (logged). The current model keeps serving.")
        finally:
            self.run = None

    async def _conclude(self, result: dict[str, Any]) -> str:
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
        return f"✅ Promoted model **{version}**: {result.get('reason')}.\n{summary}"

    # /model -------------------------------------------------------------------------------------------

    @model.command(name="info", description="The model serving compositions now")
    @admin_only()
    async def info(self, interaction: discord.Interaction[Any]) -> None:
        storage = self.bot.services.storage
        active = await storage.models.active()
        engine = self.bot.services.engine
        embed = discord.Embed(title="Composer model", colour=0x5865F2)
        embed.add_field(name="Serving", value=getattr(engine, "model_version", None) or "(engine not running)")
        if self.bot.services.model_notice:
            embed.add_field(name="⚠️ Fallback", value=self.bot.services.model_notice[:1024], inline=False)
        if active is not None:
            embed.add_field(name="Active version", value=active.version)
            embed.add_field(name="Since", value=discord.utils.format_dt(active.created_at, "R"))
            shown = {k: v for k, v in active.metrics.items() if isinstance(v, (int, float, str, dict))}
            if shown:
                embed.add_field(name="Metrics", value=f"```{json.dumps(shown, indent=1)[:900]}```", inline=False)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @model.command(name="history", description="Every model version, newest first")
    @admin_only()
    async def history(self, interaction: discord.Interaction[Any]) -> None:
        versions = await self.bot.services.storage.models.history()
        if not versions:
            raise UserFacingError("No model versions recorded yet.")
        lines = [f"{'🟢' if v.active else '⚪'} **{v.version}** · {discord.utils.format_dt(v.created_at, 'R')}" for v in versions[:20]]
        await interaction.response.send_message("\n".join(lines), ephemeral=True)

    @model.command(name="rollback", description="Serve the previous model version again")
    @admin_only()
    async def rollback(self, interaction: discord.Interaction[Any]) -> None:
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
        await interaction.followup.send(f"Rolled back: now serving **{previous.version}**.", ephemeral=True)


async def setup(bot: TunesmithBot) -> None:
    await bot.add_cog(RetrainCog(bot))
