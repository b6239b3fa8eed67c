"""A piano-roll picture of an arrangement, sized for a Discord embed (800 x 450 px)."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from engine.arrange import Arrangement

BACKGROUND, FOREGROUND, GRID = "#2b2d31", "#e6e6e6", "#4e5058"  # Discord's dark theme
ROLE_COLOURS = {"Melody": "#f2c14e", "Bass": "#5fb3f9", "Drums": "#b0b0b0", "Pad": "#a98bf5"}
CHORD_COLOURS = ("#6fd08c", "#f47c7c", "#4fd1c5")
# Drum lanes, bottom to top, by General MIDI note.
DRUM_LANES = (("kick", (35, 36)), ("snare", (37, 38, 39, 40)), ("toms", (41, 43, 45, 47, 48, 50)),
              ("hi-hat", (42, 44, 46)), ("ride", (51, 53, 59)), ("crash", (49, 52, 55, 57)))
_LANE = {pitch: i for i, (_, pitches) in enumerate(DRUM_LANES) for pitch in pitches}


def _colour(role: str, chord_roles: list[str]) -> str:
    return ROLE_COLOURS.get(role) or CHORD_COLOURS[chord_roles.index(role) % len(CHORD_COLOURS)]


def _rectangles(starts: np.ndarray, ends: np.ndarray, pitches: np.ndarray, height: float) -> np.ndarray:
    low, high = pitches - height / 2, pitches + height / 2
    return np.stack([np.stack([starts, low], 1), np.stack([starts, high], 1), np.stack([ends, high], 1), np.stack([ends, low], 1)], 1)


def piano_roll_png(arrangement: Arrangement, title: str, width_px: int = 800, height_px: int = 450, dpi: int = 100) -> bytes:
    """PNG bytes: one colour per instrument, bar lines, chord symbols along the top, and a title with the
    style, mood, key and tempo under `title`."""
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi, facecolor=BACKGROUND)
    FigureCanvasAgg(fig)
    instruments = arrangement.midi.instruments
    has_drums = any(i.is_drum and i.notes for i in instruments)
    grid = fig.add_gridspec(2 if has_drums else 1, 1, height_ratios=[5, 1] if has_drums else [1], hspace=0.05,
                            left=0.06, right=0.985, top=0.80, bottom=0.07)
    roll = fig.add_subplot(grid[0])
    axes = [roll]
    if has_drums:
        axes.append(fig.add_subplot(grid[1], sharex=roll))
    end = arrangement.duration_seconds
    chord_roles = [r for r in arrangement.parts if r not in ROLE_COLOURS]
    pitched = [p for i in instruments if not i.is_drum for p in (n.pitch for n in i.notes)]
    low, high = (min(pitched) - 2, max(pitched) + 3) if pitched else (36, 84)

    for inst in instruments:
        if not inst.notes:
            continue
        colour = _colour(inst.name, chord_roles)
        starts = np.array([n.start for n in inst.notes])
        ends = np.array([n.end for n in inst.notes])
        if inst.is_drum:
            lanes = np.array([_LANE.get(n.pitch, 2) for n in inst.notes], dtype=float)
            axes[1].add_collection(PolyCollection(_rectangles(starts, starts + 0.06, lanes, 0.7), facecolors=colour, edgecolors="none"))
        else:
            pitches = np.array([n.pitch for n in inst.notes], dtype=float)
            roll.add_collection(PolyCollection(_rectangles(starts, ends, pitches, 0.85), facecolors=colour,
                                               edgecolors="none", alpha=0.95 if inst.name == "Melody" else 0.7,
                                               zorder=3 if inst.name == "Melody" else 2))
        roll.plot([], [], color=colour, linewidth=6, label=f"{inst.name}: {arrangement.parts.get(inst.name, '')}")

    for ax in axes:
        ax.set_facecolor(BACKGROUND)
        ax.vlines(arrangement.bar_times, 0, 1, transform=ax.get_xaxis_transform(), colors=GRID, linewidth=0.6)
        ax.tick_params(colors=FOREGROUND, labelsize=7, length=2)
        for spine in ax.spines.values():
            spine.set_color(GRID)
    roll.set_xlim(0, end)
    roll.set_ylim(low, high)
    roll.set_ylabel("pitch", color=FOREGROUND, fontsize=7)
    octaves = [p for p in range(0, 128, 12) if low <= p <= high]
    roll.set_yticks(octaves, [f"C{p // 12 - 1}" for p in octaves])
    if has_drums:
        axes[1].set_ylim(-0.6, len(DRUM_LANES) - 0.4)
        axes[1].set_yticks([0, 1, 3], ["kick", "snare", "hat"])
        axes[1].set_xlabel("seconds", color=FOREGROUND, fontsize=7)
        roll.tick_params(labelbottom=False)
    else:
        roll.set_xlabel("seconds", color=FOREGROUND, fontsize=7)

    # Chord symbols above the roll, thinned so neighbours never overlap at this width.
    min_gap = end / 22
    last = -min_gap
    for time, symbol in arrangement.chord_symbols:
        if time - last >= min_gap:
            roll.text(time, 1.01, symbol, transform=roll.get_xaxis_transform(), color=FOREGROUND, fontsize=7, va="bottom")
            last = time

    swing = f", swing {arrangement.swing:.2f}" if arrangement.swing > 0.5 else ""
    fig.suptitle(title, color=FOREGROUND, fontsize=12, fontweight="bold", y=0.985)
    fig.text(0.5, 0.905, f"{arrangement.style} · {arrangement.mood} · {arrangement.key.name} · {arrangement.tempo:.0f} bpm"
             f" · {arrangement.meter.numerator}/{arrangement.meter.denominator}{swing}", color=FOREGROUND, fontsize=9, ha="center")
    roll.legend(loc="lower center", bbox_to_anchor=(0.5, 1.06), ncol=min(4, len(instruments)), fontsize=7, frameon=False,
                labelcolor=FOREGROUND, handlelength=1.2, columnspacing=1.2)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor=BACKGROUND)
    return buffer.getvalue()
