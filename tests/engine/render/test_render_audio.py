"""Audio: not silent, as long as the MIDI, at the mood's loudness with peaks under -1 dBFS, and the same audio
for the same arrangement whatever was rendered before it."""

from __future__ import annotations

import io
import pickle
import sys

import numpy as np
import pytest
from pydub import AudioSegment

from engine.arrange import arrange
from engine.arrange.examples import folk_tune, ii_v_i
from engine.render import AudioRenderer, RenderDependencyError, encode_mp3, render_track
from engine.render.loudness import CEILING_DBFS, limit, loudness_lufs, normalise, peak_dbfs, target_lufs
from engine.render.mp3 import UploadTooLargeError
from tests.helpers.plans import plan_of

SR = 44100


@pytest.fixture(scope="module")
def renderer():
    return AudioRenderer()


@pytest.fixture(scope="module")
def jazz_track(renderer):
    return render_track(ii_v_i(bars=8, tempo=140), plan_of(ii_v_i(bars=8, tempo=140), "jazz", "happy", 1), renderer)


@pytest.fixture(scope="module")
def jazz_audio(renderer, jazz_track):
    return renderer.render(jazz_track.arrangement)


def test_audio_is_stereo_and_not_silent(jazz_audio):
    assert jazz_audio.dtype == np.float32 and jazz_audio.ndim == 2 and jazz_audio.shape[1] == 2
    rms = float(np.sqrt(np.mean(np.square(jazz_audio))))
    assert rms > 0.02
    # Every second of the piece has sound in it (no dropouts), until the fade at the very end.
    seconds = jazz_audio[: len(jazz_audio) // SR * SR].reshape(-1, SR, 2)
    assert (np.abs(seconds[:-1]).max(axis=(1, 2)) > 0.01).all()


def test_duration_within_five_percent_of_the_midi(jazz_track, jazz_audio):
    midi_seconds = jazz_track.arrangement.midi.get_end_time()
    assert len(jazz_audio) / SR == pytest.approx(midi_seconds, rel=0.05)
    assert jazz_track.duration_seconds == pytest.approx(midi_seconds, rel=0.05)


def test_loudness_target_and_peak_ceiling(jazz_audio):
    assert loudness_lufs(jazz_audio, SR) == pytest.approx(target_lufs("happy"), abs=1.0)
    assert peak_dbfs(jazz_audio) <= CEILING_DBFS + 1e-3


@pytest.mark.parametrize("style", ["rock", "jazz"])
def test_loudness_keeps_the_moods_apart(renderer, style):
    """The same piece arranged calm and energetic: after normalisation calm is still clearly quieter, and
    the louder energetic target still keeps its peaks under the ceiling."""
    piece = ii_v_i(bars=8, tempo=120)
    calm = renderer.render(arrange(piece, plan_of(piece, style, "calm", 2)))
    energetic = renderer.render(arrange(piece, plan_of(piece, style, "energetic", 2)))
    calm_lufs, energetic_lufs = loudness_lufs(calm, SR), loudness_lufs(energetic, SR)
    assert energetic_lufs - calm_lufs >= 3.0, f"calm {calm_lufs:.1f} LUFS, energetic {energetic_lufs:.1f} LUFS"
    assert calm_lufs == pytest.approx(target_lufs("calm"), abs=0.5)
    assert energetic_lufs == pytest.approx(target_lufs("energetic"), abs=0.5)
    assert max(peak_dbfs(calm), peak_dbfs(energetic)) <= CEILING_DBFS + 1e-3


def test_every_mood_has_a_target_ordered_by_arousal():
    from engine.labels import MOODS

    by_arousal = sorted(MOODS, key=lambda m: MOODS[m].arousal)
    targets = [target_lufs(m) for m in by_arousal]
    assert targets == sorted(targets) and targets[0] < targets[-1]
    assert target_lufs(None) == target_lufs("no such mood") == pytest.approx(-16.0)


def test_limiter_holds_the_ceiling_on_a_loud_spiky_signal():
    rng = np.random.default_rng(0)
    t = np.arange(SR * 3) / SR
    signal = 0.05 * np.sin(2 * np.pi * 220 * t)
    signal[::SR // 4] += 0.9  # clicks far above the rest
    audio = np.stack([signal, signal * 0.8], 1).astype(np.float32) + rng.normal(0, 0.001, (len(t), 2)).astype(np.float32)
    out = normalise(audio, SR)
    assert peak_dbfs(out) <= CEILING_DBFS + 1e-3
    assert loudness_lufs(out, SR) == pytest.approx(-16.0, abs=1.0)
    quiet = np.full((SR, 2), 0.5, dtype=np.float32)
    assert np.array_equal(limit(quiet, SR), quiet), "audio under the ceiling is left alone"


def test_mp3_decodes_as_stereo_44k1_of_the_right_length(jazz_track):
    decoded = AudioSegment.from_file(io.BytesIO(jazz_track.mp3), format="mp3")
    assert decoded.channels == 2 and decoded.frame_rate == 44100
    assert decoded.duration_seconds == pytest.approx(jazz_track.arrangement.midi.get_end_time(), rel=0.05)
    assert decoded.rms > 0


def test_mp3_bitrate_drops_to_fit_the_cap_and_says_when_it_cannot(jazz_audio):
    seconds = len(jazz_audio) / SR
    full = encode_mp3(jazz_audio, SR)
    cap = int(seconds * 100_000 / 8)  # room for about 96 kbps, not for 192
    capped = encode_mp3(jazz_audio, SR, cap_bytes=cap)
    assert len(capped) <= cap < len(full)
    with pytest.raises(UploadTooLargeError, match="upload cap"):
        encode_mp3(jazz_audio, SR, cap_bytes=10_000)


def test_the_same_arrangement_gives_the_same_audio_in_any_order(renderer):
    """X, then Y, then X again in one renderer: both X renders are byte-identical, and identical to X in a
    fresh renderer (no reverb tail, chorus phase or voice state carried over from the piece before)."""
    x = arrange(folk_tune(bars=4), plan_of(folk_tune(bars=4), "folk", "happy", 3))
    y = arrange(ii_v_i(bars=4), plan_of(ii_v_i(bars=4), "jazz", "energetic", 3))
    first = renderer.render(x)
    renderer.render(y)
    again = renderer.render(x)
    fresh = AudioRenderer().render(x)
    assert first.tobytes() == again.tobytes(), "the piece rendered before changed the audio"
    assert first.tobytes() == fresh.tobytes(), "a renderer that has played differs from a fresh one"


def test_renderer_survives_pickling_for_worker_processes(renderer):
    clone = pickle.loads(pickle.dumps(renderer))
    audio = clone.render(arrange(ii_v_i(bars=4), plan_of(ii_v_i(bars=4), "latin", "calm", 0)))
    assert audio.shape[1] == 2 and np.abs(audio).max() > 0.05


def test_rendered_track_pickles_with_its_timings(jazz_track):
    restored = pickle.loads(pickle.dumps(jazz_track))
    assert restored.mp3 == jazz_track.mp3
    assert set(jazz_track.timings.as_dict()) == {"arrange", "render", "encode", "picture"}
    assert all(v >= 0 for v in jazz_track.timings.as_dict().values())


def test_missing_soundfont_is_a_clear_error(tmp_path):
    with pytest.raises(RenderDependencyError, match="fluid-soundfont-gm"):
        AudioRenderer(tmp_path / "missing.sf2")
    broken = tmp_path / "broken.sf2"
    broken.write_bytes(b"not a soundfont")
    with pytest.raises(RenderDependencyError, match="could not load"):
        AudioRenderer(broken)


def test_render_track_plays_the_plans_style_and_mood_and_titles_the_picture_by_it(renderer):
    piece = folk_tune(bars=4)
    plan = plan_of(piece, "folk", "sad")
    track = render_track(piece, plan, renderer)
    assert (track.arrangement.style, track.arrangement.mood) == ("folk", "sad")
    assert plan.title == f"Sad folk in {piece.key.name}" and track.png


def test_render_track_reports_an_mp3_that_cannot_fit(renderer):
    with pytest.raises(UploadTooLargeError, match="upload cap"):
        render_track(ii_v_i(bars=4), plan_of(ii_v_i(bars=4), "pop", "happy"), renderer, cap_bytes=5_000)


def test_missing_fluidsynth_library_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "fluidsynth", None)  # how a machine without libfluidsynth looks to import
    with pytest.raises(RenderDependencyError, match="apt-get install libfluidsynth3"):
        AudioRenderer()


@pytest.mark.parametrize("style, mood", [("jazz", "calm"), ("game", "happy")])
def test_the_melody_leads_the_mix(renderer, style, mood):
    """Calibrated track volumes: alone, each accompanying part is clearly quieter than the melody alone."""
    arrangement = arrange(ii_v_i(bars=4), plan_of(ii_v_i(bars=4), style, mood, 0))
    band = arrangement.midi.instruments
    level = {}
    try:
        for inst in band:
            arrangement.midi.instruments = [inst]
            level[inst.name] = loudness_lufs(renderer.render_raw(arrangement), SR)
    finally:
        arrangement.midi.instruments = band
    for role, lufs in level.items():
        if role != "Melody":
            assert level["Melody"] - lufs >= 3.0, f"{role} at {lufs:.1f} LUFS against the melody's {level['Melody']:.1f}"


