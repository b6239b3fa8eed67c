"""Files of a track whose media the retention policy deleted (storage.retention), rendered again on demand.

The track's recipe (bot.recipes) is replayed through the engine: the same model and seed give the same notes,
so the MIDI, MP3 and picture are those the track was posted with. Nothing is rendered again when the model
that made the track no longer serves (it would write another piece) or its source track was deleted.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from bot.recipes import SourceGone, engine_job, recipe_of
from engine.service import EngineBusy, EngineFailure
from storage import Track

if TYPE_CHECKING:
    from bot.client import TunesmithBot

log = logging.getLogger(__name__)


def has_media(bot: TunesmithBot, track: Track) -> bool:
    media = bot.services.storage.media
    return all(path is not None and media.exists(path) for path in (track.midi_path, track.mp3_path, track.png_path))


async def ensure_media(bot: TunesmithBot, track: Track) -> Track | None:
    """The track with its files in the media store: as stored, or rendered again from its recipe. None when they
    cannot be (no composer running, another model serving now, the source track gone, the engine busy)."""
    if has_media(bot, track):
        return track
    storage = bot.services.storage
    engine = bot.services.engine
    full = await storage.tracks.get(track.id)  # listings leave the notes out
    if full is None or engine is None or engine.model_version != full.model_version:
        return None
    try:
        job = await engine_job(recipe_of(full), prompt=full.prompt, user_key=f"restore:{full.id}", load_track=storage.tracks.get)
        result = await engine.submit(job).result()
    except (SourceGone, EngineBusy, EngineFailure, ValueError):
        log.info("Could not render the files of track %s again", full.id, exc_info=True)
        return None
    rendered = result.track
    midi, mp3, png = await asyncio.to_thread(
        lambda: (storage.media.put(rendered.midi, ".mid"), storage.media.put(rendered.mp3, ".mp3"), storage.media.put(rendered.png, ".png"))
    )
    await storage.tracks.restore_files(full.id, midi_path=midi, mp3_path=mp3, png_path=png)
    log.info("Rendered the pruned files of track %s again", full.id)
    return await storage.tracks.get(full.id)


__all__ = ["ensure_media", "has_media"]
