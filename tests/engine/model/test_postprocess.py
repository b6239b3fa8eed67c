import numpy as np

from engine.music import Chord, Key, Note, Piece
from engine.postprocess import DOMINANT_CHORD, clamp_ranges, empty_bars, postprocess_tokens, tonic_chord
from engine.tokens import FIRST_PITCH_TOKEN, HOLD, MELODY_LOW, REST, Encoded, chord_token, decode

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


def test_no_chord_beats_take_the_previous_chord():
    chords = [0] * 2 + [chord_token(Chord(5, "maj", 0, 4))] + [0] * (T // 4 - 3)
    out = postprocess_tokens(_tracks([(60, 0, 4)], chords=chords), "pop")
    assert (out.chords > 0).all()
    assert out.chords[0] == tonic_chord(0) and out.chords[3] == chord_token(Chord(5, "maj", 0, 4))


def test_ranges_are_clamped_by_octaves():
    piece = Piece(bars=1, key=Key(0), melody=[Note(40, 0, 4), Note(95, 4, 4)], bass=[Note(20, 0, 4), Note(60, 4, 4)])
    out = clamp_ranges(piece)
    assert [n.pitch for n in out.melody] == [64, 83] and [n.pitch for n in out.bass] == [32, 48]
