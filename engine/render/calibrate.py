"""Balance the band: measure each part's loudness alone and set track volumes so the melody leads.

    tunesmith arrange calibrate        # writes engine/arrange/levels.json

SoundFont instruments differ in loudness by 20 dB and more (a square lead against a vibraphone), so fixed
track volumes bury the melody in some styles. For every style and mood, the example pieces are arranged,
each part is rendered alone with the default SoundFont, and its volume (MIDI CC7) is set so the parts sit
at ROLE_LEVELS relative to the melody. The arranger reads the result; running this again refines it.
"""

from __future__ import annotations

import json
import math

from engine.arrange import arrange, suggested_tempo
from engine.arrange.arranger import CHORD_LEVEL, LEVELS_PATH, ROLE_LEVELS
from engine.arrange.examples import folk_tune, ii_v_i
from engine.plan import plan_for_piece
from engine.render.audio import AudioRenderer
from engine.render.loudness import loudness_lufs
from engine.labels import MOODS, STYLES

CC7_MIN, CC7_MAX = 24, 127


# FluidSynth, like the General MIDI recommendation, attenuates a track by 40·log10(cc/127) dB.
def _db(cc7: int) -> float:
    return 40 * math.log10(cc7 / CC7_MAX)


def _cc7(db: float) -> int:
    return max(CC7_MIN, min(CC7_MAX, round(CC7_MAX * 10 ** (db / 40))))


def calibrate(renderer: AudioRenderer) -> dict[str, dict[str, dict[str, int]]]:
    levels: dict[str, dict[str, dict[str, int]]] = {}
    for style in STYLES:
        for mood in MOODS:
            measured: dict[str, list[float]] = {}
            volumes: dict[str, int] = {}
            for piece in (ii_v_i(8, tempo=0), folk_tune(8, tempo=0)):
                arrangement = arrange(piece, plan_for_piece(piece.bars, piece.key, suggested_tempo(style, mood), style, mood, seed=0))
                band = arrangement.midi.instruments
                for inst in band:
                    arrangement.midi.instruments = [inst]
                    lufs = loudness_lufs(renderer.render_raw(arrangement), renderer.sample_rate)
                    if math.isfinite(lufs):
                        measured.setdefault(inst.name, []).append(lufs)
                    volumes[inst.name] = next(cc.value for cc in inst.control_changes if cc.number == 7)
                arrangement.midi.instruments = band
            melody = sum(measured["Melody"]) / len(measured["Melody"])
            # Each track's wanted gain in dB from full volume; then all are raised together so the loudest
            # wanted track gets full volume (only the differences matter: the renderer normalises loudness).
            wanted = {role: _db(volumes[role]) + melody + ROLE_LEVELS.get(role, CHORD_LEVEL) - sum(v) / len(v)
                      for role, v in measured.items()}
            lift = -max(wanted.values())
            levels.setdefault(style, {})[mood] = {role: _cc7(db + lift) for role, db in wanted.items()}
    return levels


def write_levels() -> None:
    """Calibrate with the default SoundFont, write LEVELS_PATH and print the levels (`tunesmith arrange calibrate`)."""
    levels = calibrate(AudioRenderer())
    LEVELS_PATH.write_text(json.dumps(levels, indent=1, sort_keys=True))
    print(f"wrote {LEVELS_PATH}")
    for style, moods in levels.items():
        print(f"  {style:9s}", "  ".join(f"{m}: " + ",".join(f"{r[:3]}{v}" for r, v in parts.items()) for m, parts in moods.items()))

