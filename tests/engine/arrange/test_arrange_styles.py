"""Every style plays the band it promises; mood audibly shapes the arrangement; intros, endings and errors."""

from __future__ import annotations

import json

import pytest

from engine.arrange import STYLE_INSTRUMENTS, arrange, instruments_for, suggested_tempo
from tests.helpers.plans import plan_for
from engine.arrange.examples import folk_tune, ii_v_i
from engine.arrange.patterns import PATTERNS_PATH, load_patterns
from engine.arrange.styles import STYLE_SPECS
from engine.music import Meter, Note
from engine.labels import MOODS, STYLES


@pytest.mark.parametrize("style", STYLES)
def test_every_style_has_the_instruments_it_promises(style):
    arrangement = arrange(ii_v_i(bars=4), plan_for(ii_v_i(bars=4), style, "happy", 1))
    promised = STYLE_INSTRUMENTS[style]
    tracks = {inst.name: inst for inst in arrangement.midi.instruments}
    assert set(promised) <= set(tracks), f"{style} is missing {set(promised) - set(tracks)}"
    for role, inst in tracks.items():
        assert inst.notes, f"{style}: the {role} track is empty"
        expected = instruments_for(style, "happy")[role]
        assert inst.is_drum == expected.is_drum and inst.program == expected.program
        assert arrangement.parts[role] == expected.name
    assert ("Drums" in tracks) == (STYLE_SPECS[style].drums is not None)


@pytest.mark.parametrize("mood", MOODS)
def test_every_style_arranges_in_every_mood(mood):
    for style in STYLES:
        arrangement = arrange(ii_v_i(bars=4), plan_for(ii_v_i(bars=4), style, mood, 2))
        assert arrangement.duration_seconds > 0
        assert set(arrangement.parts) >= set(STYLE_INSTRUMENTS[style])


def test_classical_has_no_drums_and_folk_strums_a_guitar():
    classical = arrange(folk_tune(), plan_for(folk_tune(), "classical", "happy"))
    assert all(not i.is_drum for i in classical.midi.instruments)
    folk = arrange(folk_tune(), plan_for(folk_tune(), "folk", "happy"))
    guitar = next(i for i in folk.midi.instruments if i.name == "Guitar")
    assert "Guitar" in folk.parts["Guitar"]
    # A strum: the strings of one chord sound a few milliseconds apart, low to high on a downstroke.
    first = sorted(guitar.notes, key=lambda n: n.start)[:4]
    gaps = [b.start - a.start for a, b in zip(first, first[1:])]
    assert all(0.002 < g < 0.06 for g in gaps)
    melody = next(i for i in folk.midi.instruments if i.name == "Melody")
    assert folk.parts["Melody"] in ("Fiddle", "Flute", "Accordion", "Harmonica")
    assert melody.notes


def test_mood_shapes_dynamics_reverb_tempo_and_instruments():
    piece = ii_v_i(bars=8)
    calm, energetic = arrange(piece, plan_for(piece, "jazz", "calm")), arrange(piece, plan_for(piece, "jazz", "energetic"))

    def mean_velocity(arr):
        notes = [n for i in arr.midi.instruments for n in i.notes]
        return sum(n.velocity for n in notes) / len(notes)

    def reverb(arr):
        return max(cc.value for i in arr.midi.instruments for cc in i.control_changes if cc.number == 91)

    assert mean_velocity(calm) < mean_velocity(energetic) - 10
    assert reverb(calm) > reverb(energetic)
    assert calm.parts["Drums"] == "Brush Kit" and calm.parts["Piano"] == "Electric Piano 1"
    assert suggested_tempo("jazz", "calm") < suggested_tempo("jazz", "energetic")
    untimed = ii_v_i(bars=4, tempo=0)
    assert arrange(untimed, plan_for(untimed, "rock", "calm")).tempo < arrange(untimed, plan_for(untimed, "rock", "energetic")).tempo


def test_intro_then_melody_then_a_final_chord_together():
    piece = ii_v_i(bars=8)
    arrangement = arrange(piece, plan_for(piece, "pop", "happy"))
    intro_end = arrangement.bar_times[arrangement.intro_bars]
    melody = next(i for i in arrangement.midi.instruments if i.name == "Melody")
    assert arrangement.intro_bars >= 1
    assert min(n.start for n in melody.notes) >= intro_end - 0.05, "the band plays the intro alone"
    last_bar = arrangement.bar_times[-2]
    for inst in arrangement.midi.instruments:
        final = [n for n in inst.notes if n.start >= last_bar - 0.05]
        assert final, f"{inst.name} does not play the ending"
        assert max(n.start for n in final) - last_bar < 0.06, f"{inst.name} does not land on the final downbeat"
    assert arrangement.bar_times[-1] - arrangement.bar_times[-2] > arrangement.bar_times[1] - arrangement.bar_times[0], "ritardando"


def test_the_models_bass_line_is_used_where_the_style_takes_it():
    piece = ii_v_i(bars=4)
    piece.bass = [Note(40 + (i % 3), i * 4, 4, 90) for i in range(16)]
    pop = arrange(piece, plan_for(piece, "pop", "happy"))
    bass = sorted(next(i for i in pop.midi.instruments if i.name == "Bass").notes, key=lambda n: n.start)
    assert [n.pitch for n in bass[:6]] == [40, 41, 42, 40, 41, 42]


def test_three_four_time_and_key_are_written():
    waltz = folk_tune(meter=Meter(3, 4))
    arrangement = arrange(waltz, plan_for(waltz, "celtic", "happy"))
    ts = arrangement.midi.time_signature_changes[0]
    assert (ts.numerator, ts.denominator) == (3, 4)
    assert arrangement.midi.key_signature_changes[0].key_number == 7  # G major


def test_same_seed_same_arrangement_other_seed_differs():
    piece = ii_v_i(bars=4)

    def notes(seed):
        return [(n.pitch, round(n.start, 4)) for i in arrange(piece, plan_for(piece, "jazz", "happy", seed)).midi.instruments for n in i.notes]

    assert notes(3) == notes(3)
    assert notes(3) != notes(4)


def test_unknown_style_or_mood_names_the_choices():
    with pytest.raises(ValueError, match="Choose one of: jazz"):
        arrange(ii_v_i(bars=4), plan_for(ii_v_i(bars=4), "polka", "happy"))
    with pytest.raises(ValueError, match="Choose one of: happy"):
        arrange(ii_v_i(bars=4), plan_for(ii_v_i(bars=4), "jazz", "grumpy"))


def test_chord_symbols_follow_the_harmony():
    arrangement = arrange(ii_v_i(bars=8, tempo=120), plan_for(ii_v_i(bars=8, tempo=120), "jazz", "happy"))
    symbols = [s for _, s in arrangement.chord_symbols]
    assert symbols[:3] == ["Dm7", "G7", "Dm7"]  # two intro bars, then the piece from its start
    times = [t for t, _ in arrangement.chord_symbols]
    assert times == sorted(times)


def test_shipped_patterns_are_small_and_cover_the_styles():
    assert PATTERNS_PATH.stat().st_size < 1_000_000
    patterns = load_patterns()
    for style, spec in STYLE_SPECS.items():
        if spec.drums:
            assert patterns["drums"][spec.drums]["patterns"], style
        if spec.comp_rhythm:
            assert patterns["comping"][spec.comp_rhythm]["patterns"], style
    assert len(patterns["walking_bass"]["4feel"]) > 100
    json.dumps(patterns)  # plain data only


def test_effect_sends_follow_style_and_role():
    def sends(style, role):
        inst = next(i for i in arrange(ii_v_i(bars=4), plan_for(ii_v_i(bars=4), style, "calm")).midi.instruments if i.name == role)
        return {cc.number: cc.value for cc in inst.control_changes}

    assert sends("ambient", "Melody")[91] > sends("pop", "Melody")[91] > sends("rock", "Melody")[91]
    assert sends("jazz", "Bass")[93] == 0 and sends("jazz", "Drums")[93] == 0, "no chorus on bass and drums"
    assert sends("jazz", "Piano")[93] > 0


@pytest.mark.parametrize("style", ["rock", "jazz", "lofi"])
def test_a_learned_fill_leads_into_the_melody(style):
    arrangement = arrange(ii_v_i(bars=8, tempo=120), plan_for(ii_v_i(bars=8, tempo=120), style, "happy", 5))
    drums = next(i for i in arrangement.midi.instruments if i.name == "Drums")
    melody_in = arrangement.bar_times[arrangement.intro_bars]
    beat = 60 / arrangement.tempo
    fill = [n for n in drums.notes if melody_in - 2 * beat - 0.08 <= n.start < melody_in - 0.03]  # learned timing may lead
    snares_and_toms = [n for n in fill if n.pitch in (37, 38, 40, 41, 43, 45, 47, 48, 50)]
    assert len(snares_and_toms) >= 3, f"no fill before the melody enters: {[(round(n.start, 2), n.pitch) for n in fill]}"
    assert any(n.pitch == 49 and abs(n.start - melody_in) < 0.05 for n in drums.notes), "a crash marks the melody's entrance"
