from __future__ import annotations

import json
import math

import pytest
from rich.console import Console

from engine.evaluation.evaluate import evaluate, mood_requests, train_style_classifier
from engine.evaluation.generators import HeldOutGenerator, RandomGenerator
from engine.evaluation.novelty import NoveltyIndex
from engine.labels import MOODS


@pytest.fixture(scope="module")
def artefacts(corpus):
    return train_style_classifier(corpus), NoveltyIndex.from_cache(corpus, "train")


def test_random_generator_is_far_below_held_out_real_data(corpus, artefacts):
    clf, novelty = artefacts
    real = evaluate(HeldOutGenerator(corpus), corpus, 6, classifier=clf, novelty=novelty, name="real")
    rand = evaluate(RandomGenerator(seed=1), corpus, 6, classifier=clf, novelty=novelty, name="random")
    assert [r.style for r in real.rows] == ["jazz", "folk", "rock"]
    assert real.overall.real_accuracy > 0.9
    assert real.overall.generated_accuracy > 0.8
    assert rand.overall.generated_accuracy < real.overall.generated_accuracy - 0.3
    assert rand.overall.metric_gap > 2 * real.overall.metric_gap
    assert rand.overall.copy_rate == 0.0
    assert real.rows[0].generated == 6 and real.n_per_style == 6


def test_held_out_pieces_are_not_copies_of_training_pieces(corpus, artefacts):
    clf, novelty = artefacts
    report = evaluate(HeldOutGenerator(corpus), corpus, 6, classifier=clf, novelty=novelty)
    assert report.overall.copy_rate < 0.5


def test_training_pieces_are_flagged_as_copies(corpus, artefacts):
    clf, novelty = artefacts
    report = evaluate(HeldOutGenerator(corpus, split="train"), corpus, 6, classifier=clf, novelty=novelty)
    assert report.overall.copy_rate == 1.0
    assert report.overall.longest_shared_bars >= 7.0


def test_report_renders_as_table_and_json(corpus, artefacts):
    clf, novelty = artefacts
    report = evaluate(RandomGenerator(), corpus, 6, classifier=clf, novelty=novelty, name="random")
    data = json.loads(report.to_json())
    assert data["generator"] == "random" and len(data["rows"]) == 3 and "pitch_entropy" in data["overall"]["metrics_real"]
    console = Console(record=True, width=200)
    console.print(report.to_table())
    text = console.export_text()
    assert "overall" in text and "folk" in text


def test_mood_requests_differ_only_in_mood():
    requests = mood_requests("jazz", groups=2)
    assert len(requests) == 2 * len(MOODS)
    first = requests[: len(MOODS)]
    assert {r.mood for r in first} == set(MOODS) and len({(r.style, r.seed, r.bars) for r in first}) == 1


def test_a_generator_returning_the_wrong_number_of_pieces_is_an_error(corpus, artefacts):
    clf, novelty = artefacts
    with pytest.raises(ValueError, match="returned 0 pieces"):
        evaluate(lambda requests: [], corpus, 6, classifier=clf, novelty=novelty)


def test_notes_only_mood_agreement_ignores_the_tempo_an_engine_picks(corpus, artefacts):
    from dataclasses import replace

    clf, novelty = artefacts
    fast_for_excited = {"energetic": 180.0, "happy": 150.0, "dark": 150.0, "dreamy": 70.0, "calm": 60.0, "sad": 60.0}

    def tempo_only(requests):  # the same notes for every mood; only the tempo follows the mood
        base = RandomGenerator(seed=5)(requests[:1])[0]
        return [replace(base, tempo=fast_for_excited[r.mood]) for r in requests]

    report = evaluate(tempo_only, corpus, 6, classifier=clf, novelty=novelty)
    assert report.overall.arousal_agreement > 0.9
    assert report.overall.arousal_agreement_notes < 0.2  # identical notes never move


def test_style_accuracy_is_also_read_by_the_second_judge(corpus, artefacts):
    from engine.evaluation.second_judge import train_second_judge

    clf, novelty = artefacts
    judge = train_second_judge(corpus, per_style=40, ceiling_per_style=20)
    real = evaluate(HeldOutGenerator(corpus), corpus, 6, classifier=clf, novelty=novelty, second_judge=judge)
    rand = evaluate(RandomGenerator(seed=1), corpus, 6, classifier=clf, novelty=novelty, second_judge=judge)
    assert real.overall.second_real_accuracy > 0.6 and real.overall.second_generated_accuracy > 0.6
    assert rand.overall.second_generated_accuracy < real.overall.second_generated_accuracy
    console = Console(record=True, width=220)
    console.print(real.to_table())
    assert "judge 2 real" in console.export_text()
    without = evaluate(RandomGenerator(seed=1), corpus, 6, classifier=clf, novelty=novelty)
    assert math.isnan(without.overall.second_generated_accuracy)


def test_the_report_names_the_style_each_judge_reads_generated_pieces_as_instead(corpus, artefacts):
    from dataclasses import replace

    from engine.evaluation.second_judge import train_second_judge

    clf, novelty = artefacts
    judge = train_second_judge(corpus, per_style=40, ceiling_per_style=20)
    real = HeldOutGenerator(corpus)
    always_folk = evaluate(lambda requests: real([replace(r, style="folk") for r in requests]), corpus, 6, classifier=clf,
                           novelty=novelty, second_judge=judge)
    rows = {r.style: r for r in always_folk.rows}
    for style in ("jazz", "rock"):
        for misread in (rows[style].generated_misread, rows[style].second_generated_misread):
            other, share = misread.split()
            assert other == "folk" and int(share.rstrip("%")) >= 50
    assert not rows["folk"].generated_misread.startswith("folk")
    console = Console(record=True, width=220)
    console.print(always_folk.to_table())
    assert "Most common misreading" in console.export_text()
