"""The players: each function turns the harmony timeline into one part's notes, on the straight 16th grid.

Times are in grid steps (floats allowed); swing, micro-timing and humanising are applied later by
`perform.py`, so every part here can be checked against the grid.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field

from engine.arrange import voicings
from engine.arrange.mood import MoodShape
from engine.arrange.patterns import bass_patterns, comp_patterns, walking_phrases, weighted_choice
from engine.arrange.sections import BarForm, FormMap
from engine.arrange.space import MelodySpace
from engine.arrange.styles import StyleSpec
from engine.music import MAJOR_SCALE, MINOR_SCALE, STEPS_PER_BEAT, Chord, Key, Note
from engine.tokens import fold_into

BASS_LOW, BASS_HIGH = 28, 52  # E1..E3: where a bass walks
BASS_HOME = 38  # D2: the middle of a bass player's usual range
QUIET_ENERGY = 0.5  # sections below this energy voice chords thinner
FULL_ENERGY = 0.75  # sections at or above this open their voicings upward
BUSY_COMPING = 0.8  # learned comping prefers its shortest rhythms (eighths) above this density
CRASH, KICK, SNARE = 49, 36, 38


@dataclass(frozen=True)
class Hit:
    """A note of a part: start and duration in grid steps, with a micro-timing offset in steps."""

    start: float
    duration: float
    pitch: int
    velocity: int
    offset: float = 0.0
    spread: float | None = None  # the player's timing spread (sd) in steps, where it was learned; None: the style's


@dataclass
class Timeline:
    """The harmony of the whole arrangement (intro, body, ending) and where each section starts."""

    chords: list[Chord]
    steps_per_bar: int
    intro_steps: int
    body_steps: int
    ending_steps: int
    key: Key
    _starts: list[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.chords = sorted((c for c in self.chords if c.duration > 0), key=lambda c: c.start)
        self._starts = [c.start for c in self.chords]

    @property
    def play_steps(self) -> int:
        """Steps before the ending bar."""
        return self.intro_steps + self.body_steps

    @property
    def total_steps(self) -> int:
        return self.play_steps + self.ending_steps

    def chord_at(self, step: float) -> Chord | None:
        i = bisect.bisect_right(self._starts, step) - 1
        if i >= 0 and self.chords[i].start <= step < self.chords[i].end and not self.chords[i].is_rest:
            return self.chords[i]
        return None

    def next_chord(self, chord: Chord) -> Chord | None:
        i = bisect.bisect_right(self._starts, chord.start)
        while i < len(self.chords):
            if not self.chords[i].is_rest:
                return self.chords[i]
            i += 1
        return None


@dataclass
class Context:
    timeline: Timeline
    spec: StyleSpec
    shape: MoodShape
    rng: random.Random
    tempo: float
    form: FormMap
    space: MelodySpace

    def steps(self, milliseconds: float) -> float:
        return milliseconds / 1000 / (60.0 / self.tempo / STEPS_PER_BEAT)

    def bar_form(self, step: float) -> BarForm:
        return self.form.at_bar(int(step // self.timeline.steps_per_bar))

    def density(self, step: float) -> float:
        """How busy the band plays at `step`, 0..1: the section's energy, moved by the mood's density."""
        return max(0.0, min(1.0, 0.6 * self.bar_form(step).energy + 0.4 * self.shape.density))

    def velocity(self, base: float) -> int:
        return max(1, min(127, round(base * self.shape.velocity_scale)))


def family(chord: Chord) -> str:
    """The walking-bass database's chord families."""
    q = chord.quality
    if q == "hdim7":
        return "hdim"
    if q in ("dim", "dim7"):
        return "dim"
    if q.startswith("min"):
        return "min"
    if q in ("7", "9", "13", "7b9", "7sus4", "sus4"):
        return "dom"
    return "maj"


def _nearest(pc: int, target: float, low: int = BASS_LOW, high: int = BASS_HIGH) -> int:
    candidates = [p for p in range(low, high + 1) if p % 12 == pc % 12]
    return min(candidates, key=lambda p: abs(p - target))


# ---------------------------------------------------------------- bass


def _segments(tl: Timeline, max_beats: int) -> list[tuple[Chord, int, int, Chord | None]]:
    """Chord spans cut into pieces of at most `max_beats` beats: (chord, start, length, chord that follows)."""
    out = []
    for chord in tl.chords:
        if chord.is_rest or chord.start >= tl.play_steps:
            continue
        end = min(chord.end, tl.play_steps)
        nxt = tl.next_chord(chord) or chord
        pos = chord.start
        while pos < end:
            length = min(max_beats * STEPS_PER_BEAT, end - pos)
            out.append((chord, pos, length, nxt if pos + length >= chord.end else chord))
            pos += length
    return out


def walking_bass(ctx: Context, feel: str) -> list[Hit]:
    """One note a beat (four-feel) or two a bar (two-feel), phrases taken from the walking-bass database.

    A phrase is chosen for the chord's family and length, preferring one recorded against the same move
    to the next root, so its last note is the real approach note a bassist played into that root.
    """
    phrases = walking_phrases(feel)
    by_move: dict[tuple, list[dict]] = {}
    by_shape: dict[tuple, list[dict]] = {}
    for p in phrases:
        by_move.setdefault((p["beats"], p["family"], p["to_next"]), []).append(p)
        by_shape.setdefault((p["beats"], p["family"]), []).append(p)
    hits: list[Hit] = []
    previous = 36.0
    for chord, start, length, nxt in _segments(ctx.timeline, 4):
        beats = length // STEPS_PER_BEAT
        move = (nxt.root - chord.root) % 12
        options = by_move.get((beats, family(chord), move)) or by_shape.get((beats, family(chord)))
        root = _nearest(chord.root, previous if previous < 45 else previous - 7)
        if options:
            phrase = weighted_choice(ctx.rng, options, [p["count"] for p in options])
            notes = [(start + s, root + off) for s, off in phrase["notes"]]
            matched = phrase["to_next"] == move
        else:  # a span the database has no phrase for (one or three beats): root, chord tones, approach
            tones = [0, voicings.fifth(chord), voicings.third(chord) + 12]
            notes = [(start + b * STEPS_PER_BEAT, root + tones[b % 3]) for b in range(max(1, beats))]
            matched = False
        if not matched and len(notes) > 1 and nxt is not chord:
            target = _nearest(nxt.root, notes[-1][1])
            approach = target - 1 if abs(target - 1 - notes[-2][1]) <= abs(target + 1 - notes[-2][1]) else target + 1
            notes[-1] = (notes[-1][0], approach)
        ends = [n[0] for n in notes[1:]] + [start + length]
        for (onset, pitch), end in zip(notes, ends):
            pitch = fold_into(pitch, BASS_LOW, BASS_HIGH)
            hits.append(Hit(onset, (end - onset) * 0.92, pitch, ctx.velocity(88 + ctx.rng.randint(-6, 6))))
            previous = pitch
    return hits


_DEGREES = {"1": 0, "2": 2, "3": 4, "4": 5, "5": 7, "6": 9, "7": 11, "8": 12, "9": 14}


def _degree(text: str, chord: Chord) -> int:
    """An Impro-Visor scale degree ('5', 'b7', '#4') above the chord root; plain 3, 5 and 7 follow the chord."""
    flat, sharp = text.count("b"), text.count("#")
    number = text.strip("b#")
    if not flat and not sharp:
        if number == "3":
            return voicings.third(chord)
        if number == "5":
            return voicings.fifth(chord)
        if number == "7":
            return voicings.seventh(chord)
    return _DEGREES.get(number, 0) - flat + sharp


def pattern_bass(ctx: Context, style: str) -> list[Hit]:
    """Bass from a style file's rules, each bar filled with patterns that fit it."""
    tl = ctx.timeline
    patterns = [p for p in bass_patterns(style) if tl.steps_per_bar % p["length"] == 0]
    hits: list[Hit] = []
    previous = 36
    for bar_start in range(0, tl.play_steps, tl.steps_per_bar):
        pos = bar_start
        while pos < bar_start + tl.steps_per_bar:
            fits = [p for p in patterns if pos + p["length"] <= bar_start + tl.steps_per_bar]
            if not fits:
                break
            pattern = weighted_choice(ctx.rng, fits, [p["weight"] for p in fits])
            for kind, step, dur, vel, interval in pattern["events"]:
                onset = pos + step
                chord = tl.chord_at(onset)
                if chord is None:
                    continue
                nxt = tl.chord_at(onset + dur) or tl.next_chord(chord) or chord
                root = _nearest(chord.root, (previous + BASS_HOME) / 2)  # near the last note, never drifting far from home
                scale = MAJOR_SCALE if voicings.third(chord) == 4 else MINOR_SCALE
                pitch = {
                    "B": root,
                    "C": root + ctx.rng.choice((voicings.third(chord), voicings.fifth(chord))),
                    "S": root + ctx.rng.choice(scale[1:]),
                    "A": _nearest(nxt.root, previous) + ctx.rng.choice((-1, 1)),
                    "N": _nearest(nxt.root, previous),
                    "=": previous,
                    "X": root + _degree(interval or "1", chord),
                }.get(kind, root)
                pitch = fold_into(pitch, BASS_LOW, BASS_HIGH)
                hits.append(Hit(onset, dur * 0.9, pitch, ctx.velocity(vel * 0.85 + ctx.rng.randint(-5, 5))))
                previous = pitch
            pos += pattern["length"]
    return hits


def root_fifth_bass(ctx: Context) -> list[Hit]:
    """Root on the downbeat, fifth on the middle beat: half notes in quiet bars, quarters in busier ones,
    driving eighth-note roots where the style drives and the bar is busiest."""
    tl, hits = ctx.timeline, []
    bar = tl.steps_per_bar
    half = bar // 2 if bar % 8 == 0 else bar
    previous = 36
    for bar_start in range(0, tl.play_steps, bar):
        density = ctx.density(bar_start)
        if density > 0.75:
            step_len = 2 if ctx.spec.bass_drive else STEPS_PER_BEAT
        else:
            step_len = STEPS_PER_BEAT if ctx.spec.bass_drive and density > 0.5 else half
        for onset in range(bar_start, min(bar_start + bar, tl.play_steps), step_len):
            chord = tl.chord_at(onset)
            if chord is None:
                continue
            root = _nearest(chord.root, (previous + BASS_HOME) / 2)
            in_bar = onset % bar
            pitch = root + voicings.fifth(chord) if step_len >= STEPS_PER_BEAT and in_bar == half and half < bar else root
            accent = 10 if in_bar % STEPS_PER_BEAT == 0 else 0
            hits.append(Hit(onset, step_len * 0.9, fold_into(pitch, BASS_LOW, BASS_HIGH), ctx.velocity(80 + accent)))
            previous = root
    return hits


def pickups(ctx: Context, hits: list[Hit]) -> list[Hit]:
    """Where the melody rests two beats or more, the bass walks into the next chord: a scale step above
    its root on the last eighth before the melody returns (unless the bass already plays there)."""
    tl, out = ctx.timeline, list(hits)
    for _, back in ctx.space.rests:
        at = back - STEPS_PER_BEAT // 2
        target = tl.chord_at(back)
        if target is None or at >= tl.play_steps or any(abs(h.start - at) < 1 for h in hits):
            continue
        before = [h for h in hits if h.start < at]
        previous = before[-1].pitch if before else BASS_HOME
        root = _nearest(target.root, previous)
        scale = MAJOR_SCALE if voicings.third(target) == 4 else MINOR_SCALE
        out.append(Hit(at, STEPS_PER_BEAT // 2 * 0.9, fold_into(root + scale[1], BASS_LOW, BASS_HIGH), ctx.velocity(76)))
    return sorted(out, key=lambda h: h.start)


def pedal_bass(ctx: Context) -> list[Hit]:
    """The chord root held for the chord (split at bar lines so long chords re-sound)."""
    tl, hits = ctx.timeline, []
    for chord, start, length, _ in _segments(tl, tl.steps_per_bar // STEPS_PER_BEAT):
        hits.append(Hit(start, length * 0.97, _nearest(chord.root, 38), ctx.velocity(72)))
    return hits


def piece_bass(ctx: Context, notes: list[Note]) -> list[Hit]:
    """The model's own bass line, moved into the bass register."""
    shift = ctx.timeline.intro_steps
    return [Hit(n.start + shift, n.duration * 0.92, fold_into(n.pitch, BASS_LOW, BASS_HIGH), ctx.velocity(n.velocity * 0.9)) for n in notes]


# ---------------------------------------------------------------- chords


def _fill_bars(ctx: Context, patterns: list[dict]) -> list[tuple[int, int, int, str]]:
    """(onset, duration, velocity, kind) hits: each bar (or group of bars) filled with learned rhythms, the busier
    ones preferred where the band plays busier. Kind "X" strikes the chord, "A" plays one note of it (POP909's
    broken chords)."""
    tl = ctx.timeline
    bar = tl.steps_per_bar
    usable = [p for p in patterns if bar % p["length"] == 0 or p["length"] % bar == 0]
    hits = []
    pos = 0
    while pos < tl.play_steps and usable:
        fits = [p for p in usable if pos % p["length"] == 0 or p["length"] < bar] or usable
        prefer_short = ctx.density(pos) > BUSY_COMPING
        weights = [p["weight"] * (len(p["events"]) / p["length"] * 16 if prefer_short else 1.0) for p in fits]
        pattern = weighted_choice(ctx.rng, fits, weights)
        for kind, step, dur, vel, _ in pattern["events"]:
            if pos + step < tl.play_steps:
                hits.append((pos + step, min(dur, bar), vel, kind))
        pos += pattern["length"]
    return hits


# Steps within a 4/4 bar for the idiomatic comping rhythms, sparse to full.
IDIOM_RHYTHMS = ((0, 8), (0, 4, 8, 12), (0, 4, 6, 8, 12, 14), (0, 2, 4, 6, 8, 10, 12, 14))


def _idiom_rhythm(ctx: Context) -> list[tuple[int, int, int]]:
    """Rhythms for textures without a learned pattern, per bar by how busy it plays: halves, quarters,
    quarters with pushed off-beats, eighths (other meters: halves of the bar or every beat)."""
    tl = ctx.timeline
    bar = tl.steps_per_bar
    out = []
    for bar_start in range(0, tl.play_steps, bar):
        density = ctx.density(bar_start)
        if bar == 16:
            steps = IDIOM_RHYTHMS[min(3, int(density * 4.4 - 1.2)) if density > 0.3 else 0]
        else:
            steps = tuple(range(0, bar, STEPS_PER_BEAT)) if density > 0.5 else (0,)
        ends = steps[1:] + (bar,)
        for s0, s1 in zip(steps, ends):
            if bar_start + s0 < tl.play_steps:
                out.append((bar_start + s0, s1 - s0, 100 if s0 % STEPS_PER_BEAT == 0 else 86))
    return out


def _make_room(ctx: Context, rhythm: list[tuple[int, int, int]], learned: bool) -> list[tuple[int, int, int]]:
    """Comping in quiet bars keeps to the beats; under a busy melody an idiomatic rhythm keeps to the bar's
    strong beats and a learned one plays in the melody's gaps (never with a melody onset but on the
    downbeat), each hit then held to the next; where the melody rests, every hit stays."""
    bar = ctx.timeline.steps_per_bar
    kept = []
    for onset, duration, vel in rhythm:
        if ctx.space.resting(onset):
            kept.append((onset, duration, vel))
            continue
        strong = onset % bar in (0, bar // 2) if bar % 8 == 0 else onset % bar == 0
        if ctx.space.busy(int(onset // bar)):
            if learned and onset % bar and onset in ctx.space.onsets:
                continue
            if not learned and not strong:
                continue
        if ctx.density(onset) < 0.45 and onset % STEPS_PER_BEAT:
            continue
        kept.append((onset, duration, vel))
    ends = [o for o, _, _ in kept[1:]] + [ctx.timeline.play_steps]
    return [(o, max(d, min(e - o, bar // 2)) if e - o > d else d, v) for (o, d, v), e in zip(kept, ends)]


def _answers(ctx: Context, rhythm: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """The comping answers a melody rest of two beats or more that it would leave empty: a chord pushed
    onto the off-beat eighth after the melody stops, held to the rest's end (at most two beats)."""
    onsets = [o for o, _, _ in rhythm]
    extra = []
    for start, back in ctx.space.rests:
        at = (start // STEPS_PER_BEAT) * STEPS_PER_BEAT + STEPS_PER_BEAT // 2
        if at < start:
            at += STEPS_PER_BEAT
        if at >= back or at >= ctx.timeline.play_steps or any(start <= o < back for o in onsets):
            continue
        extra.append((at, min(back - at, 2 * STEPS_PER_BEAT), 92))
    return sorted(rhythm + extra)


def _chord_for(tl: Timeline, onset: int, duration: int) -> tuple[Chord | None, int]:
    """The chord a hit plays, anticipating a change an eighth away (a pushed chord), and how long it may ring."""
    chord = tl.chord_at(onset)
    ahead = tl.chord_at(onset + 2)
    if ahead is not None and ahead is not chord and onset % STEPS_PER_BEAT == 2:
        chord = ahead
    if chord is None:
        return None, 0
    return chord, max(1, min(duration, chord.end - onset if chord.start <= onset else duration))


def comping(ctx: Context, style_key: str | None) -> list[Hit]:
    """The chord instrument: the style's texture on learned rhythms (or idiomatic ones where none was learned)."""
    tl, spec, shape = ctx.timeline, ctx.spec, ctx.shape
    centre = spec.comp_register + shape.register_shift
    texture = spec.comping
    if texture == "rootless" and shape.density < 0.3:
        texture = "shell"  # a ballad's comping thins to the two guide tones
    if texture == "alberti" and shape.density < 0.3:
        texture = "chorale"
    if texture == "pad":
        return pads(ctx, centre)
    if texture in ("arpeggio", "alberti"):
        return _broken_chords(ctx, centre, texture)
    broken: list[tuple[int, int, int]] = []
    if style_key and tl.steps_per_bar == 16:
        learned = _fill_bars(ctx, comp_patterns(style_key))
        rhythm = [(o, d, v) for o, d, v, kind in learned if kind != "A"]
        broken = [(o, d, v) for o, d, v, kind in learned if kind == "A"]
    elif texture == "chorale":
        rhythm = [(s, tl.steps_per_bar // 2, 90) for s in range(0, tl.play_steps, tl.steps_per_bar // 2)]
    else:
        rhythm = _idiom_rhythm(ctx)
    hits: list[Hit] = []
    previous: list[int] | None = None
    for onset, duration, vel in _answers(ctx, _make_room(ctx, rhythm, learned=bool(style_key and tl.steps_per_bar == 16))):
        chord, duration = _chord_for(tl, onset, duration)
        if chord is None:
            continue
        energy = ctx.bar_form(onset).energy
        if texture == "rootless":
            pitches = voicings.rootless(chord, centre, previous)
        elif texture == "shell":
            pitches = voicings.shell(chord, centre, previous)
        elif texture == "power":
            pitches = voicings.power(chord, 40 + shape.register_shift)
        elif texture == "strum":
            pitches = voicings.guitar(chord, 40)
        else:
            pitches = voicings.close(chord, centre, previous, max_notes=3 if energy < QUIET_ENERGY else 4)
        previous = pitches
        base = vel * (0.62 if texture in ("rootless", "shell") else 0.72)
        if texture == "strum":
            down = onset % STEPS_PER_BEAT == 0
            if energy < QUIET_ENERGY:  # a quiet strum brushes the upper strings
                pitches = pitches[2:]
            elif "Bass" in ctx.bar_form(onset).roles:  # the bass has the root: the strum leaves it the low string
                pitches = pitches[1:]
            strings = pitches if down else list(reversed(pitches[-3:]))
            gap = ctx.steps(14 if down else 9)
            for i, p in enumerate(strings):
                hits.append(Hit(onset, duration * 0.95, p, ctx.velocity(base * (1.0 if down else 0.8)), offset=i * gap))
        else:
            if energy >= FULL_ENERGY and texture == "block" and onset % (tl.steps_per_bar // 2) == 0:
                pitches = pitches + [pitches[-1] + 12]  # a full section opens the voicing upward on the strong beats
            v = ctx.velocity(base + ctx.rng.randint(-6, 6))
            hits.extend(Hit(onset, duration * 0.92, p, v) for p in pitches)
    return hits + _broken_notes(ctx, broken, centre)


def _broken_notes(ctx: Context, rhythm: list[tuple[int, int, int]], centre: int) -> list[Hit]:
    """Single notes of the chord between the strikes, rising through a close voicing; under a busy melody
    they keep out of its onsets, like the learned strikes."""
    hits: list[Hit] = []
    bar = ctx.timeline.steps_per_bar
    for index, (onset, duration, vel) in enumerate(rhythm):
        if ctx.space.busy(int(onset // bar)) and onset in ctx.space.onsets:
            continue
        chord, duration = _chord_for(ctx.timeline, onset, duration)
        if chord is None:
            continue
        voicing = voicings.close(chord, centre, None, max_notes=3)
        hits.append(Hit(onset, duration * 0.92, voicing[index % len(voicing)], ctx.velocity(vel * 0.62 + ctx.rng.randint(-4, 4))))
    return hits


def pads(ctx: Context, centre: int) -> list[Hit]:
    tl = ctx.timeline
    return [Hit(start, length, p, ctx.velocity(64)) for chord, start, length, _ in _segments(tl, tl.steps_per_bar // STEPS_PER_BEAT)
            for p in voicings.spread(chord, centre)]


def _broken_chords(ctx: Context, centre: int, texture: str) -> list[Hit]:
    """Alberti bass (low-high-middle-high, in eighths) or a rising and falling arpeggio: sixteenths in the
    busiest bars, eighths, quarters in the quietest; on the beats only under a busy melody."""
    tl = ctx.timeline
    hits, previous = [], None
    step = 0
    while step < tl.play_steps:
        start, density = step, ctx.density(step)
        every = 1 if texture == "arpeggio" and density > 0.75 else (2 if density > 0.4 or texture == "alberti" else STEPS_PER_BEAT)
        step += every
        if ctx.space.busy(start // tl.steps_per_bar) and start % STEPS_PER_BEAT:
            continue
        chord = tl.chord_at(start)
        if chord is None:
            continue
        if texture == "alberti":
            triad = voicings.close(chord, centre - 5, previous, max_notes=3)
            previous = triad
            pitch = (triad[0], triad[2], triad[1], triad[2])[(start // every) % 4]
        else:
            tones = voicings.close(chord, centre, None, max_notes=4)
            cycle = tones + [t + 12 for t in tones] + [t + 12 for t in reversed(tones)] + list(reversed(tones))[1:-1]
            pitch = cycle[(start // every) % len(cycle)]
        accent = 8 if start % STEPS_PER_BEAT == 0 else 0
        hits.append(Hit(start, every * 1.6 if texture == "alberti" else every * 0.9, pitch, ctx.velocity(62 + accent)))
    return hits


# ---------------------------------------------------------------- melody and ending


def melody(ctx: Context, notes: list[Note]) -> list[Hit]:
    """The piece's melody in the lead instrument's register, an octave placed by the mood (brighter and
    livelier moods sit higher); velocities as written, for expression.py to shape."""
    if not notes:
        return []
    low, high = ctx.spec.melody_register
    pitches = sorted(n.pitch for n in notes)
    median = pitches[len(pitches) // 2]
    target = low + (high - low) * (0.5 + 0.15 * ctx.shape.brightness)
    shifts = [12 * k for k in range(-4, 5) if low + 5 <= median + 12 * k <= high - 5] or [0]
    shift = min(shifts, key=lambda s: abs(median + s - target))
    return [Hit(n.start + ctx.timeline.intro_steps, n.duration, n.pitch + shift, n.velocity) for n in notes]


def ending(ctx: Context, role: str, chord: Chord, last_melody: int | None) -> list[Hit]:
    """The final bar: everyone lands together on the tonic chord and lets it ring."""
    tl = ctx.timeline
    start, length = tl.play_steps, tl.ending_steps
    centre = ctx.spec.comp_register + ctx.shape.register_shift
    if role == "Drums":
        return [Hit(start, 4, CRASH, ctx.velocity(100)), Hit(start, 4, KICK, ctx.velocity(100))]
    if role == "Bass":
        return [Hit(start, length, _nearest(chord.root, 36), ctx.velocity(90))]
    if role == "Melody":
        if last_melody is None:
            return []
        return [Hit(start, length, min((p for p in range(last_melody - 12, last_melody + 13) if p % 12 == chord.root),
                                       key=lambda p: abs(p - last_melody)), ctx.velocity(88))]
    pitches = voicings.spread(chord, centre) if ctx.spec.comping in ("pad", "strum", "power") else voicings.close(chord, centre, None)
    return [Hit(start, length, p, ctx.velocity(78)) for p in pitches]
