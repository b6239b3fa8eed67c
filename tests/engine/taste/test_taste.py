"""Per-server taste: training from one server's capped-weight ratings, the Composer's steering hook, and a small
version of the simulated communities of `tunesmith bench taste` (the benchmark's own figures are in BENCHMARKS.md)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.generate import Composer
from engine.request import ComposeRequest
from engine.taste import simulate
from engine.taste.model import TasteError, TasteModel, steer_latents
from engine.taste.train import TasteTrainingError, rated_latents, train_taste

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def composer() -> Composer:
    torch.set_num_threads(1)
    c = Composer.load(device="cpu")
    c.novelty = None
    return c


@pytest.fixture(scope="module")
def community_ratings(composer: Composer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[simulate.Track]]:
    rng = np.random.default_rng(3)
    a, _ = simulate.default_communities()
    library = simulate.compose(composer, simulate.requests_for(a, 60, rng), 1)
    scale = simulate.Scale(density=2.0, pitch=5.0, tempo=15.0, cuts=np.array([-1.2, -0.8, -0.5, -0.2]))
    members = simulate.members_of(a, 4, 1, rng)
    ratings = []
    for m in members:
        ratings += [(m.user_id, t, float(s)) for t, s in zip(library, simulate.rate(m, library, scale, rng))]
    path = simulate.export_of(ratings, tmp_path_factory.mktemp("taste") / "ratings.npz")
    return path, library


def test_one_members_weight_is_capped_and_too_few_raters_are_refused(community_ratings: tuple[Path, list], composer: Composer, tmp_path: Path) -> None:
    path, library = community_ratings
    data = rated_latents(path, composer.model_version, max_member_share=0.2, min_raters=3)
    assert data.raters == 4 and len(data.track_ids) == len(library)
    assert data.largest_share == pytest.approx(0.25)  # four members: each the same share, the cap cannot go below 1/4
    with pytest.raises(TasteTrainingError, match="at least 5 different members"):
        rated_latents(path, composer.model_version, min_raters=5)
    # Ratings of tracks from another model version live in another latent space: they do not count.
    with pytest.raises(TasteTrainingError, match=r"Only 0 member\(s\).*240 rating\(s\) of tracks from other model versions"):
        rated_latents(path, "some-other-model", min_raters=3)
    with pytest.raises(TasteTrainingError, match="not a readable ratings export"):
        (tmp_path / "junk.npz").write_bytes(b"not an archive")
        rated_latents(tmp_path / "junk.npz", composer.model_version)


def test_steering_applies_only_to_requests_that_carry_the_taste(community_ratings: tuple[Path, list], composer: Composer, tmp_path: Path) -> None:
    path, _ = community_ratings
    result = train_taste(path, tmp_path / "v1", steps=60, composer=composer, quiet=True)
    assert Path(result["path"]).exists() and result["version"].startswith("taste-")
    assert result["metrics"]["raters"] == 4 and result["metrics"]["base_version"] == composer.model_version
    requests = [ComposeRequest(style="jazz", mood="happy", seed=s) for s in (1, 2, 3)]
    plain = composer.generate(requests)
    mixed = composer.generate([requests[0], replace(requests[1], taste=result["path"]), requests[2]])
    again = composer.generate([replace(requests[1], taste=result["path"])])
    once_more = composer.generate([replace(requests[1], taste=result["path"])])
    # Rows without a taste are exactly what the shared model writes; the steered one moves, the same way each time.
    assert np.array_equal(plain[0].latent, mixed[0].latent) and np.array_equal(plain[2].latent, mixed[2].latent)
    assert plain[0].piece.melody == mixed[0].piece.melody
    assert not np.allclose(plain[1].latent, mixed[1].latent)
    assert np.array_equal(again[0].latent, once_more[0].latent) and again[0].piece.melody == once_more[0].piece.melody
    assert np.allclose(mixed[1].latent, again[0].latent, atol=1e-5)  # in another batch: the same up to float rounding
    # A taste trained on another base model, or a file that is gone, leaves the latents alone (composing never fails for it).
    z = torch.as_tensor(np.stack([plain[1].latent]))
    assert torch.equal(steer_latents([result["path"]], ["jazz"], ["happy"], z, "another-base"), z)
    assert torch.equal(steer_latents([str(tmp_path / "gone.pt")], ["jazz"], ["happy"], z, composer.model_version), z)
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(TasteError, match="not a readable taste model"):
        TasteModel.load(tmp_path / "bad.pt")


def test_simulated_communities_a_retrain_lifts_its_server_only_and_one_heavy_rater_cannot_swing_it(composer: Composer, tmp_path: Path) -> None:
    report = simulate.run(composer, library_a=240, library_b=80, members=8, ratings_per_member=30, troll_ratings=240, new_tracks=80,
                          steps=200, seed=0, work_dir=tmp_path)
    own = report.outcomes[0]
    assert own.label.startswith("A, after") and own.low > 0, own  # A's members rate A's new tracks higher, beyond the noise
    capped, uncapped = report.outcomes[1], report.outcomes[2]
    # One member rating every track, capped at 20%, cannot swing it down beyond the noise: the interval of the
    # change reaches above 0 (on the plan-based generator this small run gives -0.14 [-0.30, +0.02]; the
    # benchmark's larger run is in BENCHMARKS.md).
    assert capped.high > 0, capped
    assert uncapped.difference < capped.difference, (capped, uncapped)  # ...and without the cap, that member pulls it down
    assert report.training["A + one member with 1000 ratings, capped"]["largest_member_share"] <= 0.2 + 1e-6
    other = report.outcomes[3]
    assert other.label.startswith("B, after") and other.identical == other.tracks and other.difference == 0.0
    assert report.outcomes[4].difference < 0  # A's taste is not B's: isolation matters
    assert len(report.outcomes) == 5
