"""The system pieces audio needs (a SoundFont, the FluidSynth library, ffmpeg): found, or named with their fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pretty_midi

# Best first: Debian/Ubuntu's FluidR3 GM (fluid-soundfont-gm), then the small one pretty_midi ships.
SOUNDFONT_CANDIDATES: tuple[Path, ...] = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/soundfonts/FluidR3_GM.sf2"),
    Path(pretty_midi.__file__).with_name("TimGM6mb.sf2"),
)


class RenderDependencyError(RuntimeError):
    """Audio cannot be made on this machine; the message names what is missing and how to install it."""


def default_soundfont() -> Path:
    """The best General MIDI SoundFont installed (the last candidate when none is, so the error can name it)."""
    return next((p for p in SOUNDFONT_CANDIDATES if p.is_file()), SOUNDFONT_CANDIDATES[-1])


def soundfont_problem(soundfont: Path | None) -> str | None:
    path = Path(soundfont) if soundfont else default_soundfont()
    if path.is_file():
        return None
    return (f"SoundFont {path} not found. Install one with `sudo apt-get install fluid-soundfont-gm`, "
            "or point the `soundfont` setting (TUNESMITH_SOUNDFONT) at a General MIDI .sf2 file.")


def fluidsynth_problem() -> str | None:
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth loads libfluidsynth when imported)
    except (ImportError, OSError) as exc:
        return (f"The FluidSynth library could not be loaded ({exc}). Install it with `sudo apt-get install libfluidsynth3` "
                "(macOS: `brew install fluid-synth`), and pyfluidsynth with `pip install pyfluidsynth`.")
    return None


def ffmpeg_problem() -> str | None:
    if shutil.which("ffmpeg") is None:
        return "ffmpeg was not found on PATH; MP3 encoding needs it. Install it with `sudo apt-get install ffmpeg`."
    return None


def check_render_dependencies(soundfont: Path | None = None) -> list[str]:
    """Human-readable problems, each with its fix; empty when audio can be rendered and encoded."""
    return [p for p in (soundfont_problem(soundfont), fluidsynth_problem(), ffmpeg_problem()) if p]
