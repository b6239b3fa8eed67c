import numpy as np
import pytest

from engine import postprocess
from engine.music import Chord, Key, Note, Piece
from engine.postprocess import STYLE_RULES, DOMINANT_CHORD, decode_in_key, empty_bars, postprocess_tokens, tonic_chord
from engine.tokens import (
    BASS_HIGH,
    BASS_LOW,
    BASS_VOCAB,
    CHORD_VOCAB,
    DRUM_CLASSES,
    FIRST_PITCH_TOKEN,
    HOLD,
    MELODY_HIGH,
    MELODY_LOW,
    MELODY_VOCAB,
    REST,
    Encoded,
    chord_token,
    decode,
    fold_array,
    fold_into,
    token_chord,
)
from tests.helpers.reference import clamp_ranges

BARS = 4
T = BARS * 16


def _tracks(notes: list[tuple[int, int, int]], chords: list[int] | None = None, mode: int = 0) -> Encoded:
    """Melody from (pitch, start, length) triples; C major chords unless given."""
    melody = np.full(T, REST, dtype=np.int16)
    for pitch, start, length in notes:
        melody[start] = FIRST_PITCH_TOKEN + pitch - MELODY_LOW
        melody[start + 1 : start + length] = HOLD
    c = np.array(chords if chords is not None else [chord_token(Chord(0, "maj", 0, 4))] * (T // 4), dtype=np.int16)
    return Encoded(melody, np.zeros(T, np.int16), c, np.zeros((T, 8), np.uint8), False, False, mode)


def _notes(tracks: Encoded) -> list[Note]:
    return decode(tracks.melody, tracks.chords, mode=tracks.mode).melody


def test_folk_melody_is_snapped_to_the_key_and_to_chord_tones_on_strong_beats():
    # C#, F# and Bb are outside C major; the long D on beat 1 of bar 2 is not a C-major chord tone
    notes = [(61, 0, 2), (66, 2, 2), (70, 4, 2), (64, 6, 2), (62, 16, 4), (67, 24, 4), (65, 32, 8), (64, 48, 4)]
    out = _notes(postprocess_tokens(_tracks(notes), "folk"))
    assert all(n.pitch % 12 in (0, 2, 4, 5, 7, 9, 11) for n in out)
    on_beat_two_bar = next(n for n in out if n.start == 16)
    assert on_beat_two_bar.pitch % 12 in (0, 4, 7)


def test_jazz_keeps_blue_notes_that_folk_would_move():
    notes = [(63, 0, 2), (70, 2, 2), (60, 16, 4), (60, 32, 4), (60, 48, 4)]
    jazz = _notes(postprocess_tokens(_tracks(notes), "jazz"))
    folk = _notes(postprocess_tokens(_tracks(notes), "folk"))
    assert [n.pitch for n in jazz[:2]] == [63, 70]
    assert all(n.pitch % 12 in (0, 2, 4, 5, 7, 9, 11) for n in folk)


def test_empty_bars_are_filled_and_orphan_holds_silenced():
    tracks = _tracks([(64, 0, 4), (67, 4, 4), (65, 40, 4)])  # bar 1 and bar 3 are empty
    tracks.melody[32:36] = HOLD  # holds after a rest (bars decode independently): silence, not a note
    out = postprocess_tokens(tracks, "pop")
    assert list(out.melody[32:36]) == [REST] * 4
    piece = decode(out.melody, out.chords)
    assert empty_bars(piece) == []
    assert [n.start for n in piece.melody if 16 <= n.start < 32] == [16, 20]  # bar 0 copied into bar 1


def test_a_silent_melody_becomes_a_tonic_line():
    out = postprocess_tokens(_tracks([]), "classical")
    assert empty_bars(decode(out.melody, out.chords)) == []


def test_cadence_dominant_then_tonic_and_a_held_final_chord_tone():
    notes = [(62, s, 2) for s in range(0, T, 2)]  # running Ds to the very end
    for mode in (0, 1):
        out = postprocess_tokens(_tracks(notes, mode=mode), "celtic")
        assert list(out.chords[-4:]) == [tonic_chord(mode)] * 4
        assert list(out.chords[-6:-4]) == [DOMINANT_CHORD] * 2
        final = _notes(out)[-1]
        assert final.end == T and final.start >= T - 16
        assert final.pitch % 12 in ((0, 4, 7) if mode == 0 else (0, 3, 7))


def test_each_style_ends_on_its_own_tonic_chord():
    notes = [(62, s, 2) for s in range(0, T, 2)]
    expected = {("blues", 0): "7", ("blues", 1): "min7", ("jazz", 0): "maj7", ("jazz", 1): "min7", ("lofi", 0): "maj7",
                ("folk", 0): "maj", ("folk", 1): "min", ("pop", 0): "maj", ("classical", 1): "min"}
    for (style, mode), quality in expected.items():
        out = postprocess_tokens(_tracks(notes, mode=mode), style)
        assert list(out.chords[-4:]) == [chord_token(Chord(0, quality, 0, 4))] * 4, (style, mode)
        assert _notes(out)[-1].pitch % 12 in Chord(0, quality, 0, 4).pitch_classes()  # the held last note fits it


def test_no_chord_beats_take_the_previous_chord():
    chords = [0] * 2 + [chord_token(Chord(5, "maj", 0, 4))] + [0] * (T // 4 - 3)
    out = postprocess_tokens(_tracks([(60, 0, 4)], chords=chords), "pop")
    assert (out.chords > 0).all()
    assert out.chords[0] == tonic_chord(0) and out.chords[3] == chord_token(Chord(5, "maj", 0, 4))


def test_ranges_are_clamped_by_octaves():
    piece = Piece(bars=1, key=Key(0), melody=[Note(40, 0, 4), Note(95, 4, 4)], bass=[Note(20, 0, 4), Note(60, 4, 4)])
    out = clamp_ranges(piece)
    assert [n.pitch for n in out.melody] == [64, 83] and [n.pitch for n in out.bass] == [32, 48]


# --- the vectorised rules and decoding against the straightforward loops they replaced ------------------


def _loop_silence_orphan_holds(line):
    out = line.copy()
    sounding = False
    for s, t in enumerate(out):
        if t >= FIRST_PITCH_TOKEN:
            sounding = True
        elif t == HOLD and not sounding:
            out[s] = REST
        elif t == REST:
            sounding = False
    return out


def _loop_fill_empty_bars(line):
    bars = line.reshape(-1, 16).copy()
    has_notes = (bars >= FIRST_PITCH_TOKEN).any(1)
    if not has_notes.any():
        return bars.reshape(-1)
    full = np.flatnonzero(has_notes)
    for b in np.flatnonzero(~has_notes):
        bars[b] = bars[full[np.argmin(np.abs(full - b) + (full > b) * 0.5)]]
    return _loop_silence_orphan_holds(bars.reshape(-1))


def _loop_fill_chords(chords, mode):
    out = chords.copy()
    previous = tonic_chord(mode)
    for i, c in enumerate(out):
        if c == 0:
            out[i] = previous
        previous = out[i]
    return out


def _loop_snap_line(line, chords, mode, rules, low, high, strong_beats):
    out = line.copy()
    scale = np.zeros(12, dtype=bool)
    scale[list((0, 2, 4, 5, 7, 9, 11) if mode == 0 else (0, 2, 3, 5, 7, 8, 10, 11))] = True
    if rules.blue_notes:
        scale[[3, 6, 10]] = True
    for s in np.flatnonzero(out >= FIRST_PITCH_TOKEN):
        chord_pcs = postprocess._CHORD_PCS[chords[s // 4]]
        length = 1
        while s + length < len(out) and out[s + length] == HOLD:
            length += 1
        allowed = chord_pcs if strong_beats and s % 8 == 0 and length >= 4 and chord_pcs.any() else scale | chord_pcs
        pitch = low + int(out[s]) - FIRST_PITCH_TOKEN
        for delta in (0, -1, 1, -2, 2, -3, 3, -4, 4, -5, 5, -6, 6):
            if low <= pitch + delta <= high and allowed[(pitch + delta) % 12]:
                out[s] = FIRST_PITCH_TOKEN + pitch + delta - low
                break
    return out


def _loop_decode(melody, chords, bass, drums, mode, tempo):
    def line(tokens, low, velocity):
        notes, pitch, start = [], None, 0
        for s, t in enumerate([int(x) for x in tokens] + [REST]):
            if t == HOLD and pitch is not None:
                continue
            if pitch is not None:
                notes.append(Note(pitch, start, s - start, velocity))
                pitch = None
            if t >= FIRST_PITCH_TOKEN:
                pitch, start = low + t - FIRST_PITCH_TOKEN, s
        return notes

    harmony = []
    for b, tok in enumerate(chords):
        if harmony and chord_token(harmony[-1]) == int(tok) and harmony[-1].end == b * 4:
            last = harmony[-1]
            harmony[-1] = Chord(last.root, last.quality, last.start, last.duration + 4)
        else:
            harmony.append(token_chord(int(tok), b * 4, 4))
    hits = [Note(DRUM_CLASSES[int(i)][1][0], int(s), 1, 90) for s, i in zip(*np.nonzero(drums))]
    return Piece(bars=len(melody) // 16, key=Key(0, "major" if mode == 0 else "minor"), tempo=tempo, melody=line(melody, MELODY_LOW, 96),
                 harmony=harmony, bass=line(bass, BASS_LOW, 90), drums=sorted(hits, key=lambda n: (n.start, n.pitch)))


def _random_tracks(rng, bars: int) -> Encoded:
    """Token arrays like a model's: runs of notes, holds and rests, some empty bars, orphan holds, N.C. beats."""
    steps = bars * 16

    def line(vocab):
        kinds = rng.choice(3, steps, p=[0.2, 0.5, 0.3])  # rest, hold, new note
        out = np.where(kinds == 2, rng.integers(FIRST_PITCH_TOKEN, vocab, steps), kinds).astype(np.int16)
        for b in rng.choice(bars, rng.integers(0, bars), replace=False):
            out[b * 16 : (b + 1) * 16] = rng.choice([REST, HOLD], 16)
        return out

    chords = np.repeat(rng.integers(0, CHORD_VOCAB, steps // 8), 2).astype(np.int16)
    chords[rng.random(len(chords)) < 0.3] = 0
    drums = (rng.random((steps, 8)) < 0.15).astype(np.uint8)
    return Encoded(line(MELODY_VOCAB), line(BASS_VOCAB) * (rng.random() < 0.8), chords, drums, True, True, int(rng.integers(2)))


@pytest.fixture(scope="module")
def random_tracks():
    rng = np.random.default_rng(0)
    return [_random_tracks(rng, bars) for bars in (1, 2, 4, 8, 12, 16, 32) for _ in range(30)]


def test_vectorised_rules_match_the_loops(random_tracks):
    for tracks in random_tracks:
        for line in (tracks.melody, tracks.bass):
            silenced = postprocess.silence_orphan_holds(line)
            assert np.array_equal(silenced, _loop_silence_orphan_holds(line))
            assert np.array_equal(postprocess._fill_empty_bars(silenced), _loop_fill_empty_bars(silenced))
        filled = postprocess._fill_chords(tracks.chords, tracks.mode)
        assert np.array_equal(filled, _loop_fill_chords(tracks.chords, tracks.mode)) and filled.dtype == tracks.chords.dtype
        for style in ("jazz", "pop"):
            for chords in (filled, tracks.chords):  # N.C. beats: no strict chord-tone rule
                for line, low, high in ((tracks.melody, MELODY_LOW, MELODY_HIGH), (tracks.bass, BASS_LOW, BASS_HIGH)):
                    for strong in (False, True):
                        args = (line, chords, tracks.mode, STYLE_RULES[style], low, high, strong)
                        assert np.array_equal(postprocess._snap_line(*args), _loop_snap_line(*args))


def test_postprocessing_matches_the_loops(random_tracks, monkeypatch):
    fast = [postprocess_tokens(t, style) for t in random_tracks for style in ("blues", "celtic")]
    for name, loop in (("silence_orphan_holds", _loop_silence_orphan_holds), ("_fill_empty_bars", _loop_fill_empty_bars),
                       ("_fill_chords", _loop_fill_chords), ("_snap_line", _loop_snap_line)):
        monkeypatch.setattr(postprocess, name, loop)
    slow = [postprocess_tokens(t, style) for t in random_tracks for style in ("blues", "celtic")]
    for a, b in zip(fast, slow):
        assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("melody", "bass", "chords"))


def test_decoding_in_the_key_matches_decode_transpose_and_clamp(random_tracks):
    for i, tracks in enumerate(random_tracks):
        shift = i % 12 - 5
        decoded = decode(tracks.melody, tracks.chords, tracks.bass, tracks.drums, mode=tracks.mode, tempo=96.0)
        assert repr(decoded) == repr(_loop_decode(tracks.melody, tracks.chords, tracks.bass, tracks.drums, tracks.mode, 96.0))
        # repr, not ==: a numpy integer where an int belongs would compare equal but not print the same
        assert repr(decode_in_key(tracks, shift, 96.0)) == repr(clamp_ranges(decoded.transposed(shift)))


def test_negative_and_repeated_chord_tokens_decode_like_the_loop():
    chords = np.array([0, 0, -1, -1, 0, 5, 5, -3, 5, 0, 0, 7], dtype=np.int16)
    melody = np.zeros(len(chords) * 4, dtype=np.int16)
    assert repr(decode(melody, chords).harmony) == repr(_loop_decode(melody, chords, melody, np.zeros((len(melody), 8)), 0, 120.0).harmony)


def test_folding_arrays_matches_fold_into():
    pitches = np.arange(-30, 160)
    for low, high in ((55, 88), (28, 55), (60, 66), (60, 71)):
        assert fold_array(pitches, low, high).tolist() == [fold_into(int(p), low, high) for p in pitches]
