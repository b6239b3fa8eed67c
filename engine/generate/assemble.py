"""From decoded 8-bar blocks to one piece's tokens that follow the plan's form.

The model writes each 8-bar block of the piece with the plan's chords forced. A phrase that returns
(Phrase.source) then takes its source's notes bar for bar, except the bars the form varies, which keep
the notes the model wrote over this phrase's own chords (a new cadence, a different last bar). So A' and
the return of A are recognisably A, and B, written from its own latent, contrasts.
"""

from __future__ import annotations

import numpy as np

from engine.plan.forms import tie_root
from engine.plan.plan import MusicalPlan
from engine.postprocess import silence_orphan_holds
from engine.tokens import FIRST_PITCH_TOKEN, MELODY_HIGH, MELODY_LOW, STEPS_PER_BAR, Encoded

SEGMENT_BARS = 8


def block_materials(plan: MusicalPlan) -> list[str]:
    """The material letter each 8-bar block is written from: that of the phrase sounding at its first bar."""
    blocks = -(-plan.bars // SEGMENT_BARS)
    out = []
    for b in range(blocks):
        bar = b * SEGMENT_BARS
        phrase = next((p for p in plan.phrases if p.start_bar <= bar < p.end_bar), plan.phrases[-1])
        out.append(phrase.material)
    return out


def block_chords(plan: MusicalPlan) -> np.ndarray:
    """The plan's chords per block [blocks, 8 * beats per bar]; a short last block holds its last chord."""
    per_block = SEGMENT_BARS * plan.beats_per_bar
    blocks = -(-plan.bars // SEGMENT_BARS)
    harmony = np.asarray(plan.harmony, dtype=np.int64)
    padded = np.concatenate([harmony, np.full(blocks * per_block - len(harmony), harmony[-1], dtype=np.int64)])
    return padded.reshape(blocks, per_block)


def block_ties(plan: MusicalPlan) -> np.ndarray:
    """The plan's chord ties as the decoder takes them [blocks * 8 bars, beats per bar]: for each beat, the
    bar (counted across the piece's blocks, from 0) whose chord at the same beat it repeats, or -1."""
    bpb = plan.beats_per_bar
    blocks = -(-plan.bars // SEGMENT_BARS)
    out = np.full((blocks * SEGMENT_BARS, bpb), -1, dtype=np.int64)
    ties = plan.chord_ties
    for beat, source in enumerate(ties):
        if source < 0:
            continue
        root = tie_root(ties, beat)
        if root % bpb != beat % bpb:
            raise ValueError(f"beat {beat} is tied to beat {root}, at another place in its bar")
        out[beat // bpb, beat % bpb] = root // bpb
    return out


def apply_form(tracks: Encoded, plan: MusicalPlan) -> Encoded:
    """The tracks with every returning phrase's unvaried bars copied from its source phrase (melody, bass,
    drums and the chords under them). Phrases are taken in order, so a copy of a copy is final.

    It runs on post-processed tokens, so A and its return share every decision post-processing made bar
    by bar (a filled bar, a snapped note); the piece's last bar keeps its final cadence, and a note held
    into a copied bar from a bar that now differs is silenced rather than left dangling."""
    melody, bass, drums, chords = tracks.melody.copy(), tracks.bass.copy(), tracks.drums.copy(), tracks.chords.copy()
    beats = plan.beats_per_bar
    phrases = plan.phrases
    last_bar = len(melody) // STEPS_PER_BAR - 1
    for phrase in phrases:
        if phrase.source is None:
            continue
        source = phrases[phrase.source]
        for i in range(min(phrase.bars, source.bars)):
            if phrase.start_bar + i == last_bar:
                continue
            dst = slice((phrase.start_bar + i) * STEPS_PER_BAR, (phrase.start_bar + i + 1) * STEPS_PER_BAR)
            src = slice((source.start_bar + i) * STEPS_PER_BAR, (source.start_bar + i + 1) * STEPS_PER_BAR)
            if i in phrase.rhythm_bars:
                melody[dst] = rhythm_of(melody[src], melody[dst])
            elif i not in phrase.varied_bars:
                melody[dst], bass[dst], drums[dst] = melody[src], bass[src], drums[src]
                chords[(phrase.start_bar + i) * beats : (phrase.start_bar + i + 1) * beats] = \
                    chords[(source.start_bar + i) * beats : (source.start_bar + i + 1) * beats]
    return Encoded(melody=silence_orphan_holds(melody), bass=silence_orphan_holds(bass), chords=chords, drums=drums, has_bass=tracks.has_bass,
                   has_drums=tracks.has_drums, mode=tracks.mode)


def rhythm_of(source: np.ndarray, pitches: np.ndarray) -> np.ndarray:
    """A bar with `source`'s rhythm (its onsets, holds and rests) and `pitches`' melody: the k-th onset takes
    `pitches`' k-th note, so the new bar's contour is kept. Where `source` has more onsets than `pitches`
    has notes, the rest continue `source`'s own line moved to where the new notes left off (a melodic
    sequence), snapped to the pitch classes the two bars use.

    Why not the pitch sounding at each onset: that repeats one pitch over every onset a long note spans,
    and those repeated notes read as no style at all (celtic under the second judge: 56% with them, 67%
    without, 48 pieces)."""
    new_notes = [int(t) for t in pitches[pitches >= FIRST_PITCH_TOKEN]]
    onsets = np.flatnonzero(source >= FIRST_PITCH_TOKEN)
    if not new_notes:
        return source.copy()
    used = {(int(t) - FIRST_PITCH_TOKEN) % 12 for t in np.concatenate([source, pitches]) if t >= FIRST_PITCH_TOKEN}
    out = source.copy()
    shift = 0
    for k, step in enumerate(onsets):
        if k < len(new_notes):
            out[step] = new_notes[k]
            shift = new_notes[k] - int(source[step])
        else:
            out[step] = _snap(int(source[step]) + shift, used)
    return out


def _snap(token: int, pitch_classes: set[int]) -> int:
    """The nearest token to `token` inside the melody's range whose pitch class is in `pitch_classes`."""
    low, high = FIRST_PITCH_TOKEN, FIRST_PITCH_TOKEN + MELODY_HIGH - MELODY_LOW
    for distance in range(12):
        for candidate in (token - distance, token + distance):
            if low <= candidate <= high and (candidate - FIRST_PITCH_TOKEN) % 12 in pitch_classes:
                return candidate
    return min(high, max(low, token))


__all__ = ["apply_form", "rhythm_of", "block_chords", "block_materials", "block_ties", "SEGMENT_BARS"]
