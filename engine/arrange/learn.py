"""Learn accompaniment patterns from the training data into `patterns.json`, which ships with the package.

Run by hand where the data sets exist:  tunesmith arrange learn [--data DIR] [--out PATH]

- Drum grooves per style from Groove MIDI (real drummers): one-bar beats quantised to the 16th grid,
  with mean velocity and mean micro-timing offset per hit; swung styles are quantised to the swung grid.
- Walking-bass phrases from the JJazzLab walking-bass database: each chord span's notes as intervals,
  with the interval to the next chord's root, so approach notes come from real bass lines.
- Comping and bass patterns from Impro-Visor style files (`.sty`), parsed from their rule text.
- Pop piano comping from POP909's PIANO tracks (train split only): one-bar onset rhythms at the songs'
  annotated downbeats, the most common ones weighted by how often pianists played them.
- How players perform (drum timing and velocity, a lead line's loudness and articulation) into
  `performance.json`, by `learn_performance.py`.

The arranger reads only the JSON; nothing here runs on a user's machine.
"""

from __future__ import annotations

import bisect
import csv
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

import mido
import pretty_midi

from engine.music import STEPS_PER_BEAT, pitch_class

PATTERNS_PATH = Path(__file__).with_name("patterns.json")
PERFORMANCE_PATH = Path(__file__).with_name("performance.json")

# Tunesmith style -> (Groove MIDI style labels, swung?). Styles absent here have no drums.
GROOVE_STYLES: dict[str, tuple[tuple[str, ...], bool]] = {
    "blues": (("blues/shuffle", "rock/shuffle", "neworleans/shuffle"), True),
    "latin": (("latin/brazilian-bossa", "latin/brazilian-samba", "latin/samba"), False),
    "pop": (("pop", "pop/soft", "soul/motown"), False),
    "rock": (("rock", "rock/indie"), False),
    "folk": (("rock/folk", "country"), False),
    "celtic": (("country",), False),
    "game": (("funk/fast", "dance/disco"), False),
    "lofi": (("hiphop", "hiphop/groove6"), True),
    "jazz": (("jazz/swing", "jazz/mediumfast", "jazz/fast", "jazz"), True),
}
# Styles that keep time on the ride while kick and snare comp freely, bar by bar: their groove is the ride's
# pattern (a stroke on every beat), and the comping is what the variants keep, so they keep more of them.
RIDE_GROOVES = {"jazz": 48}
# Fills: the groove styles' own, but jazz's from the labels whose one-bar fill clips are swing.
FILL_STYLES = {**GROOVE_STYLES, "jazz": (("jazz", "jazz/swing", "jazz/mediumfast"), True)}
FILL_DRUMS = {37, 38, 41, 43, 45, 47, 48, 50}  # snares and toms: what a fill is played on
TOMS = FILL_DRUMS - {37, 38}
# Impro-Visor style files used, and what for.
IMPRO_COMPING = {"jazz": ("swing", "swing-RedGarland", "swing-BudPowell"), "blues": ("shuffle",),
                 "folk": ("folk-rock",)}
# Bossa guitar comps on the clave, which the bossa style file gives as its claves drum line.
IMPRO_CLAVE_COMPING = {"latin": "bossa"}
IMPRO_BASS = {"latin": ("bossa",), "blues": ("shuffle",), "rock": ("rock-medium-even",)}

# Groove MIDI records a Roland kit's articulations; fold them onto General MIDI drums.
GROOVE_TO_GM = {22: 42, 26: 46, 40: 38, 50: 48, 47: 45, 58: 43, 55: 49, 52: 57, 59: 51}
CORE_KIT = {36, 37, 38, 42, 44, 46, 51, 53}  # kick, snares, hats, ride: the groove without fills and crashes
TIMEKEEPERS = {42, 46, 51}
BACKBONE = {36, 37, 38}  # kick, side stick, snare: what tells one groove from another
TIMEKEEPER_FAMILY = {42: "hat", 44: "hat", 46: "hat", 51: "ride", 53: "ride"}
RIDES = {51, 53}
CRASHES = {49, 52, 55, 57}
GHOST_FLOOR = 12  # quieter strokes are brushes of the stick, not notes a listener hears
CLAVES = 75
SWING_RATIO_GUESS = 2 / 3  # where a swung off-beat eighth sits inside the beat, for quantising

QUALITY_FAMILY = {"": "maj", "6": "maj", "7M": "maj", "M7": "maj", "m": "min", "-": "min", "m7": "min", "-7": "min",
                  "m6": "min", "m9": "min", "7": "dom", "9": "dom", "7b9": "dom", "7#11": "dom", "7#5": "dom",
                  "7b5": "dom", "sus": "dom", "7sus": "dom", "m7b5": "hdim", "-7b5": "hdim", "dim7": "dim", "dim": "dim"}


# ---------------------------------------------------------------- Groove MIDI drums


def _quantise(beat_pos: float, swung: bool) -> tuple[int, float]:
    """Grid step (within the beat span) and offset in beats from that step's nominal time."""
    beat = int(beat_pos)
    frac = beat_pos - beat
    if swung:  # grid inside a beat: 0, the swung eighth, and the 16ths between them
        nominal = [0.0, SWING_RATIO_GUESS / 2, SWING_RATIO_GUESS, (1 + SWING_RATIO_GUESS) / 2, 1.0]
    else:
        nominal = [0.0, 0.25, 0.5, 0.75, 1.0]
    idx = min(range(5), key=lambda i: abs(frac - nominal[i]))
    return beat * STEPS_PER_BEAT + idx, frac - nominal[idx]


def _groove_bars(root: Path, row: dict, swung: bool) -> list[list[tuple[int, int, int, float]]]:
    """One Groove MIDI clip as bars of (step, GM drum, velocity, offset in beats) hits."""
    midi = pretty_midi.PrettyMIDI(str(root / row["midi_filename"]))
    beats = midi.get_beats()
    spb = 60.0 / float(row["bpm"])
    per_bar: dict[int, list] = defaultdict(list)
    for note in (n for inst in midi.instruments for n in inst.notes):
        beat_pos = (note.start - beats[0]) / spb if len(beats) else note.start / spb
        step, offset = _quantise(beat_pos, swung)
        bar, step = divmod(step, 16)
        per_bar[bar].append((step, GROOVE_TO_GM.get(note.pitch, note.pitch), note.velocity, offset))
    return [per_bar[b] for b in sorted(per_bar)]


def _as_played(hits: list[tuple[int, int, int, float]]) -> frozenset | None:
    """A bar as a drummer played it, for telling variations apart: (step, drum) of every audible hit
    (ghost notes included), crashes left out (the arranger places its own at section starts); None for a
    bar with three tom strokes or more, a fill inside the clip, since the arranger's fills go where the form says."""
    audible = [(s, p) for s, p, v, _ in hits if v >= GHOST_FLOOR and p not in CRASHES]
    if sum(p in TOMS for _, p in audible) >= 3:
        return None
    return frozenset(audible)


def _mean_hits(bars: list[list[tuple[int, int, int, float]]], keep: frozenset) -> list[list]:
    """[[step, drum, mean velocity, mean offset in beats], ...] of the hits in `keep`, over bars that share them."""
    acc: dict[tuple[int, int], list] = defaultdict(list)
    for hits in bars:
        loudest: dict[tuple[int, int], tuple[int, float]] = {}
        for s, p, v, o in hits:
            if (s, p) in keep and v > loudest.get((s, p), (0, 0.0))[0]:
                loudest[(s, p)] = (v, o)  # two strokes quantised to one step: the louder is the hit
        for sp, vo in loudest.items():
            acc[sp].append(vo)
    return [[s, p, round(sum(v for v, _ in vs) / len(vs)), round(sum(o for _, o in vs) / len(vs), 3)]
            for (s, p), vs in sorted(acc.items())]


def _groove_key(style: str, hits: list[tuple[int, int, int, float]]) -> tuple | None:
    """Which groove a bar is played on, None for a bar that does not count (out of phase, no time kept)."""
    if style in RIDE_GROOVES:
        ride = frozenset((s, p) for s, p, v, _ in hits if v >= 30 and p in RIDES)
        # The ride's quarter-note pulse is the time a swing drummer keeps; it also drops bars out of phase.
        on_beats = {s for s, _ in ride if s % STEPS_PER_BEAT == 0}
        return (ride, "ride") if on_beats == set(range(0, 4 * STEPS_PER_BEAT, STEPS_PER_BEAT)) else None
    # A groove is its accented kick and snare pattern and the cymbal that keeps time; the hats' and
    # ghost notes' detail varies bar to bar, and is what the variants keep.
    accents = frozenset((s, p) for s, p, v, _ in hits if v >= 30 and p in BACKBONE)
    time_hits = Counter(TIMEKEEPER_FAMILY[p] for _, p, v, _ in hits if v >= 30 and p in TIMEKEEPER_FAMILY)
    # A kick on the downbeat is how nearly every groove in these styles starts its bar; it also
    # drops bars the beat tracker placed out of phase. A groove also keeps time on a cymbal.
    if (0, 36) in accents and time_hits and time_hits.most_common(1)[0][1] >= 4:
        return accents, time_hits.most_common(1)[0][0]
    return None


def learn_groove_drums(root: Path, max_patterns: int = 6, max_variants: int = 12, styles: Iterable[str] | None = None) -> dict:
    """Per style: the most common groove skeletons, each with the bars drummers actually played on it.

    A skeleton is a groove's accented hits; its `variants` are the distinct bars (ghost notes, open hats,
    extra kicks included) recorded over that skeleton, most common first, so a part can change from bar
    to bar the way a drummer's does while keeping the groove. `max_variants` per groove, except for the
    RIDE_GROOVES styles, which keep the number given there.
    """
    rows = list(csv.DictReader((root / "info.csv").open()))
    out = {}
    wanted = set(GROOVE_STYLES if styles is None else styles)
    for style, (labels, swung) in GROOVE_STYLES.items():
        if style not in wanted:
            continue
        bars: list[list[tuple[int, int, int, float]]] = []
        files = []
        for row in rows:
            if row["style"] in labels and row["beat_type"] == "beat" and row["time_signature"] == "4-4":
                files.append(row["midi_filename"])
                bars.extend(_groove_bars(root, row, swung))
        members: dict[tuple, list] = defaultdict(list)
        for hits in bars:
            if (key := _groove_key(style, hits)) is not None:
                members[key].append(hits)
        patterns = []
        variants_kept = RIDE_GROOVES.get(style, max_variants)
        for _, group in sorted(members.items(), key=lambda kv: (-len(kv[1]), sorted(kv[0][0]), kv[0][1]))[:max_patterns]:
            # The groove's own hits: the accented strokes present in at least half of its bars.
            presence = Counter(sp for hits in group for sp in {(s, p) for s, p, v, _ in hits if v >= 30 and p in CORE_KIT})
            skeleton = frozenset(sp for sp, c in presence.items() if c >= len(group) / 2)
            played: dict[frozenset, list] = defaultdict(list)
            for hits in group:
                shape = _as_played(hits)
                if shape:
                    played[shape].append(hits)
            ranked = sorted(played.items(), key=lambda kv: (-len(kv[1]), sorted(kv[0])))[:variants_kept]
            variants = [{"weight": len(bars_), "hits": _mean_hits(bars_, shape)} for shape, bars_ in ranked]
            patterns.append({"weight": len(group), "hits": _mean_hits(group, skeleton), "variants": variants})
        out[style] = {"source": f"groove-midi: {', '.join(labels)} ({len(files)} beat files, {len(bars)} bars)",
                      "swing": SWING_RATIO_GUESS if swung else None, "patterns": patterns}
    return out


def learn_groove_fills(root: Path, max_fills: int = 16) -> dict:
    """Fills per style: Groove MIDI's one-bar `fill` clips, the last two beats of each kept as played."""
    rows = list(csv.DictReader((root / "info.csv").open()))
    out = {}
    for style, (labels, swung) in FILL_STYLES.items():
        fills, clips = [], 0
        for row in sorted(rows, key=lambda r: r["midi_filename"]):
            if row["style"] not in labels or row["beat_type"] != "fill" or row["time_signature"] != "4-4":
                continue
            if not 0.85 <= float(row["duration"]) * float(row["bpm"]) / 240 <= 1.1:
                continue  # a clip of about one bar is one fill; longer ones mix grooves and fills
            clips += 1
            bar = _groove_bars(root, row, swung)[0]
            if not any(s == 0 for s, _, v, _ in bar if v >= 30):
                continue  # out of phase: nothing on the downbeat
            tail = [[s, p, v, round(o, 3)] for s, p, v, o in bar if s >= 8 and v >= 30]
            if 3 <= sum(p in FILL_DRUMS for _, p, _, _ in tail) and len(tail) <= 16 and len(fills) < max_fills:
                fills.append(sorted(tail))
        out[style] = {"source": f"groove-midi fills: {', '.join(labels)} ({clips} one-bar fill clips)",
                      "swing": SWING_RATIO_GUESS if swung else None, "fills": fills}
    return out


# ---------------------------------------------------------------- JJazzLab walking bass


def _parse_marker_chord(text: str) -> tuple[int, str] | None:
    m = re.match(r"^([A-G][b#]?)(.*)$", text.strip())
    if not m:
        return None
    suffix = m.group(2).split("/")[0]
    family = QUALITY_FAMILY.get(suffix)
    return (pitch_class(m.group(1)), family) if family else None


def learn_walking_bass(db_dir: Path) -> dict:
    """Per database (4-feel, 2-feel): phrases over one chord span, as offsets from the chord root."""
    out: dict[str, list] = {}
    for name, feel in (("WalkingBassMidiDB.mid", "4feel"), ("WalkingBass2feelAMidiDB.mid", "2feel"),
                       ("WalkingBass2feelBMidiDB.mid", "2feel")):
        midi = mido.MidiFile(str(db_dir / name))
        tpb = midi.ticks_per_beat
        markers, notes = [], []
        for track in midi.tracks:
            t, on = 0, {}
            for msg in track:
                t += msg.time
                if msg.type == "marker":
                    chord = _parse_marker_chord(msg.text)
                    if chord:
                        markers.append((t, *chord))
                elif msg.type == "note_on" and msg.velocity > 0:
                    on[msg.note] = (t, msg.velocity)
                elif msg.type in ("note_off", "note_on") and msg.note in on:
                    start, vel = on.pop(msg.note)
                    notes.append((start, t - start, msg.note, vel))
        markers.sort()
        notes.sort()
        phrases: Counter = Counter()
        for (t0, root, family), (t1, next_root, _) in zip(markers, markers[1:]):
            beats = round((t1 - t0) / tpb)
            if beats not in (2, 4) or t1 - t0 != beats * tpb:
                continue
            span = [n for n in notes if t0 - tpb // 8 <= n[0] < t1 - tpb // 8]
            if not span:
                continue
            first = span[0][2]
            if (first - root) % 12 != 0:  # keep phrases that start on the root, as nearly all do
                continue
            landing = next((n[2] for n in notes if abs(n[0] - t1) < tpb // 8), None)
            if landing is None:
                continue
            steps = tuple((round((n[0] - t0) / tpb * STEPS_PER_BEAT), n[2] - first) for n in span)
            if any(s >= beats * STEPS_PER_BEAT for s, _ in steps):
                continue
            phrases[(beats, family, (next_root - root) % 12, steps, landing - first)] += 1
        for (beats, family, to_next, steps, landing), n in phrases.most_common():
            out.setdefault(feel, []).append({"beats": beats, "family": family, "to_next": to_next,
                                              "notes": [list(s) for s in steps], "landing": landing, "count": n})
    return out


# ---------------------------------------------------------------- Impro-Visor style files


def _duration_steps(text: str) -> float:
    """Impro-Visor duration ('4', '8.', '4+8', '8/3') in 16th steps."""
    total = 0.0
    for term in text.split("+"):
        m = re.match(r"^(\d+)(\.*)(/3)?$", term)
        if not m:
            raise ValueError(f"bad duration {text!r}")
        value = 16 / int(m.group(1))
        value *= 1.5 ** len(m.group(2))
        if m.group(3):
            value *= 2 / 3
        total += value
    return total


def _rule_tokens(rules: str) -> list[str]:
    return re.findall(r"\([^()]*\)|\S+", rules)


def _parse_rules(rules: str) -> tuple[list[list], int] | None:
    """Rules to [[kind, step, duration, velocity, interval], ...] and length in steps; None off the 16th grid."""
    events, pos, velocity = [], 0.0, 100
    for tok in _rule_tokens(rules):
        if tok.startswith("("):  # (X 5 8 U): a given scale degree
            parts = tok.strip("()").split()
            if parts[0] != "X" or len(parts) < 3:
                return None
            kind, interval, dur = "X", parts[1], parts[2]
        else:
            m = re.match(r"^([A-Z=])(.*)$", tok)
            if not m:
                return None
            kind, dur, interval = m.group(1), m.group(2), None
            if kind == "V":
                velocity = int(dur)
                continue
        try:
            length = _duration_steps(dur)
        except ValueError:
            return None
        if abs(pos - round(pos)) > 1e-6 or abs(length - round(length)) > 1e-6:
            return None
        if kind != "R":
            events.append([kind, round(pos), round(length), velocity, interval])
        pos += length
    return events, round(pos)


def _sty_blocks(text: str, head: str) -> list[str]:
    """The balanced-parenthesis blocks starting with `(head`."""
    blocks, i = [], 0
    while (i := text.find("(" + head, i)) >= 0:
        depth, j = 0, i
        while j < len(text):
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
            if depth == 0:
                break
        blocks.append(text[i:j])
        i = j
    return blocks


def _weight(block: str) -> float:
    m = re.search(r"\(weight\s+([\d.]+)\)", block)
    return float(m.group(1)) if m else 1.0


def _rules_text(block: str) -> str | None:
    m = re.search(r"\(rules\s+(.*)\)\s*\(weight", block, re.S) or re.search(r"\(rules\s+(.*?)\)\s*$", block, re.S)
    return m.group(1).strip() if m else None


def _swing(text: str, key: str) -> float | None:
    m = re.search(r"\(" + key + r"\s+([\d.]+)\)", text)
    return float(m.group(1)) if m else None


def learn_sty_patterns(path: Path, what: str) -> dict:
    """Comping ('chord'), bass ('bass') or drum ('drum') patterns of one style file that sit on the 16th grid."""
    text = path.read_text(errors="replace")
    patterns = []
    for block in _sty_blocks(text, f"{what}-pattern"):
        if what == "drum":
            hits, length = [], 0
            for line in _sty_blocks(block[1:], "drum "):
                m = re.match(r"\(drum\s+([\w\-]+)\s+(.*)\)$", line, re.S)
                inner = _rules_text(line) if "(rules" in line else m.group(2)
                parsed = _parse_rules(inner) if m else None
                pitch = _gm_drum(m.group(1)) if m else None
                if parsed is None or pitch is None:
                    continue
                events, n = parsed
                length = max(length, n)
                hits += [[e[1], pitch, e[3], 0.0] for e in events]
            if hits:
                patterns.append({"weight": _weight(block), "length": length, "hits": sorted(hits)})
            continue
        rules = _rules_text(block)
        parsed = _parse_rules(rules) if rules else None
        if parsed is None or not parsed[0]:
            continue
        events, length = parsed
        patterns.append({"weight": _weight(block), "length": length, "events": events})
    key = "comp-swing" if what == "chord" else "swing"
    return {"source": f"impro-visor/styles/{path.name}", "swing": _swing(text, key), "patterns": patterns}


# POP909 bars with more onsets than this are runs and fills, not a comping rhythm.
POP909_MAX_ONSETS = 8


def learn_pop909_comping(root: Path, max_patterns: int = 24) -> dict:
    """The most common one-bar rhythms of POP909's PIANO tracks, 16 steps a bar, from the train split's songs only
    (the held-out songs stay unseen by everything that ships): chord strikes ("X") and single broken-chord notes
    ("A"). Each event holds its step's shortest note, capped at the next onset, and its velocity relative to the
    piano's mean velocity (100 = mean)."""
    from engine.data.build import split_of  # the corpus's own train/valid/test split
    from engine.data.readers.pop909 import read_four_beat_bars

    counts: Counter[tuple[tuple[int, str], ...]] = Counter()
    lengths: dict[tuple[tuple[int, str], ...], list[list[int]]] = defaultdict(list)
    velocities: dict[tuple[tuple[int, str], ...], list[list[float]]] = defaultdict(list)
    songs = 0
    all_velocities: list[float] = []
    for song in sorted(p for p in root.iterdir() if p.is_dir()):
        midi_path, beats = song / f"{song.name}.mid", song / "beat_midi.txt"
        if split_of(f"pop909:{song.name}") != 0 or not midi_path.is_file() or not beats.is_file():
            continue
        spans = read_four_beat_bars(beats)
        piano = next((i for i in pretty_midi.PrettyMIDI(str(midi_path)).instruments if i.name.strip().upper() == "PIANO"), None)
        if piano is None or not spans:
            continue
        songs += 1
        bars: dict[int, dict[int, list[tuple[int, float]]]] = defaultdict(lambda: defaultdict(list))
        starts = [start for start, _ in spans]
        for note in piano.notes:
            bar = bisect.bisect_right(starts, note.start) - 1
            if bar < 0 or note.start >= spans[bar][1]:
                continue
            span = spans[bar][1] - spans[bar][0]
            step = round((note.start - spans[bar][0]) / span * 16)
            if step < 16:
                bars[bar][step].append((max(1, round((note.end - note.start) / span * 16)), float(note.velocity)))
                all_velocities.append(float(note.velocity))
        for notes in bars.values():
            # Where two or more notes start together the pianist struck a chord ("X", what a block voicing plays);
            # a note alone is the right hand's broken chord between the strikes ("A", one note of the voicing).
            rhythm = tuple((step, "X" if len(notes[step]) >= 2 else "A") for step in sorted(notes))
            if not 1 <= len(rhythm) <= POP909_MAX_ONSETS:
                continue
            counts[rhythm] += 1
            onsets = [step for step, _ in rhythm]
            ends = onsets[1:] + [16]
            lengths[rhythm].append([min(min(d for d, _ in notes[o]), e - o) for o, e in zip(onsets, ends)])
            velocities[rhythm].append([sum(v for _, v in notes[o]) / len(notes[o]) for o in onsets])
    mean_velocity = sum(all_velocities) / max(1, len(all_velocities))
    patterns = []
    for rhythm, count in counts.most_common(max_patterns):
        durations = [sorted(column)[len(column) // 2] for column in zip(*lengths[rhythm])]
        levels = [sum(column) / len(column) for column in zip(*velocities[rhythm])]
        patterns.append({"weight": float(count), "length": 16, "events": [
            [kind, step, duration, max(60, min(120, round(100 * level / mean_velocity))), None]
            for (step, kind), duration, level in zip(rhythm, durations, levels)]})
    bars_used = sum(counts.values())
    return {"source": f"pop909 PIANO tracks, train split: {bars_used} bars of {songs} songs", "swing": None, "patterns": patterns}


def learn_clave_comping(path: Path) -> dict:
    """The claves line of each drum pattern, as chord-hit rhythms (each hit held to the next)."""
    drums = learn_sty_patterns(path, "drum")
    patterns = []
    for pattern in drums["patterns"]:
        steps = sorted({s for s, pitch, _, _ in pattern["hits"] if pitch == CLAVES})
        if len(steps) >= 3:
            length = -(-max(steps) // 16) * 16
            ends = steps[1:] + [length]
            patterns.append({"weight": pattern["weight"], "length": length,
                             "events": [["X", s, e - s, 100, None] for s, e in zip(steps, ends)]})
    return {"source": drums["source"] + " (claves line)", "swing": None, "patterns": patterns}


def _gm_drum(name: str) -> int | None:
    wanted = re.sub(r"[^a-z0-9]", "", name.lower())
    for number in range(35, 82):
        if re.sub(r"[^a-z0-9]", "", pretty_midi.note_number_to_drum_name(number).lower()) == wanted:
            return number
    return None


def _merge(sources: list[dict]) -> dict:
    return {"source": ", ".join(s["source"] for s in sources), "swing": sources[0]["swing"],
            "patterns": [p for s in sources for p in s["patterns"]]}


def learn(data: Path) -> dict:
    styles_dir = data / "impro-visor" / "styles"
    return {
        "about": "Learned by engine/arrange/learn.py; see docs/ARRANGEMENT.md for sources and licenses.",
        "drums": learn_groove_drums(data / "groove-midi"),
        "fills": learn_groove_fills(data / "groove-midi"),
        "walking_bass": learn_walking_bass(data / "jjazzlab-bass-drums" / "bass" / "db"),
        "comping": {s: _merge([learn_sty_patterns(styles_dir / f"{n}.sty", "chord") for n in names])
                    for s, names in IMPRO_COMPING.items()}
                   | {s: learn_clave_comping(styles_dir / f"{n}.sty") for s, n in IMPRO_CLAVE_COMPING.items()}
                   | {"pop": learn_pop909_comping(data / "pop909")},
        "bass": {s: _merge([learn_sty_patterns(styles_dir / f"{n}.sty", "bass") for n in names])
                 for s, names in IMPRO_BASS.items()},
    }


# Where the data sets are, by default: the shared data folder beside the checkout.
DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


class MissingTrainingData(FileNotFoundError):
    """The data folder has no groove-midi data set; the message names the folder and the fix."""


def write_patterns(data: Path = DEFAULT_DATA, out: Path = PATTERNS_PATH, performance_out: Path = PERFORMANCE_PATH) -> None:
    """Learn everything from `data`, write patterns.json and performance.json, print a summary (`tunesmith arrange learn`)."""
    if not (data / "groove-midi").is_dir():
        raise MissingTrainingData(f"No training data at {data}: pass --data pointing at the shared data folder.")
    patterns = learn(data)
    out.write_text(json.dumps(patterns, separators=(",", ":")))
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")
    for kind in ("drums", "comping", "bass"):
        for style, entry in patterns[kind].items():
            print(f"  {kind:6s} {style:8s} {len(entry['patterns']):3d} patterns  <- {entry['source']}")
    for style, entry in patterns["fills"].items():
        print(f"  fills  {style:8s} {len(entry['fills']):3d} fills     <- {entry['source']}")
    for feel, phrases in patterns["walking_bass"].items():
        print(f"  walking {feel}: {len(phrases)} phrases")
    from engine.arrange.learn_performance import learn_performance  # imports this module's groove reader

    performance = learn_performance(data)
    performance_out.write_text(json.dumps(performance, indent=1))
    print(f"wrote {performance_out} ({performance_out.stat().st_size / 1024:.0f} KiB)")
    print(f"  lead: {performance['lead']}")
    print(f"  melody velocity: {performance['melody_velocity']}")

