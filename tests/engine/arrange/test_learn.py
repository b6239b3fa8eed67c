"""engine/arrange/learn.py: Impro-Visor rules to patterns on the 16th grid, drum names to General MIDI, the
swing grid, and (where the shared data sets are present) the shipped patterns.json reproduced from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.arrange import learn
from engine.arrange.learn import PATTERNS_PATH, MissingTrainingData, learn_clave_comping, learn_sty_patterns, write_patterns
from tests.helpers.data_pieces import SHARED_DATA

STYLE_FILE = """
(swing 0.6)
(comp-swing 0.67)
(bass-pattern (rules B4 (X 5 8) A8) (weight 10))
(bass-pattern (rules B8/3 B4) (weight 1))
(chord-pattern (rules X2 R4 V80 X4) (weight 5))
(drum-pattern
    (drum Claves X4 X8 X8 X4 X4)
    (drum Acoustic_Bass_Drum X2)
    (weight 3))
"""


@pytest.fixture
def style_file(tmp_path: Path) -> Path:
    path = tmp_path / "test-style.sty"
    path.write_text(STYLE_FILE)
    return path


def test_durations_are_read_in_sixteenth_steps() -> None:
    assert learn._duration_steps("4") == 4 and learn._duration_steps("8.") == 3
    assert learn._duration_steps("4+8") == 6 and learn._duration_steps("8/3") == pytest.approx(4 / 3)
    with pytest.raises(ValueError):
        learn._duration_steps("quarter")


def test_bass_patterns_keep_rules_on_the_grid_and_drop_triplets(style_file: Path) -> None:
    bass = learn_sty_patterns(style_file, "bass")
    assert bass["source"] == "impro-visor/styles/test-style.sty" and bass["swing"] == 0.6
    # B4 (X 5 8) A8: the root for a quarter, the fifth for an eighth, an approach note; the triplet pattern is off the grid.
    assert bass["patterns"] == [{"weight": 10.0, "length": 8, "events": [["B", 0, 4, 100, None], ["X", 4, 2, 100, "5"], ["A", 6, 2, 100, None]]}]


def test_comping_rests_take_time_and_velocity_carries_on(style_file: Path) -> None:
    comping = learn_sty_patterns(style_file, "chord")
    assert comping["swing"] == 0.67
    assert comping["patterns"] == [{"weight": 5.0, "length": 16, "events": [["X", 0, 8, 100, None], ["X", 12, 4, 80, None]]}]


def test_drum_lines_are_named_general_midi_drums_and_the_claves_become_comping(style_file: Path) -> None:
    [drums] = learn_sty_patterns(style_file, "drum")["patterns"]
    assert drums["weight"] == 3.0 and drums["length"] == 16
    assert {pitch for _, pitch, _, _ in drums["hits"]} == {learn.CLAVES, 35}
    [claves] = learn_clave_comping(style_file)["patterns"]
    assert claves["length"] == 16
    assert [(e[1], e[2]) for e in claves["events"]] == [(0, 4), (4, 2), (6, 2), (8, 4), (12, 4)]


def test_the_swing_grid_snaps_an_off_beat_to_the_swung_eighth() -> None:
    assert learn._quantise(1.5, swung=False) == (6, 0.0)
    step, offset = learn._quantise(1.64, swung=True)
    assert step == 6 and offset == pytest.approx(1.64 - 1 - learn.SWING_RATIO_GUESS)


def test_missing_training_data_is_named(tmp_path: Path) -> None:
    with pytest.raises(MissingTrainingData, match=f"No training data at {tmp_path}"):
        write_patterns(tmp_path, tmp_path / "patterns.json", tmp_path / "performance.json")


@pytest.mark.skipif(not (SHARED_DATA / "impro-visor" / "styles").is_dir(), reason="the shared data sets are not here")
def test_the_shipped_bass_and_comping_come_from_the_style_files() -> None:
    shipped = json.loads(PATTERNS_PATH.read_text())
    styles = SHARED_DATA / "impro-visor" / "styles"
    for style, names in learn.IMPRO_BASS.items():
        learned = learn._merge([learn_sty_patterns(styles / f"{name}.sty", "bass") for name in names])
        assert learned == shipped["bass"][style]
    assert learn_clave_comping(styles / "bossa.sty") == shipped["comping"]["latin"]


def _pop909_song(folder: Path, name: str, strikes: list[float], singles: list[float], bars: int = 4) -> None:
    """A POP909-shaped song: NAME/NAME.mid with a PIANO track repeating one bar of 2 s, and beat_midi.txt."""
    import pretty_midi

    song = folder / name
    song.mkdir(parents=True)
    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(0, name="PIANO")
    for bar in range(bars):
        for beat in strikes:
            piano.notes += [pretty_midi.Note(80, p, bar * 2 + beat * 0.5, bar * 2 + beat * 0.5 + 0.2) for p in (60, 64, 67)]
        for beat in singles:
            piano.notes.append(pretty_midi.Note(60, 72, bar * 2 + beat * 0.5, bar * 2 + beat * 0.5 + 0.2))
    pm.instruments.append(piano)
    pm.write(str(song / f"{name}.mid"))
    beats = [f"{i * 0.5} {1.0 if i % 2 == 0 else 0.0} {1.0 if i % 4 == 0 else 0.0}" for i in range(bars * 4 + 1)]
    (song / "beat_midi.txt").write_text("\n".join(beats) + "\n")


def test_pop909_piano_rhythms_are_learned_from_the_train_split_only(tmp_path: Path) -> None:
    from engine.data.build import split_of

    names = [f"{i:03d}" for i in range(1, 200)]
    train = next(n for n in names if split_of(f"pop909:{n}") == 0)
    test = next(n for n in names if split_of(f"pop909:{n}") == 2)
    _pop909_song(tmp_path, train, strikes=[0, 2], singles=[1, 3])  # chords on beats 1 and 3, single notes between
    _pop909_song(tmp_path, test, strikes=[0, 1, 2, 3], singles=[])
    learned = learn.learn_pop909_comping(tmp_path)
    assert learned["source"] == "pop909 PIANO tracks, train split: 4 bars of 1 songs"
    [pattern] = learned["patterns"]
    assert pattern["weight"] == 4.0 and pattern["length"] == 16
    assert [(kind, step) for kind, step, *_ in pattern["events"]] == [("X", 0), ("A", 4), ("X", 8), ("A", 12)]
    # Against the mean of all the piano's notes: (6 × 80 + 2 × 60) / 8 = 75.
    assert [velocity for *_, velocity, _ in pattern["events"]] == [107, 80, 107, 80]


@pytest.mark.skipif(not (SHARED_DATA / "groove-midi").is_dir(), reason="the shared data sets are not here")
def test_jazz_grooves_are_learned_from_groove_midi_swing_beats_keyed_on_the_ride() -> None:
    # Jazz drummers comp on kick and snare bar by bar: the groove is the ride's time, the comping its variants.
    learned = learn.learn_groove_drums(SHARED_DATA / "groove-midi", styles=["jazz"])["jazz"]
    assert learned == json.loads(PATTERNS_PATH.read_text())["drums"]["jazz"]
    assert learned["source"].startswith("groove-midi: jazz/swing") and learned["swing"] is not None
    for pattern in learned["patterns"]:
        ride_beats = {step for step, drum, *_ in pattern["hits"] if drum in learn.RIDES and step % 4 == 0}
        assert ride_beats == {0, 4, 8, 12}
        assert 4 in {step for step, drum, *_ in pattern["hits"] if drum == 44}, "hi-hat pedal on 2"
    assert {step for step, drum, *_ in learned["patterns"][0]["hits"] if drum == 44} == {4, 12}, "most often on 2 and 4"
    comping = {tuple(sorted((s, d) for s, d, *_ in v["hits"] if d in (36, 38))) for p in learned["patterns"] for v in p["variants"]}
    assert len(comping) >= 40, "kick and snare comp differently from bar to bar"
