"""Form and performance measures of a piece and of its band arrangement, one definition for real and generated music.

Every measure works on the 16th-note grid: a bar has `steps_per_bar` steps (16 in 4/4). What a bar
"holds" for a part is the set of its note onsets as (step within the bar, pitch class), or (step,
drum class) for drums; a bar's *rhythm* is the set of its onset steps alone. Two bars (or phrases)
are compared by the Jaccard index of those sets, |A ∩ B| / |A ∪ B| (1 = the same notes at the same
places, 0 = nothing in common); a pair where both sides are empty says nothing and is skipped.

`piece_form(piece)` measures a Piece (engine.music: melody, bass, drums as Note lists in grid
steps, harmony as Chords, key); `band_form(midi, bar_times, first_bar, bars)` measures a band
arrangement's pretty_midi.PrettyMIDI (instruments named by role: Melody, Bass, Drums, Piano, ...),
turning note times into grid steps through the bar start times. Undefined values (a window too short,
a part that is silent) are NaN. Yes/no measures are 1.0 / 0.0 so that a share of pieces is their mean.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pretty_midi

from engine.music import STEPS_PER_BEAT, Chord, Note, Piece

PHRASE_BARS = 4  # a phrase is 4 bars, starting on a multiple of 4 bars from the window's start
SECTION_BARS = 8  # a section (A, A′, B...) is 8 bars
PHRASE_REPEAT_THRESHOLD = 0.5  # phrase similarity at or above this counts as "repeats an earlier phrase" (fixed a priori)
SECTION_REPEAT_SHARE = 0.75  # section 1 "repeats later" when a later section has >= 75% of its chords in place
OTHER_LAGS = (1, 2, 3, 5, 6, 7)  # bar lags compared with the 4-bar lag
GRID_STEPS_PER_BAR = 16  # 4/4 on the 16th grid, for the arrangement's MIDI

# General MIDI percussion reduced to the instrument a listener hears, so that a performer's choice of
# e.g. hi-hat edge versus bow (Groove MIDI's 22 vs 42) is not counted as a different pattern.
DRUM_CLASSES: dict[int, int] = {
    35: 36, 36: 36,  # kick
    37: 38, 38: 38, 39: 38, 40: 38,  # snare, side stick, clap
    42: 42, 44: 42, 22: 42,  # closed / pedal hi-hat
    46: 46, 26: 46,  # open hi-hat
    41: 45, 43: 45, 45: 45, 47: 45, 48: 45, 50: 45, 58: 45,  # toms
    49: 49, 52: 49, 55: 49, 57: 49,  # crash, china, splash
    51: 51, 53: 51, 59: 51,  # ride, bell
}

BarSets = list[frozenset]


def drum_class(pitch: int) -> int:
    return DRUM_CLASSES.get(int(pitch), int(pitch))


def jaccard(a: frozenset, b: frozenset) -> float:
    """|a ∩ b| / |a ∪ b|; NaN when both are empty."""
    union = len(a | b)
    return len(a & b) / union if union else math.nan


def _nanmean(values: Iterable[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return float(np.mean(kept)) if kept else math.nan


def _nanmax(values: Iterable[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return float(max(kept)) if kept else math.nan


def bar_sets(notes: Sequence[Note], bars: int, steps_per_bar: int, *, drums: bool = False, with_pitch: bool = True) -> BarSets:
    """Per bar, the set of (onset step within the bar, pitch class or drum class), or of onset steps
    alone when `with_pitch` is False (the bar's rhythm). Notes outside [0, bars) are ignored."""
    out: list[set] = [set() for _ in range(bars)]
    for n in notes:
        bar, step = divmod(int(n.start), steps_per_bar)
        if 0 <= bar < bars:
            if with_pitch:
                out[bar].add((step, drum_class(n.pitch) if drums else n.pitch % 12))
            else:
                out[bar].add(step)
    return [frozenset(s) for s in out]


def lag_similarity(bars: BarSets, lag: int) -> float:
    """Mean Jaccard similarity of bar b and bar b − lag over the window; NaN when no pair is defined."""
    return _nanmean(jaccard(bars[b], bars[b - lag]) for b in range(lag, len(bars)))


def span_set(bars: BarSets, first: int, length: int) -> frozenset:
    """Bars [first, first + length) as one set of (bar offset, *event), so that position within the span counts."""
    return frozenset((offset, *event) if isinstance(event, tuple) else (offset, event)
                     for offset in range(length) for event in bars[first + offset])


def phrase_similarity(bars: BarSets, phrase_bars: int = PHRASE_BARS) -> float:
    """The highest Jaccard similarity between a later phrase and any earlier one (phrases of
    `phrase_bars` bars starting on multiples of it); NaN with fewer than two whole phrases."""
    starts = range(0, len(bars) - phrase_bars + 1, phrase_bars)
    phrases = [span_set(bars, s, phrase_bars) for s in starts]
    return _nanmax(jaccard(phrases[k], phrases[j]) for k in range(1, len(phrases)) for j in range(k))


def half_similarity(bars: BarSets, section_bars: int = SECTION_BARS) -> float:
    """A against A′: Jaccard similarity of the first section (bars 0–7) and the second (bars 8–15); NaN under 16 bars."""
    if len(bars) < 2 * section_bars:
        return math.nan
    return jaccard(span_set(bars, 0, section_bars), span_set(bars, section_bars, section_bars))


def new_rhythm_share(rhythms: BarSets) -> float:
    """Share of sounding bars whose rhythm (or pattern) did not occur in an earlier bar of the window.
    Equals distinct rhythms / sounding bars. NaN when no bar sounds."""
    seen: set[frozenset] = set()
    sounding = new = 0
    for r in rhythms:
        if not r:
            continue
        sounding += 1
        if r not in seen:
            new += 1
            seen.add(r)
    return new / sounding if sounding else math.nan


def _chord_label(chord: Chord | None) -> tuple | None:
    return None if chord is None or chord.is_rest else (chord.root, chord.quality)


def beat_chords(piece: Piece) -> list[tuple | None]:
    """(root, quality) of the chord sounding at each beat's start, None where there is none."""
    return [_chord_label(c) for c in piece.chords_per_beat()]


def chord_changes_per_bar(piece: Piece) -> float:
    """Harmonic rhythm: beats whose chord differs from the previous beat's, per bar (0 to beats per bar − 1
    within a bar plus one at each bar line). NaN when the piece has no chord at all."""
    chords = beat_chords(piece)
    if not any(c is not None for c in chords) or piece.bars == 0:
        return math.nan
    changes = sum(1 for a, b in zip(chords, chords[1:]) if a != b)
    return changes / piece.bars


def section_chord_match(piece: Piece, section_bars: int = SECTION_BARS) -> float:
    """How much of section 1's harmony comes back: for each later whole section, the share of section 1's
    chord beats with the same chord (root and quality) at the same beat; the highest share. NaN under
    two sections or without chords in section 1."""
    chords = beat_chords(piece)
    beats = section_bars * piece.meter.beats_per_bar
    sections = len(chords) // beats
    first = chords[:beats]
    defined = [i for i, c in enumerate(first) if c is not None]
    if sections < 2 or not defined:
        return math.nan
    return max(sum(chords[s * beats + i] == first[i] for i in defined) / len(defined) for s in range(1, sections))


def _sounding_roots(piece: Piece) -> list[int]:
    return [c.root for c in sorted(piece.harmony, key=lambda c: c.start) if not c.is_rest and c.duration > 0 and c.start < piece.total_steps]


def starts_on_tonic(piece: Piece) -> float:
    """1.0 when the first sounding chord's root is the key's tonic, 0.0 when not, NaN without chords."""
    roots = _sounding_roots(piece)
    return float(roots[0] == piece.key.tonic) if roots else math.nan


def ends_on_tonic(piece: Piece) -> float:
    """1.0 when the last sounding chord's root is the key's tonic, 0.0 when not, NaN without chords."""
    roots = _sounding_roots(piece)
    return float(roots[-1] == piece.key.tonic) if roots else math.nan


def velocity_sd(notes: Sequence[Note] | Sequence[pretty_midi.Note]) -> float:
    """Standard deviation (MIDI velocity units, population) of the notes' velocities; NaN under 2 notes."""
    if len(notes) < 2:
        return math.nan
    return float(np.std([n.velocity for n in notes]))


def empty_beat_share(notes: Sequence[Note], total_steps: int) -> float:
    """Share of beats (4 grid steps) in which no note sounds (neither starts nor is held); NaN for an empty window."""
    beats = total_steps // STEPS_PER_BEAT
    if beats == 0:
        return math.nan
    sounding = np.zeros(beats, bool)
    for n in notes:
        first, last = max(0, n.start // STEPS_PER_BEAT), min(beats - 1, (n.end - 1) // STEPS_PER_BEAT)
        if first <= last:
            sounding[first:last + 1] = True
    return float(1.0 - sounding.mean())


@dataclass(frozen=True)
class PieceForm:
    """Form measures of one Piece (see the module docstring for bars, sets and similarity).

    - phrase_similarity: highest Jaccard similarity of a later 4-bar melody phrase with an earlier one
      ((bar offset, step, pitch class) sets); phrase_repeats: 1.0 when it is >= PHRASE_REPEAT_THRESHOLD.
    - lag4_similarity: mean melody bar similarity at a 4-bar lag; other_lag_similarity: the mean over
      lags 1, 2, 3, 5, 6, 7 (the repetition any melody has by chance, for comparison).
    - half_similarity: A against A′, bars 0–7 against bars 8–15 (needs 16 bars).
    - section_chord_match: highest share of section 1's chord beats found in place in a later 8-bar
      section; section_repeats: 1.0 when it is >= SECTION_REPEAT_SHARE (needs 16 bars, 32 to mean much).
    - melody_new_rhythm_share, bass_new_rhythm_share: share of sounding bars whose onset pattern is new
      in the piece; drums_new_pattern_share: the same for drum bars, (step, drum class) patterns.
    - chord_changes_per_bar: harmonic rhythm (beat-to-beat chord changes per bar).
    - starts_on_tonic, ends_on_tonic: first / last sounding chord's root is the key's tonic (1.0 / 0.0).
    - melody_velocity_sd: velocity standard deviation of the melody's notes (MIDI units).
    - melody_empty_beat_share: share of beats where no melody note sounds.
    """

    bars: int
    phrase_similarity: float
    phrase_repeats: float
    lag4_similarity: float
    other_lag_similarity: float
    half_similarity: float
    section_chord_match: float
    section_repeats: float
    melody_new_rhythm_share: float
    bass_new_rhythm_share: float
    drums_new_pattern_share: float
    chord_changes_per_bar: float
    starts_on_tonic: float
    ends_on_tonic: float
    melody_velocity_sd: float
    melody_empty_beat_share: float

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items() if k != "bars"}


def _at_least(value: float, threshold: float) -> float:
    return math.nan if math.isnan(value) else float(value >= threshold)


def piece_form(piece: Piece) -> PieceForm:
    """All form measures of `piece`, over its whole length."""
    spb, bars = piece.steps_per_bar, piece.bars
    melody = bar_sets(piece.melody, bars, spb)
    phrase = phrase_similarity(melody)
    chords = section_chord_match(piece)
    return PieceForm(
        bars=bars,
        phrase_similarity=phrase,
        phrase_repeats=_at_least(phrase, PHRASE_REPEAT_THRESHOLD),
        lag4_similarity=lag_similarity(melody, 4),
        other_lag_similarity=_nanmean(lag_similarity(melody, lag) for lag in OTHER_LAGS),
        half_similarity=half_similarity(melody),
        section_chord_match=chords,
        section_repeats=_at_least(chords, SECTION_REPEAT_SHARE),
        melody_new_rhythm_share=new_rhythm_share(bar_sets(piece.melody, bars, spb, with_pitch=False)),
        bass_new_rhythm_share=new_rhythm_share(bar_sets(piece.bass, bars, spb, with_pitch=False)),
        drums_new_pattern_share=new_rhythm_share(bar_sets(piece.drums, bars, spb, drums=True)),
        chord_changes_per_bar=chord_changes_per_bar(piece),
        starts_on_tonic=starts_on_tonic(piece),
        ends_on_tonic=ends_on_tonic(piece),
        melody_velocity_sd=velocity_sd(piece.melody),
        melody_empty_beat_share=empty_beat_share(piece.melody, piece.total_steps),
    )


# --- the band: an arrangement's MIDI -------------------------------------------------------------


def midi_notes_on_grid(instrument: pretty_midi.Instrument, bar_times: Sequence[float], first_bar: int, bars: int,
                       steps_per_bar: int = GRID_STEPS_PER_BAR) -> list[Note]:
    """The instrument's notes in bars [first_bar, first_bar + bars) of `bar_times` (seconds, each bar's start
    and the end of the last) as grid Notes, the window's first bar at step 0. An onset is placed at the
    nearest step of its bar (each bar divided evenly, so tempo changes between bars are followed); a
    swung or humanised onset therefore lands on a consistent step, and a repeated pattern stays repeated."""
    times = np.asarray(bar_times, dtype=float)
    last = min(first_bar + bars, len(times) - 1)
    out = []
    for n in instrument.notes:
        bar = int(np.searchsorted(times, n.start + 1e-9, side="right")) - 1
        if not first_bar <= bar < last:
            continue
        length = times[bar + 1] - times[bar]
        step = int(round((n.start - times[bar]) / length * steps_per_bar)) if length > 0 else 0
        if step >= steps_per_bar:  # an early hit of the next bar's downbeat belongs to that bar
            bar, step = bar + 1, 0
            if bar >= last:
                continue
        end_bar = min(int(np.searchsorted(times, n.end - 1e-9, side="right")) - 1, len(times) - 2)
        end_len = times[end_bar + 1] - times[end_bar]
        end = end_bar * steps_per_bar + (int(round((n.end - times[end_bar]) / end_len * steps_per_bar)) if end_len > 0 else 0)
        start = (bar - first_bar) * steps_per_bar + step
        out.append(Note(int(n.pitch), start, max(1, end - first_bar * steps_per_bar - start), int(n.velocity)))
    return out


@dataclass(frozen=True)
class BandForm:
    """Measures of a band arrangement over the piece's bars (intro and ending left out).

    - part_new_rhythm_share: per pitched instrument (by its role name), share of its sounding bars whose
      onset pattern is new in the window (as PieceForm.melody_new_rhythm_share).
    - drums_new_pattern_share: the same for the Drums part, on (step, drum class) patterns; NaN without drums.
    - notes_per_bar: note onsets of all pitched instruments together per bar (drums excluded).
    - melody_velocity_sd: velocity standard deviation of the Melody instrument (MIDI units), as performed.
    - empty_beat_share: share of beats where no pitched note sounds and no drum is struck.
    """

    bars: int
    part_new_rhythm_share: dict[str, float] = field(default_factory=dict)
    drums_new_pattern_share: float = math.nan
    notes_per_bar: float = math.nan
    melody_velocity_sd: float = math.nan
    empty_beat_share: float = math.nan

    def as_dict(self) -> dict[str, float]:
        """Flat measures, each named band_...: band_drums_new_pattern_share, band_notes_per_bar, band_melody_velocity_sd,
        band_empty_beat_share and band_<role>_new_rhythm_share per pitched part (e.g. band_bass_new_rhythm_share)."""
        out = {"band_drums_new_pattern_share": self.drums_new_pattern_share, "band_notes_per_bar": self.notes_per_bar,
               "band_melody_velocity_sd": self.melody_velocity_sd, "band_empty_beat_share": self.empty_beat_share}
        out.update({f"band_{role.lower()}_new_rhythm_share": v for role, v in self.part_new_rhythm_share.items()})
        return out


def band_form(midi: pretty_midi.PrettyMIDI, bar_times: Sequence[float], first_bar: int = 0, bars: int | None = None) -> BandForm:
    """Measures of bars [first_bar, first_bar + bars) of `midi` (default: every bar of `bar_times` from first_bar)."""
    available = len(bar_times) - 1 - first_bar
    bars = available if bars is None else min(bars, available)
    if bars <= 0:
        raise ValueError("no bars to measure: bar_times holds the start of each bar and the end of the last")
    steps = bars * GRID_STEPS_PER_BAR
    shares: dict[str, float] = {}
    pitched: list[Note] = []
    drum_notes: list[Note] = []
    melody: list[Note] = []
    for inst in midi.instruments:
        notes = midi_notes_on_grid(inst, bar_times, first_bar, bars)
        if inst.is_drum:
            drum_notes.extend(notes)
            continue
        pitched.extend(notes)
        if inst.name == "Melody":
            melody.extend(notes)
        role = inst.name or f"program{inst.program}"
        previous = shares.get(role)
        rhythm = new_rhythm_share(bar_sets(notes, bars, GRID_STEPS_PER_BAR, with_pitch=False))
        shares[role] = rhythm if previous is None or math.isnan(previous) else previous
    struck = [Note(n.pitch, n.start, 1, n.velocity) for n in drum_notes]
    return BandForm(
        bars=bars,
        part_new_rhythm_share=shares,
        drums_new_pattern_share=new_rhythm_share(bar_sets(drum_notes, bars, GRID_STEPS_PER_BAR, drums=True)),
        notes_per_bar=len(pitched) / bars,
        melody_velocity_sd=velocity_sd(melody),
        empty_beat_share=empty_beat_share(pitched + struck, steps),
    )


def arrangement_form(arrangement, piece_bars: int) -> BandForm:
    """BandForm of an engine.arrange Arrangement over the piece's own bars (after its intro, before its ending)."""
    return band_form(arrangement.midi, arrangement.bar_times, first_bar=arrangement.intro_bars, bars=piece_bars)
