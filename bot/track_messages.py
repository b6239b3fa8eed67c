"""What a track looks like on Discord, for every cog that shows one: its title, embed, files, link, the rating
reactions and the buttons under it.

Cogs use this module instead of importing each other. The buttons and menus are discord.py dynamic items: their
custom ids carry the track id, so they keep working after a restart. What a click does is the compose workflow's
business: each item hands the click to the loaded cog named `TRACK_ACTIONS_COG` through the `TrackActions`
protocol (the compose cog registers the items and implements `action`).
"""

from __future__ import annotations

import io
import re
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import discord

from bot.errors import UserFacingError
from bot.interactions import reply
from bot.recipes import EXTEND_BARS
from engine.labels import MOODS, STYLES
from storage import Track

# Rating reactions, in the order the bot adds them; the value is the rating they stand for.
RATING_EMOJI: dict[str, int] = {"1️⃣": 1, "2️⃣": 2, "3️⃣": 3, "4️⃣": 4, "5️⃣": 5}
STYLE_COLOURS = {
    "jazz": 0x3B5BDB, "blues": 0x1C7ED6, "latin": 0xF08C00, "pop": 0xE64980, "rock": 0xC92A2A, "folk": 0x2F9E44,
    "celtic": 0x099268, "classical": 0x862E9C, "game": 0x5F3DC4, "lofi": 0x868E96, "ambient": 0x0B7285,
}  # fmt: skip

Relation = Literal["variation", "extend", "restyle", "remood", "regenerate"]
TRACK_ACTIONS_COG = "Compose"  # the cog that carries out what the track buttons ask for


# Embeds, files, links -------------------------------------------------------------------------------------


def track_title(track: Track) -> str:
    prefix = {"variation": "Variation", "extend": "Extended", "restyle": "Restyled", "remood": "Re-mooded",
              "regenerate": "Regenerated", "continue": "Continued"}.get(track.relation or "", "")  # fmt: skip
    title = f"{track.mood.capitalize()} {track.style} in {track.key}"
    return f"{prefix} · {title}" if prefix else title


def track_embed(track: Track) -> discord.Embed:
    embed = discord.Embed(title=track_title(track), colour=STYLE_COLOURS.get(track.style, 0x495057))
    embed.add_field(name="Style", value=track.style)
    embed.add_field(name="Mood", value=track.mood)
    embed.add_field(name="Key", value=track.key)
    embed.add_field(name="Tempo", value=f"{track.tempo:.0f} bpm")
    embed.add_field(name="Bars", value=str(track.bars))
    if track.form:
        embed.add_field(name="Form", value=track.form)
    embed.add_field(name="Seed", value=str(track.seed))
    if track.prompt:
        embed.add_field(name="Prompt", value=track.prompt[:1000], inline=False)
    if track.parent_id:
        embed.add_field(name="From", value=f"track #{track.parent_id}")
    embed.set_image(url=f"attachment://{file_stem(track)}.png")
    embed.set_footer(text=f"Track #{track.id} · model {track.model_version} · {track.sampler} · rate it with 1️⃣–5️⃣")
    return embed


def file_stem(track: Track) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", f"{track.style}-{track.mood}").strip("-")
    return f"tunesmith-{track.id}-{slug}"


def track_files(track: Track, midi: bytes, mp3: bytes, png: bytes) -> list[discord.File]:
    stem = file_stem(track)
    return [
        discord.File(io.BytesIO(mp3), filename=f"{stem}.mp3"),
        discord.File(io.BytesIO(midi), filename=f"{stem}.mid"),
        discord.File(io.BytesIO(png), filename=f"{stem}.png"),
    ]


def mp3_file(track: Track, data: bytes) -> discord.File:
    """A track's MP3 on its own (a preview), named as in the track's own message."""
    return discord.File(io.BytesIO(data), filename=f"{file_stem(track)}.mp3")


def jump_link(track: Track) -> str:
    """A link to the message the track was posted in; empty when it was not posted."""
    if track.channel_id and track.message_id:
        return f"https://discord.com/channels/{track.guild_id or '@me'}/{track.channel_id}/{track.message_id}"
    return ""


# Buttons and menus ----------------------------------------------------------------------------------------


@runtime_checkable
class TrackActions(Protocol):
    """What a click on a track's button or menu asks for: a new track linked to track `track_id`."""

    async def action(self, interaction: discord.Interaction[Any], track_id: int, relation: Relation, value: str | None = None) -> None: ...


def _actions(interaction: discord.Interaction[Any]) -> TrackActions:
    cog = interaction.client.get_cog(TRACK_ACTIONS_COG)  # type: ignore[union-attr]
    if not isinstance(cog, TrackActions):
        raise UserFacingError("Composing is switched off on this bot right now.")
    return cog


async def _run_item(interaction: discord.Interaction[Any], track_id: int, relation: Relation, value: str | None) -> None:
    """Component callbacks are not app commands: show user-facing errors here, ephemerally."""
    try:
        await _actions(interaction).action(interaction, track_id, relation, value)
    except UserFacingError as exc:
        await reply(interaction, exc.message, ephemeral=True)


class _TrackItem:
    """What every track button and menu does: make a new track from the one whose id its custom id carries."""

    relation: ClassVar[Relation]
    track_id: int

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: Any) -> Any:
        return cls(int(match["track"]))  # type: ignore[call-arg]

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        values = (interaction.data or {}).get("values") or []  # a menu's choice; buttons have none
        await _run_item(interaction, self.track_id, self.relation, values[0] if values else None)


class VariationButton(_TrackItem, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"ts:variation:(?P<track>[0-9]+)"):
    relation = "variation"

    def __init__(self, track_id: int) -> None:
        super().__init__(discord.ui.Button(label="Variation", emoji="🎲", style=discord.ButtonStyle.primary, custom_id=f"ts:variation:{track_id}"))
        self.track_id = track_id


class ExtendButton(_TrackItem, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"ts:extend:(?P<track>[0-9]+)"):
    relation = "extend"

    def __init__(self, track_id: int) -> None:
        super().__init__(discord.ui.Button(label=f"Extend +{EXTEND_BARS} bars", emoji="➕", style=discord.ButtonStyle.secondary, custom_id=f"ts:extend:{track_id}"))
        self.track_id = track_id


class RegenerateButton(_TrackItem, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"ts:regenerate:(?P<track>[0-9]+)"):
    relation = "regenerate"

    def __init__(self, track_id: int) -> None:
        super().__init__(discord.ui.Button(label="Regenerate", emoji="🔁", style=discord.ButtonStyle.secondary, custom_id=f"ts:regenerate:{track_id}"))
        self.track_id = track_id


class RestyleSelect(_TrackItem, discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"ts:restyle:(?P<track>[0-9]+)"):
    relation = "restyle"

    def __init__(self, track_id: int) -> None:
        options = [discord.SelectOption(label=s.capitalize(), value=s) for s in STYLES]
        super().__init__(discord.ui.Select(placeholder="🎨 Restyle…", options=options, custom_id=f"ts:restyle:{track_id}"))
        self.track_id = track_id


class RemoodSelect(_TrackItem, discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"ts:remood:(?P<track>[0-9]+)"):
    relation = "remood"

    def __init__(self, track_id: int) -> None:
        options = [discord.SelectOption(label=m.capitalize(), value=m) for m in MOODS]
        super().__init__(discord.ui.Select(placeholder="🌗 Re-mood…", options=options, custom_id=f"ts:remood:{track_id}"))
        self.track_id = track_id


# Every dynamic item above, for bot.add_dynamic_items / remove_dynamic_items.
TRACK_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (VariationButton, ExtendButton, RestyleSelect, RemoodSelect, RegenerateButton)


def track_view(track_id: int) -> discord.ui.View:
    """The buttons under every track; persistent because they are dynamic items."""
    view = discord.ui.View(timeout=None)
    view.add_item(VariationButton(track_id))
    view.add_item(ExtendButton(track_id))
    view.add_item(RestyleSelect(track_id))
    view.add_item(RemoodSelect(track_id))
    return view


def regenerate_view(track_id: int) -> discord.ui.View:
    """The one button under a track's provenance (/track): make it again from the same request."""
    view = discord.ui.View(timeout=None)
    view.add_item(RegenerateButton(track_id))
    return view


__all__ = [
    "RATING_EMOJI", "STYLE_COLOURS", "EXTEND_BARS", "TRACK_ACTIONS_COG", "TRACK_ITEMS", "Relation", "TrackActions",
    "track_title", "track_embed", "file_stem", "track_files", "mp3_file", "jump_link", "track_view", "regenerate_view",
    "VariationButton", "ExtendButton", "RegenerateButton", "RestyleSelect", "RemoodSelect",
]  # fmt: skip
