"""engine/render/calibrate.py: each part's volume is set from its measured loudness so the parts sit at
ROLE_LEVELS relative to the melody, whatever the instrument's own loudness. A stand-in renderer plays each
track as a tone whose loudness is its own offset attenuated by its CC7 volume, as FluidSynth attenuates."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.arrange.arranger import CHORD_LEVEL, ROLE_LEVELS
from engine.render import calibrate

SAMPLE_RATE = 22050
# How much louder than the melody each part's instrument is at full volume (dB): the calibration must undo it.
INSTRUMENT_LOUDNESS = {"Melody": 0.0, "Bass": 8.0, "Drums": -4.0}


class ToneRenderer:
    sample_rate = SAMPLE_RATE

    def render_raw(self, arrangement) -> np.ndarray:
        [inst] = arrangement.midi.instruments
        cc7 = next(cc.value for cc in inst.control_changes if cc.number == 7)
        db = INSTRUMENT_LOUDNESS.get(inst.name, 3.0) + calibrate._db(cc7) - 20
        t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
        tone = (10 ** (db / 20) * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
        return np.stack([tone, tone], axis=1)


@pytest.fixture
def one_style(monkeypatch):
    monkeypatch.setattr(calibrate, "STYLES", ("jazz",))
    monkeypatch.setattr(calibrate, "MOODS", ("calm",))


def test_cc7_and_decibels_convert_both_ways_within_the_volume_range() -> None:
    assert calibrate._db(127) == 0.0
    assert calibrate._cc7(calibrate._db(90)) == 90
    assert calibrate._cc7(-100.0) == calibrate.CC7_MIN and calibrate._cc7(6.0) == calibrate.CC7_MAX


def test_parts_are_set_to_their_role_levels_below_the_melody(one_style) -> None:
    levels = calibrate.calibrate(ToneRenderer())
    parts = levels["jazz"]["calm"]
    assert "Melody" in parts and max(parts.values()) == calibrate.CC7_MAX  # the loudest wanted part gets full volume
    melody_db = calibrate._db(parts["Melody"])
    for role, cc7 in parts.items():
        wanted = ROLE_LEVELS.get(role, CHORD_LEVEL) - INSTRUMENT_LOUDNESS.get(role, 3.0)
        if cc7 > calibrate.CC7_MIN:  # a part clamped at the bottom of the range cannot go quieter
            assert calibrate._db(cc7) - melody_db == pytest.approx(wanted, abs=0.6), role


def test_write_levels_writes_the_file_the_arranger_reads(one_style, monkeypatch, tmp_path, capsys) -> None:
    target = tmp_path / "levels.json"
    monkeypatch.setattr(calibrate, "LEVELS_PATH", target)
    monkeypatch.setattr(calibrate, "AudioRenderer", ToneRenderer)
    calibrate.write_levels()
    assert json.loads(target.read_text()).keys() == {"jazz"}
    assert f"wrote {target}" in capsys.readouterr().out
