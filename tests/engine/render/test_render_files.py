"""The MIDI file opens cleanly with named tracks and metadata; the piano roll is a valid, readable image; the
dependency check names each missing piece and its fix."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import mido
import pretty_midi
import pytest
from PIL import Image

from engine.arrange import arrange
from engine.arrange.examples import folk_tune, ii_v_i
from engine.render import check_render_dependencies, default_soundfont, piano_roll_png, render_midi_bytes
from engine.render import dependencies
from tests.helpers.plans import plan_of


@pytest.fixture(scope="module")
def jazz():
    return arrange(ii_v_i(bars=8, tempo=140), plan_of(ii_v_i(bars=8, tempo=140), "jazz", "happy", 1))


def test_midi_tracks_are_named_by_role_and_carry_instrument_tempo_key_meter(jazz):
    data = render_midi_bytes(jazz)
    midi = mido.MidiFile(file=io.BytesIO(data))
    assert midi.type == 1
    names = {m.name for t in midi.tracks for m in t if m.type == "track_name"}
    assert {"Melody", "Piano", "Bass", "Drums"} <= names
    meta = {m.type: m for t in midi.tracks for m in t if m.is_meta}
    assert mido.tempo2bpm(meta["set_tempo"].tempo) == pytest.approx(140, abs=0.01)
    assert meta["key_signature"].key == "C"
    assert (meta["time_signature"].numerator, meta["time_signature"].denominator) == (4, 4)
    programs = {}
    for track in midi.tracks:
        name = next((m.name for m in track if m.type == "track_name"), None)
        program = next((m for m in track if m.type == "program_change"), None)
        if name in jazz.parts:
            assert program is not None, f"{name} has no program change"
            programs[name] = (program.channel, program.program)
    assert programs["Melody"][1] == pretty_midi.instrument_name_to_program("Tenor Sax")
    assert programs["Drums"][0] == 9
    texts = [m.text for t in midi.tracks for m in t if m.type == "text"]
    assert texts[:4] == ["Dm7", "G7", "Dm7", "G7"], "chord symbols are written as text events"
    reread = pretty_midi.PrettyMIDI(io.BytesIO(data))
    assert reread.get_end_time() == pytest.approx(jazz.duration_seconds, abs=0.05)


def test_piano_roll_is_a_valid_png_at_embed_size(jazz):
    png = piano_roll_png(jazz, "Happy jazz in C")
    image = Image.open(io.BytesIO(png))
    image.verify()
    assert image.format == "PNG" and image.size == (800, 450)
    pixels = Image.open(io.BytesIO(png)).convert("RGB")
    colours = set(pixels.getdata())
    assert len(colours) > 20, "notes, lines and text are drawn"


def test_piano_roll_of_a_drumless_style():
    arrangement = arrange(folk_tune(bars=4), plan_of(folk_tune(bars=4), "classical", "sad", 0))
    image = Image.open(io.BytesIO(piano_roll_png(arrangement, "Sad classical")))
    assert image.size == (800, 450)


def test_default_soundfont_is_the_best_installed():
    fluid_r3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
    expected = fluid_r3 if fluid_r3.is_file() else Path(pretty_midi.__file__).with_name("TimGM6mb.sf2")
    assert default_soundfont() == expected
    assert default_soundfont().is_file()


def test_dependency_check_is_empty_when_all_is_installed():
    assert check_render_dependencies(None) == []


def test_dependency_check_names_each_missing_piece_and_its_fix(tmp_path, monkeypatch):
    problems = check_render_dependencies(tmp_path / "nope.sf2")
    assert len(problems) == 1 and "nope.sf2" in problems[0] and "apt-get install fluid-soundfont-gm" in problems[0]
    monkeypatch.setattr(dependencies.shutil, "which", lambda name: None)
    problems = check_render_dependencies(None)
    assert any("ffmpeg" in p and "apt-get install ffmpeg" in p for p in problems)
    monkeypatch.setitem(sys.modules, "fluidsynth", None)  # what a machine without libfluidsynth looks like to import
    assert any("apt-get install libfluidsynth3" in p for p in check_render_dependencies(None))
