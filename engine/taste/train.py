"""Train one server's taste model from that server's ratings: the per-server `/retrain` job, in its own process.

    tunesmith taste-train --ratings RATINGS.npz --out DIR [--base MODEL.pt] [--steps N] [--guild ID]
    python -m engine.taste.train ...   # the same command, as the retrain cog starts it

RATINGS.npz is a storage.export RatingExport of one server. Only ratings of tracks written by the base model
(same version) count: a latent from another model lives in another space. Each member's ratings together
weigh at most `--max-member-share` (engine.finetune.member_weights) and at least `--min-raters` members must
have rated. A quarter of the rated tracks is held out: the critic must predict their ratings better than
their mean does, or the taste is not recommended for use.

Progress goes to stdout as JSON lines written through engine.training_events (Progress, then one Finished); errors
end with a Failed event and exit status 1, as engine.finetune does.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from engine.checkpoint import load_checkpoint
from engine.finetune import MAX_MEMBER_SHARE, MIN_RATERS, FinetuneError, member_shares, member_weights, yield_cpu
from engine.request import ComposeRequest
from engine.taste import TASTE_FILE
from engine.taste.model import LatentActor, LatentCritic, TasteModel, condition_features
from engine.training_events import Failed, Finished, Progress, TrainingEvent, emit

MIN_TRACKS = 8  # rated tracks with latents; fewer cannot tell a taste from noise
HELD_OUT = 0.25
CRITIC_STEPS = 400
ACTOR_STEPS = 300
ACTOR_SAMPLES = 4096  # GAN latents the actor learns to move (conditions drawn from the server's own requests)
DISTANCE_WEIGHT = 1.0  # penalty on the mean squared move, per coordinate, in standard deviations
REALISM_WEIGHT = 0.5  # penalty on the base GAN critic finding z' less real than z
INPUT_NOISE = 0.3  # critic training noise on latents (standard deviations): smooths it where the actor will look
MIN_HELD_OUT_CORRELATION = 0.1


class TasteTrainingError(FinetuneError):
    """The server's ratings cannot train a taste model; the message says why (shown to the admin)."""


@dataclass
class RatedLatents:
    """One row per rated track: its theme latent, what was asked, and its capped-weight mean score."""

    track_ids: np.ndarray
    latents: np.ndarray  # float32 [T, D]
    styles: list[str]
    moods: list[str]
    tempos: np.ndarray
    keys: list[str]
    score: np.ndarray  # float32 [T]: mean of the track's ratings, each weighted by its member's capped weight
    mass: np.ndarray  # float32 [T]: the track's share of the capped rating weight (mean 1)
    raters: int
    largest_share: float
    largest_share_uncapped: float
    dropped_other_model: int


def rated_latents(ratings_path: Path, base_version: str, *, max_member_share: float = MAX_MEMBER_SHARE, min_raters: int = MIN_RATERS) -> RatedLatents:
    try:
        with np.load(ratings_path, allow_pickle=False) as data:
            archive = {name: data[name] for name in data.files}
    except (OSError, ValueError) as exc:
        raise TasteTrainingError(f"{ratings_path} is not a readable ratings export: {exc}") from None
    if not {"user_ids", "track_ids", "scores", "latents", "has_latent"} <= archive.keys() or len(archive["track_ids"]) == 0:
        raise TasteTrainingError("There are no ratings to learn this server's taste from yet.")
    usable = archive["has_latent"].astype(bool)
    versions = archive.get("model_versions")
    same_model = np.ones_like(usable) if versions is None else np.array([str(v) == base_version for v in versions])
    dropped = int((usable & ~same_model).sum())
    usable &= same_model
    rows = np.flatnonzero(usable)
    users = archive["user_ids"][rows]
    n_raters = len(np.unique(users))
    if n_raters < min_raters:
        raise TasteTrainingError(
            f"Only {n_raters} member(s) rated tracks written by the serving model ({base_version}); a server's taste needs ratings "
            f"from at least {min_raters} different members." + (f" {dropped} rating(s) of tracks from other model versions do not count." if dropped else "")
        )
    weights = member_weights(users, max_member_share).astype(np.float64)
    tracks, inverse = np.unique(archive["track_ids"][rows], return_inverse=True)
    if len(tracks) < MIN_TRACKS:
        raise TasteTrainingError(f"Only {len(tracks)} rated track(s) written by the serving model; a server's taste needs at least {MIN_TRACKS}.")
    mass = np.bincount(inverse, weights=weights, minlength=len(tracks))
    score = np.bincount(inverse, weights=weights * archive["scores"][rows], minlength=len(tracks)) / np.maximum(mass, 1e-9)
    first = np.array([rows[np.flatnonzero(inverse == t)[0]] for t in range(len(tracks))])

    def column(name: str, default: Any) -> list:
        return [str(v) for v in archive[name][first]] if name in archive else [default] * len(first)

    shares, uncapped = member_shares(users, weights), member_shares(users)
    return RatedLatents(
        track_ids=tracks, latents=archive["latents"][first].astype(np.float32), styles=column("styles", "pop"), moods=column("moods", "calm"),
        tempos=archive["tempos"][first].astype(np.float32) if "tempos" in archive else np.full(len(first), 110.0, np.float32),
        keys=column("keys", "C"), score=score.astype(np.float32), mass=(mass / mass.mean()).astype(np.float32), raters=n_raters,
        largest_share=max(shares.values()), largest_share_uncapped=max(uncapped.values()), dropped_other_model=dropped,
    )  # fmt: skip


def _weighted_corr(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    w = w / w.sum()
    mx, my = (w * x).sum(), (w * y).sum()
    cov = (w * (x - mx) * (y - my)).sum()
    sx, sy = np.sqrt((w * (x - mx) ** 2).sum()), np.sqrt((w * (y - my) ** 2).sum())
    return float(cov / (sx * sy)) if sx > 0 and sy > 0 else 0.0


def train_taste(ratings_path: Path, out_dir: Path, *, base_path: Path | None = None, steps: int = ACTOR_STEPS, seed: int = 0, guild_id: int | None = None,
                max_member_share: float = MAX_MEMBER_SHARE, min_raters: int = MIN_RATERS, composer: Any = None, quiet: bool = False) -> dict[str, Any]:
    """Train, evaluate and save a taste model; returns {"version", "path", "promote", "reason", "metrics"}.

    `composer` (an engine.generate.Composer of the base model) may be passed to reuse a loaded one."""
    say: Callable[[TrainingEvent], None] = (lambda event: None) if quiet else emit
    started = time.time()
    torch.manual_seed(seed)
    if composer is None:
        from engine.generate import Composer

        ckpt = load_checkpoint(base_path, device="cpu")
        composer = Composer(ckpt.model, ckpt.styles, ckpt.version, "cpu", None, ckpt.stats)
    data = rated_latents(ratings_path, composer.model_version, max_member_share=max_member_share, min_raters=min_raters)
    rng = np.random.default_rng(seed)
    n = len(data.track_ids)
    held = np.zeros(n, bool)
    held[rng.choice(n, size=max(2, int(round(n * HELD_OUT))), replace=False)] = True

    # What this server asks for: the actor learns on fresh GAN latents for the same requests.
    picks = rng.integers(0, n, ACTOR_SAMPLES)
    plans = [composer.plan(ComposeRequest(style=data.styles[i], mood=data.moods[i], seed=int(s))) for i, s in zip(picks, rng.integers(0, 2**31 - 1, ACTOR_SAMPLES))]
    with torch.no_grad():
        model_cond = composer._conditions(plans)
        z_gan = composer.model.sample_latents(model_cond, torch.as_tensor(rng.integers(0, 2**31 - 1, ACTOR_SAMPLES)), "gan").float()
    gan_cond = torch.as_tensor(condition_features([p.style for p in plans], [p.mood.name for p in plans]))
    latent_mean, latent_std = z_gan.mean(0), z_gan.std(0).clamp_min(1e-3)

    z_rated = (torch.as_tensor(data.latents) - latent_mean) / latent_std
    c_rated = torch.as_tensor(condition_features(data.styles, data.moods))
    score_mean = float(np.average(data.score[~held], weights=data.mass[~held]))
    target = torch.as_tensor(data.score - score_mean)
    w = torch.as_tensor(data.mass)
    train_rows, held_rows = torch.as_tensor(np.flatnonzero(~held)), torch.as_tensor(np.flatnonzero(held))

    critic = LatentCritic(z_rated.shape[1])
    opt = torch.optim.AdamW(critic.parameters(), lr=3e-3, weight_decay=0.05)
    total = CRITIC_STEPS + steps
    for step in range(1, CRITIC_STEPS + 1):
        critic.train()
        zi = z_rated[train_rows] + INPUT_NOISE * torch.randn(len(train_rows), z_rated.shape[1])
        loss = (w[train_rows] * (critic(zi, c_rated[train_rows]) - target[train_rows]) ** 2).sum() / w[train_rows].sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 50 == 0 or step == CRITIC_STEPS:
            say(Progress("critic", step, total, round(time.time() - started, 1), {"loss": round(loss.item(), 4)}))
    critic.eval()
    for p in critic.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        predicted = critic(z_rated, c_rated).numpy() + score_mean
    h = held_rows.numpy()
    held_w = data.mass[h]
    mse = float(np.average((predicted[h] - data.score[h]) ** 2, weights=held_w))
    mse_constant = float(np.average((score_mean - data.score[h]) ** 2, weights=held_w))
    corr = _weighted_corr(predicted[h], data.score[h], held_w)

    gan = composer.model.gan
    for p in gan.parameters():
        p.requires_grad_(False)
    actor = LatentActor(z_rated.shape[1])
    opt = torch.optim.Adam(actor.parameters(), lr=1e-3)
    z_gan_std = (z_gan - latent_mean) / latent_std
    gen = torch.Generator().manual_seed(seed)
    train_n = ACTOR_SAMPLES * 3 // 4  # the last quarter measures the move on latents the actor did not train on
    for step in range(1, steps + 1):
        actor.train()
        rows = torch.randint(0, train_n, (256,), generator=gen)
        z0, c = z_gan_std[rows], gan_cond[rows]
        z1 = actor(z0, c)
        gain = critic(z1, c).mean()
        distance = ((z1 - z0) ** 2).mean()
        mc = model_cond.index(rows)
        realism = (torch.nn.functional.softplus(-gan.criticise(z1 * latent_std + latent_mean, mc))
                   - torch.nn.functional.softplus(-gan.criticise(z0 * latent_std + latent_mean, mc))).clamp_min(0).mean()
        loss = -gain + DISTANCE_WEIGHT * distance + REALISM_WEIGHT * realism
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 25 == 0 or step == steps:
            say(Progress("actor", CRITIC_STEPS + step, total, round(time.time() - started, 1), {"gain": round(gain.item(), 3), "distance": round(distance.item(), 3)}))
    actor.eval()
    with torch.no_grad():
        z0, c = z_gan_std[train_n:], gan_cond[train_n:]
        z1 = actor(z0, c)
        predicted_gain = float((critic(z1, c) - critic(z0, c)).mean())
        move = float(((z1 - z0) ** 2).mean().sqrt())
        mc = model_cond.index(torch.arange(train_n, ACTOR_SAMPLES))
        real_before = float(gan.criticise(z0 * latent_std + latent_mean, mc).mean())
        real_after = float(gan.criticise(z1 * latent_std + latent_mean, mc).mean())

    promote, reason = decide(corr, mse, mse_constant, len(h))
    metrics = {
        "held_out_tracks": int(len(h)), "held_out_correlation": round(corr, 3), "held_out_mse": round(mse, 4), "held_out_mse_of_mean": round(mse_constant, 4),
        "predicted_gain": round(predicted_gain, 3), "latent_move_rms_std": round(move, 3), "gan_critic_before": round(real_before, 3),
        "gan_critic_after": round(real_after, 3), "rated_tracks": int(n), "raters": data.raters, "largest_member_share": round(data.largest_share, 3),
        "largest_member_share_uncapped": round(data.largest_share_uncapped, 3), "ratings_of_other_models": data.dropped_other_model,
        "actor_steps": steps, "critic_steps": CRITIC_STEPS, "seconds": round(time.time() - started, 1), "base_version": composer.model_version,
    }  # fmt: skip
    taste = TasteModel(critic, actor, latent_mean, latent_std, composer.model_version, score_mean, metrics, guild_id)
    out_dir = Path(out_dir)
    path = out_dir / TASTE_FILE
    taste.save(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    version = f"taste-{datetime.now(timezone.utc):%Y-%m-%d}-{digest}"
    return {"version": version, "path": str(path), "promote": promote, "reason": reason, "metrics": metrics}


def decide(corr: float, mse: float, mse_constant: float, held: int) -> tuple[bool, str]:
    """Use the taste only if its critic predicts held-out ratings better than their mean does."""
    if mse >= mse_constant:
        return False, f"its critic does not predict the held-out ratings better than their mean (error {mse:.3f} vs {mse_constant:.3f}, {held} tracks)"
    if corr < MIN_HELD_OUT_CORRELATION:
        return False, f"its critic barely follows the held-out ratings (correlation {corr:.2f}, needs {MIN_HELD_OUT_CORRELATION})"
    return True, f"its critic predicts held-out ratings (correlation {corr:.2f}, error {mse:.3f} vs {mse_constant:.3f} for their mean, {held} tracks)"


def run_job(ratings: Path, out: Path, *, base: Path | None = None, steps: int = ACTOR_STEPS, seed: int = 0, guild: int | None = None,
            max_member_share: float = MAX_MEMBER_SHARE, min_raters: int = MIN_RATERS) -> int:
    """The per-server retrain job as `tunesmith taste-train` runs it: progress, then the outcome, as JSON lines;
    returns the exit status."""
    try:
        if not 0 < max_member_share <= 1:
            raise TasteTrainingError("--max-member-share must be above 0 and at most 1")
        if steps < 1:
            raise TasteTrainingError("--steps must be at least 1")
        yield_cpu()
        result = train_taste(ratings, out, base_path=base, steps=steps, seed=seed, guild_id=guild,
                             max_member_share=max_member_share, min_raters=min_raters)
    except (FinetuneError, FileNotFoundError, ValueError) as exc:
        emit(Failed(str(exc)))
        return 1
    emit(Finished.from_fields(result))
    return 0


if __name__ == "__main__":  # the retrain cog starts `python -m engine.taste.train ...`: the `tunesmith taste-train` command
    from bot.commands.train import taste_train_app

    taste_train_app()
