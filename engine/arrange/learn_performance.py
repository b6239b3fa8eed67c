"""Learn how players perform, into `performance.json` (shipped beside patterns.json; run by learn.py).

- Drums, per style, per drum and position in the beat (16th 0..3), from Groove MIDI's beat clips: the
  mean and standard deviation of the timing offset (in beats) and of the velocity.
- Lead lines, from the Weimar Jazz Database's per-note loudness (dB), as z-scores within each solo:
  the arc over a phrase (mean loudness in 8 bins of phrase position), the loudness per semitone above
  the phrase's mean pitch, the accent per metrical position, how much of the loudness those three
  explain, how the rest carries from note to note (lag-1 correlation), and the articulation (sounding duration over the time to the next note) within phrases.
- The spread of melody velocities within a 16-bar window, from POP909's performed MELODY tracks (MIDI units).

The arranger reads only the JSON; nothing here runs on a user's machine.
"""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from pathlib import Path

import numpy as np
import pretty_midi

from engine.data.readers.pop909 import read_downbeats

PHRASE_BINS = 8
SNARE = 38
GHOST_MIN, GHOST_MAX = 12, 64  # a snare stroke on an off 16th this quiet is a ghost note (below 12: a brush of the stick)
METRIC_POSITIONS = ("downbeat", "middle", "backbeat", "offbeat")  # beat 1, beat 3, beats 2 and 4, between beats


def _mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.pstdev(values) if len(values) > 1 else 0.0)


def learn_drum_performance(root: Path) -> dict:
    """{style: {gm drum: {position in beat: [offset mean, offset sd (beats), velocity mean, velocity sd, hits]},
    "ghost_snare_velocity": median velocity of the ghost strokes on the snare's off 16ths}}."""
    from engine.arrange.learn import GROOVE_STYLES, _groove_bars  # the same clips and grid as the grooves

    rows = list(csv.DictReader((root / "info.csv").open()))
    out: dict[str, dict] = {}
    for style, (labels, swung) in GROOVE_STYLES.items():
        cells: dict[tuple[int, int], list[tuple[int, float]]] = defaultdict(list)
        ghosts: list[int] = []
        for row in rows:
            if row["style"] in labels and row["beat_type"] == "beat" and row["time_signature"] == "4-4":
                for bar in _groove_bars(root, row, swung):
                    for step, drum, velocity, offset in bar:
                        cells[(drum, step % 4)].append((velocity, offset))
                        if drum == SNARE and step % 2 and GHOST_MIN <= velocity < GHOST_MAX:
                            ghosts.append(velocity)
        table: dict[str, dict[str, list]] = {}
        for (drum, position), hits in sorted(cells.items()):
            if len(hits) < 20:
                continue  # too few strokes to say how this drum is played here
            offset_mean, offset_sd = _mean_sd([o for _, o in hits])
            velocity_mean, velocity_sd = _mean_sd([v for v, _ in hits])
            table.setdefault(str(drum), {})[str(position)] = [round(offset_mean, 4), round(offset_sd, 4),
                                                              round(velocity_mean, 1), round(velocity_sd, 1), len(hits)]
        if ghosts:
            table["ghost_snare_velocity"] = statistics.median(ghosts)
        out[style] = table
    return out


def _metric_position(beat: int, tatum: int) -> str:
    if tatum != 1:
        return "offbeat"
    return {1: "downbeat", 3: "middle"}.get(beat, "backbeat")


def _wjd_phrases(melody_dir: Path) -> tuple[list[list[dict]], list[float]]:
    """Notes of 4/4 solos grouped by phrase, with loudness as a z-score within its solo; and each solo's sd in dB."""
    phrases, solo_sds = [], []
    for path in sorted(melody_dir.glob("*.csv")):
        with path.open() as f:
            notes = [r for r in csv.DictReader(f) if r["signature"].strip('"') == "4/4" and r.get("loud_median")]
        loud = [float(r["loud_median"]) for r in notes]
        if len(loud) < 20:
            continue
        mean, sd = _mean_sd(loud)
        if sd <= 0:
            continue
        solo_sds.append(sd)
        by_phrase: dict[str, list[dict]] = defaultdict(list)
        for r, db in zip(notes, loud):
            by_phrase[r["phrase_id"]].append({"z": (db - mean) / sd, "pitch": int(float(r["pitch"])), "onset": float(r["onset"]),
                                              "duration": float(r["duration"]), "position": _metric_position(int(r["beat"]), int(r["tatum"]))})
        phrases.extend(sorted(p, key=lambda n: n["onset"]) for p in by_phrase.values() if len(p) >= 4)
    return phrases, solo_sds


def learn_lead_performance(melody_dir: Path) -> dict:
    """The WJD loudness model of a lead line (z-units: standard deviations of loudness within a solo)."""
    phrases, solo_sds = _wjd_phrases(melody_dir)
    rel_z, rel_pitch, bins, positions, ratios = [], [], [], [], []
    for phrase in phrases:
        z_mean = statistics.fmean(n["z"] for n in phrase)
        pitch_mean = statistics.fmean(n["pitch"] for n in phrase)
        for i, n in enumerate(phrase):
            rel_z.append(n["z"] - z_mean)
            rel_pitch.append(n["pitch"] - pitch_mean)
            bins.append(min(PHRASE_BINS - 1, int(i / (len(phrase) - 1) * PHRASE_BINS)))
            positions.append(n["position"])
            if i + 1 < len(phrase):
                gap = phrase[i + 1]["onset"] - n["onset"]
                if gap > 0:
                    ratios.append(min(1.0, n["duration"] / gap))
    z, pitch = np.array(rel_z), np.array(rel_pitch)
    arc = [float(np.mean(z[np.array(bins) == b])) for b in range(PHRASE_BINS)]
    arc_part = np.array([arc[b] for b in bins])
    slope = float(np.dot(pitch, z - arc_part) / np.dot(pitch, pitch))  # least squares, after the arc
    rest = z - arc_part - slope * pitch
    accents = {p: float(np.mean(rest[np.array(positions) == p])) for p in METRIC_POSITIONS}
    predicted = arc_part + slope * pitch + np.array([accents[p] for p in positions])
    explained = float(1 - np.var(z - predicted) / np.var(z))
    # What the three leave over drifts: a note is loud when the one before it was. Lag-1 correlation within phrases.
    residual = z - predicted
    first = np.cumsum([0] + [len(ph) for ph in phrases[:-1]])
    pairs = np.array([(residual[i], residual[i + 1]) for f, ph in zip(first, phrases) for i in range(f, f + len(ph) - 1)])
    drift = float(np.corrcoef(pairs[:, 0], pairs[:, 1])[0, 1])
    quartiles = np.percentile(ratios, [25, 50, 75])
    return {
        "source": f"wjd-solos: {len(phrases)} phrases of 4/4 solos, loud_median (dB) as z-scores within each solo",
        "solo_loudness_sd_db": round(statistics.median(solo_sds), 2),
        "phrase_arc": [round(a, 3) for a in arc],
        "per_semitone": round(slope, 4),
        "metric_accent": {p: round(a, 3) for p, a in accents.items()},
        "explained_share": round(explained, 3),
        "residual_lag1": round(drift, 3),
        "articulation_quartiles": [round(float(q), 3) for q in quartiles],
    }


def learn_melody_velocity_spread(pop909: Path, pieces: int = 300, window_bars: int = 16) -> dict:
    """Median over POP909 songs of the MELODY track's velocity standard deviation (MIDI units) within
    windows of `window_bars` bars (at the annotated downbeats), the length of the pieces Tunesmith writes."""
    sds = []
    for folder in sorted(p for p in pop909.iterdir() if p.is_dir())[:pieces]:
        beats = folder / "beat_midi.txt"
        if not beats.is_file():
            continue
        downbeats = read_downbeats(beats)
        midi = pretty_midi.PrettyMIDI(str(folder / f"{folder.name}.mid"))
        melody = next((i for i in midi.instruments if i.name.strip().upper() == "MELODY"), None)
        if melody is None:
            continue
        song = []
        for k in range(0, len(downbeats) - window_bars, window_bars):
            inside = [n.velocity for n in melody.notes if downbeats[k] <= n.start < downbeats[k + window_bars]]
            if len(inside) >= 20:
                song.append(statistics.pstdev(inside))
        if song:
            sds.append(statistics.median(song))
    return {"source": f"pop909: MELODY tracks of {len(sds)} songs, {window_bars}-bar windows",
            "window_bars": window_bars, "within_piece_sd": round(statistics.median(sds), 2)}


def learn_performance(data: Path) -> dict:
    return {
        "about": "Learned by engine/arrange/learn_performance.py (run by learn.py); see docs/ARRANGEMENT.md.",
        "drums": learn_drum_performance(data / "groove-midi"),
        "lead": learn_lead_performance(data / "wjd-solos" / "mcsv_melody"),
        "melody_velocity": learn_melody_velocity_spread(data / "pop909"),
    }
