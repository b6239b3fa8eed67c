from dataclasses import replace

import numpy as np
import pytest

from engine.checkpoint import CorpusStats
from engine.evaluation.novelty import NoveltyIndex, token_melody
from engine.generate.assemble import apply_form
from engine.generate import COPY_BARS, MAX_NOVELTY_ATTEMPTS, Composer, finish, make_plan, resolve_request
from engine.music import Chord, Key, Meter, Note, Piece
from engine.postprocess import STYLE_RULES, empty_bars, postprocess_tokens
from engine.request import ComposeRequest, EngineInputError
from engine.tokens import decode
from engine.labels import MOODS
from tests.helpers.reference import clamp_ranges


def _same(a: Piece, b: Piece) -> bool:
    return (a.melody, a.harmony, a.bass, a.drums, a.key, a.tempo) == (b.melody, b.harmony, b.bass, b.drums, b.key, b.tempo)


def test_generation_is_deterministic_per_seed(composer):
    req = ComposeRequest(style="jazz", mood="calm", seed=11)
    a = composer.generate([req])[0]
    b = composer.generate([req])[0]
    assert _same(a.piece, b.piece) and np.array_equal(a.latent, b.latent)
    c = composer.generate([ComposeRequest(style="jazz", mood="calm", seed=12)])[0]
    assert not _same(a.piece, c.piece)


def test_a_request_gives_the_same_piece_alone_or_in_a_batch(composer):
    req = ComposeRequest(style="folk", mood="happy", seed=5)
    alone = composer.generate([req])[0]
    batch = composer.generate([ComposeRequest(style="jazz", seed=1), req, ComposeRequest(style="classical", bars=16, seed=2)])
    assert _same(alone.piece, batch[1].piece)


@pytest.mark.parametrize(
    "style,mood,key,tempo,bars",
    [("jazz", "calm", "Eb", 90, 8), ("folk", "happy", "G", 132, 4), ("classical", "sad", "F#m", 60, 12), ("lofi", "dreamy", "Bbm", 72, 32),
     ("ambient", "dark", "D", 200, 16)],
)
def test_requested_style_mood_key_tempo_and_bars_show_in_the_output(composer, style, mood, key, tempo, bars):
    [c] = composer.generate([ComposeRequest(style=style, mood=mood, key=key, tempo=tempo, bars=bars, seed=3)])
    p = c.piece
    assert (c.plan.style, c.plan.mood.name, p.key, p.tempo, p.bars) == (style, mood, Key.parse(key), tempo, bars)
    assert c.plan.key.name == key  # spelled as asked (F#m, not Gbm)
    assert c.request.seed == 3 and c.model_version == composer.model_version
    # post-processing: every bar sounds, the last chord is the tonic, the last note is a tonic-chord tone held to the end
    assert empty_bars(p) == []
    last = p.harmony[-1]
    final = STYLE_RULES[style].final_chord[int(p.key.mode == "minor")]
    assert last.root == p.key.tonic and last.quality == final and last.end == p.total_steps
    final = max(p.melody, key=lambda n: n.start)
    assert final.end == p.total_steps and final.pitch % 12 in last.pitch_classes()
    assert all(n.start + n.duration <= p.total_steps for n in p.melody + p.bass)
    assert all(55 <= n.pitch <= 88 for n in p.melody) and all(28 <= n.pitch <= 55 for n in p.bass)
    # every melody note is in the key, a chord tone, or one of the style's blue notes
    scale = set(p.key.scale) | {(p.key.tonic + 11) % 12}
    blue = {(p.key.tonic + i) % 12 for i in (3, 6, 10)} if STYLE_RULES[style].blue_notes else set()
    for n in p.melody:
        assert n.pitch % 12 in scale | blue | set(p.chord_at(n.start).pitch_classes()), n


def test_open_fields_are_resolved_from_the_seed_and_reported(composer):
    [c] = composer.generate([ComposeRequest(seed=21)])
    r = c.request
    assert r.style in composer.supported_styles() and r.mood and r.key and 40 <= r.tempo <= 240 and r.seed == 21
    [again] = composer.generate([ComposeRequest(seed=21)])
    assert again.request == r
    [drawn] = composer.generate([ComposeRequest(style="jazz")])
    assert drawn.request.seed is not None


def test_prompt_text_chooses_style_mood_and_tempo():
    r = resolve_request(ComposeRequest(prompt="rainy night in Tokyo", seed=1))
    assert (r.style, r.mood) == ("lofi", "dreamy") and r.tempo < 80
    explicit = resolve_request(ComposeRequest(prompt="rainy night in Tokyo", style="rock", seed=1))
    assert explicit.style == "rock"


@pytest.mark.parametrize(
    "request_,words",
    [
        (ComposeRequest(style="polka"), ["jazz", "ambient"]),
        (ComposeRequest(mood="furious"), ["happy", "dark"]),
        (ComposeRequest(bars=3), ["4", "32"]),
        (ComposeRequest(bars=33), ["4", "32"]),
        (ComposeRequest(tempo=30), ["40", "240"]),
        (ComposeRequest(tempo=241), ["40", "240"]),
        (ComposeRequest(key="H"), ["C", "Eb"]),
        (ComposeRequest(sampler="diffusion"), ["gan", "prior"]),
    ],
)
def test_bad_requests_name_the_allowed_values(composer, request_, words):
    with pytest.raises(EngineInputError) as err:
        composer.generate([request_])
    assert all(w in str(err.value) for w in words)


def test_the_prior_sampler_works_and_differs_from_the_gan(composer):
    gan = composer.generate([ComposeRequest(style="jazz", seed=4)])[0]
    prior = composer.generate([ComposeRequest(style="jazz", seed=4, sampler="prior")])[0]
    assert prior.request.sampler == "prior" and not np.allclose(gan.latent, prior.latent)


def test_variation_interpolation_restyle_remood_and_continuation(composer):
    [parent] = composer.generate([ComposeRequest(style="jazz", mood="happy", key="F", bars=16, seed=8)])
    same = composer.variation(parent, ComposeRequest(seed=1), strength=0.0)
    assert np.allclose(same.latent, parent.latent) and same.request.style == "jazz" and same.piece.key == Key.parse("F")
    near, far = composer.variation(parent, ComposeRequest(seed=1), 0.2), composer.variation(parent, ComposeRequest(seed=1), 0.9)
    assert np.linalg.norm(near.latent - parent.latent) < np.linalg.norm(far.latent - parent.latent)
    with pytest.raises(EngineInputError):
        composer.variation(parent, strength=1.5)

    [other] = composer.generate([ComposeRequest(style="folk", mood="sad", seed=9)])
    path = composer.interpolate(parent, other, 4)
    assert len(path) == 4 and np.allclose(path[0].latent, parent.latent, atol=1e-5) and np.allclose(path[-1].latent, other.latent, atol=1e-5)
    assert path[0].request.style == "jazz" and path[-1].request.style == "folk"

    restyled = composer.restyle(parent.piece, "classical", ComposeRequest(seed=2))
    assert restyled.plan.style == "classical" and restyled.piece.bars == 16 and restyled.piece.key == parent.piece.key
    remooded = composer.remood(parent.piece, "melancholic", ComposeRequest(seed=2))
    assert remooded.plan.mood.name == "sad" and remooded.piece.key == Key(parent.piece.key.tonic, "minor")

    cont = composer.continue_piece(parent.piece, 8, ComposeRequest(seed=3))
    assert cont.piece.bars == 24 and cont.piece.key == parent.piece.key
    assert cont.piece.melody[: len(parent.piece.melody)] == parent.piece.melody
    assert all(n.start >= parent.piece.total_steps for n in cont.piece.melody[len(parent.piece.melody):])
    assert composer.encode(parent.piece).shape == parent.latent.shape


def test_broken_fragments_are_refused_clearly(composer):
    waltz = Piece(bars=4, meter=Meter(3, 4), melody=[Note(60, 0, 4)])
    with pytest.raises(EngineInputError, match="4/4"):
        composer.continue_piece(waltz, 8)
    with pytest.raises(EngineInputError, match="no melody"):
        composer.continue_piece(Piece(bars=4, harmony=[Chord(0, "maj", 0, 16)]), 8)
    with pytest.raises(EngineInputError, match="MIDI"):
        composer.continue_piece(b"not a midi file", 8)
    with pytest.raises(EngineInputError, match="4 and 32"):
        composer.continue_piece(Piece(bars=4, melody=[Note(60, 0, 4)]), 40)


class _FlagSome:
    """A novelty checker that reports copying for the first `flagged` checks."""

    def __init__(self, flagged: int):
        self.flagged, self.calls = flagged, 0

    def longest_shared_bars(self, piece):
        self.calls += 1
        return COPY_BARS if self.calls <= self.flagged else 0


def test_copies_of_training_melodies_are_resampled(composer):
    req = ComposeRequest(style="jazz", mood="calm", seed=31)
    plain = composer.generate([req])[0]
    checker = _FlagSome(flagged=1)
    checked = Composer(composer.model, composer.styles, composer.model_version, "cpu", novelty=checker)
    [resampled] = checked.generate([req])
    assert checker.calls == 2 and not np.array_equal(resampled.latent, plain.latent)
    assert resampled.request.seed == 31  # the user's seed is kept; retries use seeds derived from it
    [again] = Composer(composer.model, composer.styles, composer.model_version, "cpu", novelty=_FlagSome(1)).generate([req])
    assert _same(again.piece, resampled.piece)
    always = _FlagSome(flagged=10**6)
    Composer(composer.model, composer.styles, composer.model_version, "cpu", novelty=always).generate([req])
    assert always.calls == MAX_NOVELTY_ATTEMPTS  # bounded retries


def test_tracks_missing_from_the_training_data_come_back_empty(composer, tiny_cache):
    from engine.train import corpus_stats

    req = ComposeRequest(style="folk", seed=6)
    assert composer.generate([req])[0].piece.drums  # the synthetic corpus has drums, so the model writes them
    no_drums = tiny_cache.subset(np.ones(len(tiny_cache), dtype=bool))
    no_drums.has_drums[:] = False
    stats = corpus_stats(no_drums)
    assert stats.track_rates["drums"] == 0.0 and stats.track_rates["bass"] > 0
    plain = Composer(composer.model, composer.styles, composer.model_version, "cpu", stats=stats)
    [c] = plain.generate([req])
    assert c.piece.drums == [] and c.piece.bass and c.piece.melody


def test_worker_processes_give_the_same_pieces(composer):
    reqs = [ComposeRequest(style="jazz", mood="sad", seed=i, bars=12) for i in range(12)]
    serial = composer.generate(reqs)
    pooled = Composer(composer.model, composer.styles, composer.model_version, "cpu", stats=composer.stats, workers=2).generate(reqs)
    assert all(_same(a.piece, b.piece) for a, b in zip(serial, pooled))


def test_finishing_matches_decode_transpose_clamp_and_the_piece_check(composer):
    """finish builds the piece straight from the tokens and checks novelty on the tokens; it must give what
    decoding, transposing, clamping and checking the finished piece give."""
    keys = ["C", "Eb", "F#m", "B", "Gb", "Am", "C#m", "E", "Bbm", "G", "Dm", "Ab"]
    plans = [make_plan(ComposeRequest(style=s, mood="dark" if i % 2 else "happy", key=keys[i % 12], bars=(4, 8, 12, 16, 32)[i % 5], seed=i))
             for i, s in enumerate(["jazz", "folk", "classical", "lofi", "ambient"] * 5)]
    jobs = composer.jobs_for(plans, composer.sample_latents(plans, [p.seed for p in plans]))
    tracks = composer._decode_jobs(jobs)

    def done_of(t, plan):
        return apply_form(postprocess_tokens(t, plan.style, harmony=np.asarray(plan.harmony)), plan)

    # An index of every other piece's post-processed melody, so that both copies and fresh pieces are checked.
    index = NoveltyIndex.build((i, *token_melody(done_of(t, p).melody)) for i, (t, p) in enumerate(zip(tracks[::2], plans[::2])))
    decisions = []
    for t, plan in zip(tracks, plans):
        piece, copied = finish(t, plan, "v/1", index)
        done = done_of(t, plan)
        key = plan.key
        plain = decode(done.melody, done.chords, done.bass, done.drums, mode=done.mode, tempo=float(plan.tempo))
        plain = clamp_ranges(plain.transposed(key.tonic if key.tonic <= 6 else key.tonic - 12))
        plain = replace(plain, key=key, source="generated", name="v/1")
        assert repr(piece) == repr(plain)  # repr: a numpy integer in place of an int would compare equal
        assert copied == (index.longest_shared_bars(plain) >= COPY_BARS)
        decisions.append(copied)
    assert any(decisions) and not all(decisions)


def test_mood_statistics_per_style_come_from_the_training_split(tiny_cache):
    from engine.train import corpus_stats

    stats = corpus_stats(tiny_cache).mood_by_style
    train = tiny_cache.split_mask("train")
    for k, style in enumerate(tiny_cache.styles):
        rows = train & (tiny_cache.style == k)
        if rows.sum() < 2:
            assert style not in stats
            continue
        assert stats[style]["valence"] == pytest.approx([tiny_cache.valence[rows].mean(), tiny_cache.valence[rows].std()], abs=1e-4)
        assert stats[style]["arousal"] == pytest.approx([tiny_cache.arousal[rows].mean(), tiny_cache.arousal[rows].std()], abs=1e-4)


def test_the_model_is_told_moods_inside_the_styles_range_in_the_same_order(composer):
    from engine.generate import MOOD_SPREAD

    # A style whose data is all calm and a little sad: valence -0.1 ± 0.2, arousal -0.6 ± 0.1.
    stats = CorpusStats(mood_by_style={"classical": {"valence": [-0.1, 0.2], "arousal": [-0.6, 0.1]}})
    told = Composer(composer.model, ["classical", "jazz"], composer.model_version, "cpu", stats=stats)
    for mood in MOODS:
        valence, arousal = told._model_mood(_plan("classical", mood))
        assert abs(valence + 0.1) < MOOD_SPREAD * 0.2 and abs(arousal + 0.6) < MOOD_SPREAD * 0.1
        assert told._model_mood(_plan("jazz", mood)) == (MOODS[mood].valence, MOODS[mood].arousal)  # no statistics: as asked
    by_mood = {m: told._model_mood(_plan("classical", m)) for m in MOODS}
    for a in MOODS:  # the order of the moods survives: happier stays happier, more energetic stays more energetic
        for b in MOODS:
            if MOODS[a].valence > MOODS[b].valence:
                assert by_mood[a][0] > by_mood[b][0]
            if MOODS[a].arousal > MOODS[b].arousal:
                assert by_mood[a][1] > by_mood[b][1]
    # A mood near the style's centre is left nearly as it is.
    near = Composer(composer.model, ["classical"], composer.model_version, "cpu",
                    stats=CorpusStats(mood_by_style={"classical": {"valence": [0.8, 0.5], "arousal": [0.5, 0.5]}}))
    assert near._model_mood(_plan("classical", "happy")) == pytest.approx((0.8, 0.5), abs=1e-6)


def _plan(style: str, mood: str = "calm", tempo: int | None = None):
    return make_plan(ComposeRequest(style=style, mood=mood, tempo=tempo, seed=0))


def test_open_choices_follow_the_seed_and_the_moods_minor_rates():
    from engine.generate import DEFAULT_KEYS, MOOD_MINOR_RATE

    for mood in ("happy", "sad"):
        resolved = [resolve_request(ComposeRequest(mood=mood, seed=s)) for s in range(2000)]
        minor = np.mean([Key.parse(r.key).mode == "minor" for r in resolved])
        assert abs(minor - MOOD_MINOR_RATE[mood]) < 0.04, (mood, minor)
        assert {r.key for r in resolved} == set(DEFAULT_KEYS["major"]) | set(DEFAULT_KEYS["minor"])
    styles = [resolve_request(ComposeRequest(seed=s)).style for s in range(2000)]
    from engine.labels import STYLES

    assert set(styles) == set(STYLES) and min(styles.count(s) for s in STYLES) > 100  # ~182 each
    assert resolve_request(ComposeRequest(seed=77)) == resolve_request(ComposeRequest(seed=77))


def test_training_writes_the_novelty_index_the_composer_loads(tiny_run, composer):
    out, _ = tiny_run
    assert (out / "novelty_index.npz").is_file()
    assert composer.novelty is not None and len(composer.novelty) > 0


def test_a_style_without_training_data_is_refused_by_name(composer):
    moods = {s: {"valence": [0.0, 0.5], "arousal": [0.0, 0.5]} for s in composer.styles if s not in ("game", "lofi")}
    partial = Composer(composer.model, composer.styles, composer.model_version, "cpu", stats=CorpusStats(mood_by_style=moods))
    assert "game" not in partial.supported_styles() and "folk" in partial.supported_styles()
    assert "lofi" in partial.supported_styles() or "jazz" not in moods  # lofi is written with the jazz condition
    with pytest.raises(EngineInputError, match="cannot write 'game'.*folk"):
        partial.generate([ComposeRequest(style="game", seed=1)])
    assert partial.generate([ComposeRequest(seed=3)])[0].request.style != "game"  # open styles are drawn from what it can write


def test_the_model_is_told_a_tempo_inside_the_styles_range_and_the_piece_keeps_the_requested_one(composer):
    stats = replace(composer.stats, tempo_by_style={"folk": [100.0, 100.0], "jazz": [120.0, 240.0]})
    told = Composer(composer.model, composer.styles, composer.model_version, "cpu", stats=stats)
    assert told._model_tempo(_plan("folk", tempo=60)) == 100.0 and told._model_tempo(_plan("folk", tempo=180)) == 100.0
    assert told._model_tempo(_plan("jazz", tempo=90)) == 120.0 and told._model_tempo(_plan("jazz", tempo=150)) == 150.0
    assert told._model_tempo(_plan("lofi", tempo=70)) == 120.0  # lofi is written with the jazz condition
    assert told._model_tempo(_plan("pop", tempo=70)) == 70.0  # no statistics: as asked
    slow = told.generate([ComposeRequest(style="folk", mood="calm", tempo=60, seed=4)])[0]
    assert slow.piece.tempo == 60  # plays at the requested tempo
    # The notes are those of the in-range condition: the same as asking for 100 bpm, but played at 60.
    at_100 = told.generate([ComposeRequest(style="folk", mood="calm", tempo=100, seed=4)])[0]
    assert [(n.pitch, n.start, n.duration) for n in slow.piece.melody] == [(n.pitch, n.start, n.duration) for n in at_100.piece.melody]


def test_a_continuation_stays_within_the_longest_track(composer):
    """/continue bars:32 on a 16-bar fragment once made 48 bars, whose buttons then refused the track."""
    [parent] = composer.generate([ComposeRequest(style="jazz", mood="happy", bars=16, seed=8)])
    cont = composer.continue_piece(parent.piece, 32, ComposeRequest(seed=3))
    assert cont.piece.bars == 32 and cont.plan.bars == 32
    assert cont.piece.key == parent.piece.key
