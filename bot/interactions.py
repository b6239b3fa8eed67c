"""Answering an interaction whether or not it has been responded to (or deferred) yet."""

from __future__ import annotations

import logging
from typing import Any

import discord

log = logging.getLogger(__name__)

MAX_CONTENT = 2000  # Discord refuses a message whose content is longer


def fit_content(content: str | None, limit: int = MAX_CONTENT) -> str | None:
    """`content` cut to Discord's limit at a word boundary, saying how much was left out."""
    if content is None or len(content) <= limit:
        return content
    note = " … ({} more characters)"
    room = limit - len(note.format(len(content)))
    cut = content.rfind(" ", 0, room)
    cut = cut if cut > room // 2 else room
    return content[:cut] + note.format(len(content) - cut)


async def reply(interaction: discord.Interaction[Any], content: str | None = None, *, embed: discord.Embed | None = None, ephemeral: bool = True) -> None:
    """Send `content`/`embed` as the response, or as a follow-up once the interaction was answered or deferred."""
    kwargs: dict[str, Any] = {"content": fit_content(content), "ephemeral": ephemeral}
    if embed is not None:
        kwargs["embed"] = embed
    try:
        if interaction.response.is_done():
            await interaction.followup.send(**kwargs)
        else:
            await interaction.response.send_message(**kwargs)
    except discord.NotFound:
        # The interaction expired (15 minutes) or was deleted: there is nobody left to tell.
        log.info("Interaction expired before the reply", extra={"interaction": interaction.id})
