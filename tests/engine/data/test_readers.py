from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest
from tests.helpers.data_pieces import scale_piece

from engine.data.labelled import Labels, LabelledPiece
from engine.data.midi import write_midi
from engine.data.readers.base import ReaderError
from engine.data.readers.cocopops import CocopopsReader, kern_duration, kern_pitch
from engine.data.readers.emopia import EmopiaReader
from engine.data.readers.folder import FolderReader
from engine.data.readers.pop909 import Pop909Reader
from engine.data.readers.registry import default_sources
from engine.data.readers.score_files import ScoreFileReader
from engine.data.readers.vgmidi import VgmidiReader
from engine.data.readers.wjd import WjdReader
from engine.music import Key, Meter, Note
from engine.labels import STYLES

_WJD_MELODY = ["onset", "duration", "period", "division", "bar", "beat", "tatum", "beat_duration", "signature", "pitch", "loud_max",
               "loud_median", "phrase_id", "phrase_begin", "chorus_id", "chord", "form", "idea"]
_WJD_BEAT = ["onset", "duration", "period", "division", "bar", "beat", "signature", "chord", "form", "chorus_id", "bass"]


def _write_wjd(root: Path, name: str = "Bird_BluesForAlice_FINAL") -> Path:
    (root / "mcsv_melody").mkdir(parents=True)
    (root / "mcsv_beat").mkdir()
    with (root / "mcsv_melody" / f"{name}.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(_WJD_MELODY)
        for i, (bar, beat, tatum, div, pitch) in enumerate([(1, 1, 1, 2, 65), (1, 1, 2, 2, 67), (1, 2, 1, 1, 69), (2, 1, 1, 4, 70), (2, 1, 3, 4, 72)]):
            w.writerow([i * 0.25, 0.2, 4, div, bar, beat, tatum, 0.5, "4/4", pitch, 0.1, 70, 1, 0, 1, "F7", "A1", ""])
    with (root / "mcsv_beat" / f"{name}_beattrack.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(_WJD_BEAT)
        for bar in (1, 2):
            for beat in range(1, 5):
                w.writerow([0, 0.5, 4, 1, bar, beat, "'4/4'", "F7" if bar == 1 and beat == 1 else ("Bb7" if bar == 2 and beat == 1 else ""), "A1", 1, 41])
    return root / "mcsv_melody" / f"{name}.csv"


def test_wjd_reads_notes_chords_and_bass_on_the_grid(tmp_path):
    item = _write_wjd(tmp_path)
    reader = WjdReader()
    assert reader.items(tmp_path) == [str(item)]
    piece, labels = reader.read(str(item))[0]
    assert [(n.pitch, n.start) for n in piece.melody] == [(65, 0), (67, 2), (69, 4), (70, 16), (72, 18)]
    assert [(c.symbol(), c.start, c.duration) for c in piece.harmony] == [("F7", 0, 16), ("Bb7", 16, 16)]
    assert len(piece.bass) == 8 and piece.bass[0].pitch == 41
    assert labels.style == "blues" and piece.tempo == 120.0 and piece.name == "Bird_BluesForAlice"


def test_wjd_malformed_csv_raises_reader_error(tmp_path):
    (tmp_path / "mcsv_melody").mkdir()
    bad = tmp_path / "mcsv_melody" / "X_Y_FINAL.csv"
    bad.write_text("onset,pitch\n1,60\n")
    with pytest.raises(ReaderError, match="missing columns"):
        WjdReader().read(str(bad))


_HUM = """!!!OTL: Test
**harm\t**harte\t**kern\t**timestamp
*M4/4\t*M4/4\t*M4/4\t*
*G:\t*G:\t*G:\t*
=1\t=1\t=1\t=1
*tb8\t*tb8\t*tb8\t*
I\tG:maj\tg\t0.0
.\t.\t.\t.
.\t.\ta\t.
.\t.\tr\t.
IV\tC:maj7\tb-\t1.0
.\t.\tcc#\t.
.\t.\t.\t.
.\t.\t.\t.
*-\t*-\t*-\t*-
"""


def test_cocopops_humdrum_reader_times_rows_by_timebase(tmp_path):
    path = tmp_path / "Band_Song_1970.hum"
    path.write_text(_HUM)
    piece, labels = CocopopsReader().read(str(path))[0]
    assert [(n.pitch, n.start, n.duration) for n in piece.melody] == [(67, 0, 4), (69, 4, 2), (70, 8, 2), (73, 10, 6)]
    assert [(c.symbol(), c.start, c.duration) for c in piece.harmony] == [("G", 0, 8), ("Cmaj7", 8, 8)]
    assert piece.key == Key(7, "major") and piece.meter == Meter(4, 4) and labels.style == "rock"


def test_kern_tokens():
    assert kern_pitch("cc#") == 73 and kern_pitch("C") == 48 and kern_pitch("BB-") == 46 and kern_pitch("4r") is None
    assert kern_duration("8.") == pytest.approx(3 / 16) and kern_duration("g") is None


def test_cocopops_malformed_file(tmp_path):
    path = tmp_path / "bad.hum"
    path.write_text("**kern\t**harte\n*tb8\t*\nc\n")
    with pytest.raises(ReaderError, match="fields where the header has 2"):
        CocopopsReader().read(str(path))
    path.write_text("no humdrum here\n")
    with pytest.raises(ReaderError, match="no Humdrum spine header"):
        CocopopsReader().read(str(path))


_ABC = """X:1
T:Test Reel
M:4/4
L:1/8
K:D
"D"DEFG ABcd|"G"BcdB "A7"AGFE|"D"D2F2 A2d2|"A7"cBAG "D"F2D2|
X:2
T:Test Jig
M:6/8
L:1/8
K:G
"G"GAB dBG|"D"AFD DFA|"G"GAB dBG|"D7"AFD "G"G3|
"""


def test_abc_file_with_two_tunes_and_chord_symbols(tmp_path):
    path = tmp_path / "tunes.abc"
    path.write_text(_ABC)
    pieces = ScoreFileReader(style="folk", source="test").read(str(path))
    assert len(pieces) == 2
    (reel, reel_labels), (jig, _) = pieces
    assert reel.meter == Meter(4, 4) and jig.meter == Meter(6, 8)
    assert [c.symbol() for c in reel.harmony[:3]] == ["D", "G", "A7"]
    assert reel.melody[0].pitch == 62 and reel.melody[0].duration == 2 and reel.bars == 4
    assert reel.key == Key(2, "major") and reel_labels.style == "folk"


def test_musicxml_round_trip_of_a_written_score(tmp_path):
    from music21 import converter, harmony, meter, note, stream

    part = stream.Part()
    part.append(meter.TimeSignature("4/4"))
    part.append(harmony.ChordSymbol("Cmaj7"))
    for p in ("C4", "E4", "G4", "B4"):
        part.append(note.Note(p, quarterLength=1))
    part.append(harmony.ChordSymbol("Dm7"))
    for p in ("D4", "F4", "A4", "C5"):
        part.append(note.Note(p, quarterLength=1))
    path = tmp_path / "song.musicxml"
    stream.Score([part]).write("musicxml", fp=str(path))
    piece, labels = ScoreFileReader(style="jazz", source="test").read(str(path))[0]
    assert [n.pitch for n in piece.melody] == [60, 64, 67, 71, 62, 65, 69, 72]
    assert [(c.symbol(), c.start) for c in piece.harmony] == [("Cmaj7", 0), ("Dm7", 16)] and labels.style == "jazz"
    assert converter is not None


def test_score_reader_malformed_file(tmp_path):
    path = tmp_path / "broken.xml"
    path.write_text("<score-partwise><part id='P1'><measure><note>")
    with pytest.raises(ReaderError, match="broken.xml"):
        ScoreFileReader().read(str(path))
    with pytest.raises(ReaderError, match="not a score file"):
        ScoreFileReader().read(str(tmp_path / "x.pdf"))


def test_emopia_reader_labels_from_the_quadrant(tmp_path):
    midi = write_midi(scale_piece(), tmp_path / "clip.mid").read_bytes()
    with zipfile.ZipFile(tmp_path / "midis.zip", "w") as zf:
        zf.writestr("midis/Q2_abc_0.mid", midi)
        zf.writestr("midis/Q4_abc_1.mid", midi)
        zf.writestr("midis/Q3_bad_0.mid", b"not midi")
    reader = EmopiaReader()
    items = reader.items(tmp_path)
    assert len(items) == 3
    piece, dark = reader.read(items[0])[0]  # sorted: Q2, Q3, Q4
    assert (dark.valence, dark.arousal, dark.mood, dark.style) == (-0.6, 0.6, "dark", "pop") and piece.name == "Q2_abc_0"
    _, calm = reader.read(items[2])[0]
    assert calm.valence > 0 > calm.arousal and calm.mood in ("calm", "dreamy")
    with pytest.raises(ReaderError, match="Q3_bad_0.mid: .*not a MIDI file"):
        reader.read(items[1])


def test_vgmidi_reader_labels_from_the_csv(tmp_path):
    (tmp_path / "labelled" / "midi").mkdir(parents=True)
    write_midi(scale_piece(), tmp_path / "labelled" / "midi" / "Game_Console_Title_Boss Theme.mid")
    (tmp_path / "vgmidi_labelled.csv").write_text(
        "id,series,console,game,piece,midi,valence,arousal\n1,S,C,G,Boss Theme,labelled/phrases/Game_Console_Title_Boss Theme_0.mid,-1,1\n")
    piece, labels = VgmidiReader().read(VgmidiReader().items(tmp_path)[0])[0]
    assert (labels.valence, labels.arousal, labels.mood, labels.style) == (-0.6, 0.6, "dark", "game") and piece.melody


def test_pop909_reader_uses_the_annotations(tmp_path):
    song = tmp_path / "001"
    song.mkdir()
    write_midi(scale_piece(bars=4), song / "001.mid")  # tempo 120: a 16th is 0.125 s
    (song / "chord_midi.txt").write_text("0.0\t2.0\tA:min7\n2.0\t4.0\tD:7\n4.0\t8.0\tN\n")
    (song / "key_audio.txt").write_text("0.0\t8.0\tA:min\n")
    piece, labels = Pop909Reader().read(Pop909Reader().items(tmp_path)[0])[0]
    assert [(c.symbol(), c.start, c.duration) for c in piece.harmony] == [("Am7", 0, 16), ("D7", 16, 16), ("N.C.", 32, 32)]
    assert piece.key == Key(9, "minor") and labels == Labels(style="pop")
    (song / "chord_midi.txt").write_text("0.0 oops\n")
    with pytest.raises(ReaderError, match="expected 'start end label'"):
        Pop909Reader().read(str(song / "001.mid"))


def test_folder_reader_mixes_midi_and_scores_and_names_bad_files(tmp_path):
    write_midi(scale_piece(), tmp_path / "a.mid")
    (tmp_path / "b.abc").write_text(_ABC)
    (tmp_path / "c.mid").write_bytes(b"garbage")
    reader = FolderReader(style="latin", source="host:x")
    items = reader.items(tmp_path)
    assert [Path(i).name for i in items] == ["a.mid", "b.abc", "c.mid"]
    assert reader.read(items[0])[0].labels.style == "latin"
    assert len(reader.read(items[1])) == 2
    with pytest.raises(ReaderError, match="c.mid"):
        reader.read(items[2])


@pytest.mark.parametrize("name", ["wjd-solos", "chord-melody", "openewld", "pop909", "cocopops", "emopia", "vgmidi"])
def test_registered_source_reads_its_first_real_file(shared_data, name):
    # Sources whose files hold dozens of tunes (Nottingham ABC, Essen, O'Neill's) are exercised by the build instead: too slow here.
    source = next(s for s in default_sources(shared_data) if s.name == name)
    items = source.items()
    assert items, f"{name}: no items"
    pieces = source.reader.read(items[0])
    assert pieces and all(p.melody and p.source == name and labels.style in STYLES for p, labels in pieces)


_LS = """(title Blue Test)
(meter 4 4)
(key -1)
(tempo 140.0)
(style shuffle
    (swing 0.67)
)
(part
    (type chords)
    (title Blue Test)
)
(section (style shuffle))
F7 | Bb7 / |
(part
    (type melody)
    (title Chorus 1)
)
 f8 a8 c+4 r2
 bb4+8 d+8 eb+4/3 eb+4/3 eb+4/3
(part
    (type melody)
    (title Chorus 2)
)
 f-1 r1
"""


def test_improvisor_reader_reads_chords_melody_and_choruses(tmp_path):
    from engine.data.readers.improvisor import ImprovisorReader, note_duration, parse_note

    (tmp_path / "leadsheets" / "solos").mkdir(parents=True)
    path = tmp_path / "leadsheets" / "solos" / "blue.ls"
    path.write_text(_LS)
    piece, labels = ImprovisorReader().read(ImprovisorReader().items(tmp_path)[0])[0]
    assert [(n.pitch, n.start, n.duration) for n in piece.melody[:4]] == [(65, 0, 2), (69, 2, 2), (72, 4, 4), (70, 16, 6)]
    assert [n.duration for n in piece.melody[4:7]] == [2, 3, 3]  # a 16th grid rounds triplets
    assert piece.melody[-1].pitch == 53 and piece.melody[-1].start == 32  # chorus 2 starts on the next pass of the form
    assert [(c.symbol(), c.start, c.duration) for c in piece.harmony] == [("F7", 0, 16), ("Bb7", 16, 16), ("F7", 32, 16), ("Bb7", 48, 16)]
    assert labels.style == "blues" and piece.tempo == 140.0
    assert parse_note("d+4+8") == (74, note_duration("4.")) and parse_note("(slur") is None


def test_improvisor_chord_chart_without_melody_is_reported(tmp_path):
    from engine.data.readers.improvisor import ImprovisorReader

    path = tmp_path / "chart.ls"
    path.write_text("(title Chart)\n(part (type chords))\nC | F | G7 | C |\n")
    with pytest.raises(ReaderError, match="no melody"):
        ImprovisorReader().read(str(path))
    path.write_text("(title Broken\n")
    with pytest.raises(ReaderError, match="unbalanced"):
        ImprovisorReader().read(str(path))


def test_old_notation_meters_read_halves_as_quarters(tmp_path):
    path = tmp_path / "old.abc"
    path.write_text("X:1\nT:Old Song\nM:4/2\nL:1/4\nK:C\nC2 D2 E2 F2|G4 A4|G8|\n")
    piece, _ = ScoreFileReader(style="folk").read(str(path))[0]
    assert piece.meter == Meter(4, 4) and piece.bars == 3
    assert [(n.pitch, n.start, n.duration) for n in piece.melody] == [(60, 0, 4), (62, 4, 4), (64, 8, 4), (65, 12, 4), (67, 16, 8), (69, 24, 8), (67, 32, 16)]


def test_groove_reader_reads_drums_with_style_and_meter(tmp_path):
    from engine.data.readers.groove import GrooveReader
    from engine.music import Piece

    session = tmp_path / "drummer1" / "session1"
    drums = Piece(bars=2, tempo=100.0, drums=[Note(36 if s % 8 == 0 else 42, s, 1, 100) for s in range(0, 32, 2)])
    write_midi(drums, session / "1_latin-samba_100_beat_4-4.mid")
    write_midi(scale_piece(bars=2), session / "2_rock_120_beat_4-4.mid")
    (tmp_path / "info.csv").write_text(
        "drummer,session,id,style,bpm,beat_type,time_signature,midi_filename\n"
        "drummer1,drummer1/session1,drummer1/session1/1,latin/samba,100,beat,4-4,drummer1/session1/1_latin-samba_100_beat_4-4.mid\n"
        "drummer1,drummer1/session1,drummer1/session1/2,rock,120,beat,4-4,drummer1/session1/2_rock_120_beat_4-4.mid\n")
    reader = GrooveReader()
    items = reader.items(tmp_path)
    piece, labels = reader.read(items[0])[0]
    assert labels.style == "latin" and piece.meter == Meter(4, 4) and not piece.melody
    assert [(n.pitch, n.start) for n in piece.drums[:3]] == [(36, 0), (42, 2), (42, 4)]
    with pytest.raises(ReaderError, match="drums-only"):
        reader.read(items[1])
    (tmp_path / "info.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ReaderError, match="not Groove MIDI's info.csv"):
        reader.items(tmp_path)


def test_groove_reads_its_first_real_file(shared_data):
    from engine.data.readers.registry import drum_sources

    source = drum_sources(shared_data)[0]
    piece, labels = source.reader.read(source.items()[0])[0]
    assert piece.drums and not piece.melody and labels.style in ("pop", "rock", "jazz", "latin", "blues")


def test_labels_carry_the_mood_plane_point_and_its_nearest_mood():
    labels = Labels.of_mood(-0.6, -0.6, style="game")
    assert (labels.style, labels.mood, labels.has_mood) == ("game", "sad", True)
    assert not Labels(style="folk").has_mood and not Labels(valence=0.5).has_mood
    piece, given = LabelledPiece(scale_piece())  # a piece without labels
    assert given == Labels() and piece.bars == 8


def test_mood_calibration_reads_the_labelled_pieces_of_both_sets(tmp_path):
    from engine.data.mood_calibration import load_labelled

    midi = write_midi(scale_piece(), tmp_path / "clip.mid").read_bytes()
    (tmp_path / "emopia").mkdir()
    with zipfile.ZipFile(tmp_path / "emopia" / "midis.zip", "w") as zf:
        zf.writestr("midis/Q2_abc_0.mid", midi)
        zf.writestr("midis/Q3_bad_0.mid", b"not midi")  # unreadable: skipped
        zf.writestr("midis/Q4_xyz_1.mid", midi)
    vg = tmp_path / "vgmidi"
    (vg / "labelled" / "midi").mkdir(parents=True)
    write_midi(scale_piece(), vg / "labelled" / "midi" / "G_C_T_Boss.mid")
    write_midi(scale_piece(), vg / "labelled" / "midi" / "G_C_T_Unlabelled.mid")  # not in the CSV: skipped
    (vg / "vgmidi_labelled.csv").write_text("id,series,console,game,piece,midi,valence,arousal\n1,S,C,G,Boss,labelled/phrases/G_C_T_Boss_0.mid,1,-1\n")
    emopia, vgmidi = load_labelled(tmp_path)
    assert emopia.labels.tolist() == [[-0.6, 0.6], [0.6, -0.6]] and emopia.groups == ["abc", "xyz"] and emopia.features.shape[0] == 2
    assert vgmidi.labels.tolist() == [[0.6, -0.6]] and vgmidi.groups == ["G_C_T_Boss"]
