"""The library: `/history`, `/track id:` (full provenance, Regenerate) and `/stats` (charts).

Each shows one scope only: on a server, that server's tracks; in a DM with the bot, the user's own DM
tracks. A track from elsewhere does not exist as far as the command can tell."""

from __future__ import annotations

import asyncio
import io
import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserFacingError
from bot.plugins import PluginManifest
from bot.track_messages import jump_link, regenerate_view, track_title
from storage import Rating, Scope, Track, UnknownTrackError

if TYPE_CHECKING:
    from bot.client import TunesmithBot

log = logging.getLogger(__name__)

MANIFEST = PluginManifest(
    name="library",
    version="1.0.0",
    description="/history, /track and /stats: your tracks and ratings, a track's full provenance, the server's charts.",
    permissions=["send_messages", "embed_links", "attach_files"],
    user_data="None of its own: it shows the tracks and ratings the compose and rating plugins keep.",
    bot_versions=">=0.1,<1.0",
)

HISTORY_LIMIT = 15
STARS = "★★★★★"


def stars(score: float) -> str:
    full = round(score)
    return STARS[:full] + "☆" * (5 - full)


def scope_of(interaction: discord.Interaction[Any]) -> Scope:
    return Scope.of(interaction.guild_id, interaction.user.id)


def stats_png(tracks: list[Track], ratings: list[Rating], versions: list[tuple[str, Any]]) -> bytes:
    """One picture with four panels: ratings by style, by mood, top tracks, tracks per model version."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_id = {t.id: t for t in tracks}
    per_style: dict[str, list[int]] = defaultdict(list)
    per_mood: dict[str, list[int]] = defaultdict(list)
    per_track: dict[int, list[int]] = defaultdict(list)
    for rating in ratings:
        track = by_id.get(rating.track_id)
        if track is None:
            continue
        per_style[track.style].append(rating.score)
        per_mood[track.mood].append(rating.score)
        per_track[track.id].append(rating.score)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), dpi=90)
    fig.patch.set_facecolor("#2b2d31")
    for ax in axes.flat:
        ax.set_facecolor("#313338")
        ax.tick_params(colors="#dbdee1", labelsize=9)
        for spine in ax.spines.values():
            spine.set_color("#4e5058")
    panels = ((axes[0, 0], per_style, "Average rating by style"), (axes[0, 1], per_mood, "Average rating by mood"))
    for ax, groups, title in panels:
        names = sorted(groups)
        means = [sum(groups[n]) / len(groups[n]) for n in names]
        ax.bar(names, means, color="#5865f2")
        ax.set_ylim(0, 5)
        ax.set_title(title, color="white", fontsize=11)
        for i, n in enumerate(names):
            ax.text(i, means[i] + 0.1, f"n={len(groups[n])}", ha="center", color="#dbdee1", fontsize=8)
        ax.tick_params(axis="x", rotation=30)
    top = sorted(per_track.items(), key=lambda kv: (-sum(kv[1]) / len(kv[1]), -len(kv[1])))[:8]
    ax = axes[1, 0]
    ax.barh([by_id[t].label for t, _ in top][::-1], [sum(s) / len(s) for _, s in top][::-1], color="#57f287")
    ax.set_xlim(0, 5)
    ax.set_title("Top tracks", color="white", fontsize=11)
    ax = axes[1, 1]
    counts: dict[str, int] = defaultdict(int)
    for track in tracks:
        counts[track.model_version] += 1
    order = [v for v, _ in versions if v in counts] + sorted(set(counts) - {v for v, _ in versions})
    ax.bar(range(len(order)), [counts[v] for v in order], color="#fee75c")
    ax.set_xticks(range(len(order)), [v[-14:] for v in order], rotation=30, ha="right")
    ax.set_title("Tracks per model version (oldest first)", color="white", fontsize=11)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", facecolor=fig.get_facecolor())
    plt.close(fig)
    return buffer.getvalue()


class LibraryCog(commands.Cog, name="Library"):
    def __init__(self, bot: TunesmithBot) -> None:
        self.bot = bot

    @app_commands.command(name="history", description="Your tracks and ratings here (on this server, or in your DMs with the bot)")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    async def history(self, interaction: discord.Interaction[Any]) -> None:
        storage = self.bot.services.storage
        scope = scope_of(interaction)
        made = await storage.tracks.by_user(interaction.user.id, scope, limit=HISTORY_LIMIT)
        embed = discord.Embed(title="Your Tunesmith history" + (" in DMs" if scope.is_dm else " on this server"), colour=0x5865F2)
        lines = [f"**{t.label}** {t.key}, {t.tempo:.0f} bpm, {t.bars} bars · seed {t.seed}" for t in made]
        embed.add_field(name=f"Tracks you made ({len(made)})", value="\n".join(lines)[:1024] or "None yet: try /compose.", inline=False)
        rated_lines = []
        for rating in (await storage.ratings.by_user(interaction.user.id, scope))[:HISTORY_LIMIT]:  # ratings elsewhere stay there
            track = await storage.tracks.get_in(scope, rating.track_id)
            if track is not None:
                rated_lines.append(f"{stars(rating.score)} {track.label}")
        embed.add_field(name=f"Your ratings ({len(rated_lines)})", value="\n".join(rated_lines)[:1024] or "None yet: react 1️⃣–5️⃣ on a track.", inline=False)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="track", description="A track's full provenance, with a button that regenerates it")
    @app_commands.describe(id="The track number (shown under every track)")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    async def track(self, interaction: discord.Interaction[Any], id: app_commands.Range[int, 1]) -> None:
        storage = self.bot.services.storage
        try:
            track = await storage.tracks.require_in(scope_of(interaction), id)
        except UnknownTrackError as exc:
            raise UserFacingError(str(exc)) from None
        summary = await storage.ratings.summary(track.id)
        embed = discord.Embed(title=f"Track #{track.id}: {track_title(track)}", colour=0x5865F2, url=jump_link(track) or None)
        rows = {
            "Style": track.style, "Mood": track.mood, "Key": track.key, "Tempo": f"{track.tempo:.0f} bpm",
            "Bars": str(track.bars), "Seed": str(track.seed), "Sampler": track.sampler, "Model version": track.model_version,
            "Made by": f"<@{track.user_id}>" if track.user_id else "(anonymous)", "Made": discord.utils.format_dt(track.created_at, "R"),
            "Rating": f"{stars(summary.mean)} ({summary.mean:.1f} from {summary.count})" if summary.mean is not None else "not rated yet",
        }  # fmt: skip
        for name, value in rows.items():
            embed.add_field(name=name, value=value)
        if track.prompt:
            embed.add_field(name="Prompt", value=track.prompt[:1000], inline=False)
        if track.parent_id:
            embed.add_field(name="Made from", value=f"track #{track.parent_id} ({track.relation})", inline=False)
        await interaction.response.send_message(embed=embed, view=regenerate_view(track.id))

    @app_commands.command(name="stats", description="This server's charts: ratings by style and mood, top tracks, model versions")
    @app_commands.guild_only()
    async def stats(self, interaction: discord.Interaction[Any]) -> None:
        storage = self.bot.services.storage
        if interaction.guild_id is None:  # guild_only: Discord does not offer /stats in DMs
            raise UserFacingError("/stats shows a server's charts, so it only works in a server.")
        tracks = await storage.tracks.in_scope(Scope.guild(interaction.guild_id))
        if not tracks:
            raise UserFacingError("No tracks on this server yet: try /compose first.")
        await interaction.response.defer(thinking=True)
        ratings = await storage.ratings.for_guild(Scope.guild(interaction.guild_id))
        versions = [(v.version, v.created_at) for v in await storage.models.history()]
        png = await asyncio.to_thread(stats_png, tracks, ratings, list(reversed(versions)))
        embed = discord.Embed(title="Tunesmith on this server", description=f"{len(tracks)} tracks · {len(ratings)} ratings", colour=0x5865F2)
        embed.set_image(url="attachment://stats.png")
        await interaction.followup.send(embed=embed, file=discord.File(io.BytesIO(png), filename="stats.png"))


async def setup(bot: TunesmithBot) -> None:
    await bot.add_cog(LibraryCog(bot))
