"""Fine-tuning from users' ratings: the `/retrain` job, run in its own process.

    tunesmith finetune --base MODEL.pt --ratings RATINGS.npz --out DIR [--replay CACHE.npz] [--vae-steps N] [--gan-steps N]
    python -m engine.finetune ...   # the same command, as the retrain cog starts it

The rated tracks become 8-bar training segments weighted by how much people liked them (liked up, disliked
down), mixed with a replay sample of the base corpus so the model keeps what it knew. No one member decides
what "liked" means: each member's ratings together weigh at most `--max-member-share` of all ratings (20%;
with fewer members than that allows, every member weighs the same), and at least `--min-raters` different
members (3) must have rated. The VAE is tuned first,
then the latent GAN on the tuned encoder's latents. The candidate is then compared with the base model on
held-out corpus segments and held-out rated tracks, and recommended for promotion only if it is not worse.

Progress goes to stdout as JSON lines written through engine.training_events (Progress events, then one
Finished), so the bot can show it without parsing prose; errors end with a Failed event and exit status 1.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.checkpoint import CHECKPOINT_DIR, SHIPPED_CHECKPOINT, load_checkpoint, save_checkpoint
from engine.data.cache import SEGMENT_BARS, SEGMENT_STEPS, CorpusCache, pack_drums
from engine.model import Condition, attribute_loss, critic_loss, generator_loss, kl_divergence, reconstruction_losses
from engine.tokens import N_DRUMS, STEPS_PER_BAR
from engine.training_events import Failed, Finished, Progress, emit
from engine.train import TensorCorpus, encode_all
from engine.labels import MOODS, STYLE_DERIVATION

REPLAY_FILE = "replay.npz"  # shipped beside the checkpoint: a sample of the base corpus
MIN_RATED_TRACKS = 3
MIN_RATERS = 3  # different members who rated: one or two people's taste is not the server's
MAX_MEMBER_SHARE = 0.2  # the most of the total rating weight one member's ratings may carry
# How much a track counts in fine-tuning, by its mean rating: liked tracks are weighted up, disliked down.
RATING_WEIGHTS = {1: 0.1, 2: 0.4, 3: 1.0, 4: 2.0, 5: 3.0}
TOLERANCE = 0.02  # a candidate may be at most 2% worse on the corpus and still count as "not worse"


class FinetuneError(ValueError):
    """Fine-tuning cannot run on this input; the message says why (shown to the admin)."""


def rating_weight(mean_score: float) -> float:
    low, high = int(np.floor(mean_score)), int(np.ceil(mean_score))
    frac = mean_score - low
    return (1 - frac) * RATING_WEIGHTS[max(1, low)] + frac * RATING_WEIGHTS[min(5, high)]


def member_weights(user_ids: np.ndarray, max_share: float = MAX_MEMBER_SHARE) -> np.ndarray:
    """A weight per rating such that each member's ratings together carry at most `max_share` of the total.

    Members over the cap are brought down to a common level L and the others keep weight 1 per rating
    (water-filling: the fewest members are reduced, as little as possible). With fewer than 1/max_share
    members the cap cannot be met; then every member carries the same share, 1/members. Weights average 1."""
    user_ids = np.asarray(user_ids)
    if len(user_ids) == 0:
        return np.zeros(0, np.float32)
    members, inverse, counts = np.unique(user_ids, return_inverse=True, return_counts=True)
    share = max(float(max_share), 1.0 / len(members))
    order = np.argsort(-counts, kind="stable")
    sorted_counts = counts[order].astype(np.float64)
    totals = sorted_counts.copy()
    for capped in range(len(members)):
        rest = sorted_counts[capped:].sum()
        level = share * rest / (1.0 - share * capped)  # the capped members' total, each, if `capped` are capped
        if level >= sorted_counts[capped] * (1 - 1e-12):  # the biggest uncapped member fits under it: done
            totals[:capped] = level
            break
    member_total = np.empty(len(members))
    member_total[order] = totals
    weights = (member_total / counts)[inverse]
    return (weights * len(weights) / weights.sum()).astype(np.float32)


def member_shares(user_ids: np.ndarray, weights: np.ndarray | None = None) -> dict[int, float]:
    """Each member's share of the total rating weight (of the rating count when `weights` is None)."""
    user_ids = np.asarray(user_ids)
    weights = np.ones(len(user_ids)) if weights is None else np.asarray(weights, np.float64)
    total = float(weights.sum()) or 1.0
    return {int(u): float(weights[user_ids == u].sum()) / total for u in np.unique(user_ids)}


@dataclass
class RatedSegments:
    """Rated tracks cut into 8-bar segments, as a CorpusCache, with each segment's weight and its track's mean score."""

    cache: CorpusCache
    weight: np.ndarray  # float32 [N]
    score: np.ndarray  # float32 [N]
    track: np.ndarray  # int64 [N]
    raters: int = 0  # different members whose ratings were used
    largest_share: float = 0.0  # the biggest member's share of the rating weight, after capping
    largest_share_uncapped: float = 0.0  # ... and of the ratings themselves


def load_tokens(archive: dict[str, np.ndarray], name: str, row: int) -> np.ndarray:
    """Row `row`'s token stream from a ratings export (ragged arrays: `tokens/<name>` split by `tokens/<name>/offsets`)."""
    offsets = archive[f"tokens/{name}/offsets"]
    return archive[f"tokens/{name}"][offsets[row] : offsets[row + 1]]


def _windows(line: np.ndarray, steps: int) -> list[np.ndarray]:
    """8-bar windows of a per-step (or per-beat) array, the last one aligned to the end; short ones are tiled."""
    if len(line) < steps:
        reps = int(np.ceil(steps / max(1, len(line))))
        return [np.concatenate([line] * reps)[:steps]]
    starts = list(range(0, len(line) - steps + 1, steps))
    if starts[-1] + steps < len(line):
        starts.append(len(line) - steps)
    return [line[s : s + steps] for s in starts]


def rated_segments(ratings_path: Path, styles: list[str], held_out_fraction: float = 0.25, seed: int = 0, *,
                   max_member_share: float = MAX_MEMBER_SHARE, min_raters: int = MIN_RATERS) -> RatedSegments:
    """Read a storage.export RatingExport .npz and make weighted segments; a share of tracks is held out (split 'valid').

    A track's score is the mean of its ratings weighted by `member_weights`, and its segments' weight is
    that score's `rating_weight` times the track's share of the (capped) rating weight."""
    try:
        with np.load(ratings_path, allow_pickle=False) as data:
            archive = {name: data[name] for name in data.files}
    except (OSError, ValueError) as exc:
        raise FinetuneError(f"{ratings_path} is not a readable ratings export: {exc}") from None
    if "track_ids" not in archive or "tokens/melody" not in archive:
        raise FinetuneError("The ratings export has no rated tracks with notes.")
    usable: list[int] = []  # rows whose track can become training segments
    meta: dict[int, dict] = {}
    for row, track_id in enumerate(archive["track_ids"].tolist()):
        if len(load_tokens(archive, "melody", row)) == 0 or "tokens/chords" not in archive:
            continue
        if STYLE_DERIVATION.get(str(archive["styles"][row]), str(archive["styles"][row])) not in styles:
            continue
        usable.append(row)
        meta[track_id] = {"row": row, "style": str(archive["styles"][row]), "mood": str(archive["moods"][row]), "tempo": float(archive["tempos"][row])}
    raters = archive["user_ids"][usable] if "user_ids" in archive else np.zeros(len(usable), np.int64)
    n_raters = len(np.unique(raters))
    if n_raters < min_raters:
        raise FinetuneError(f"Only {n_raters} member(s) rated usable tracks; fine-tuning needs ratings from at least {min_raters} different members.")
    weights = member_weights(raters, max_member_share)
    by_track: dict[int, list[tuple[float, float]]] = {}  # track -> [(score, member weight)]
    for row, weight in zip(usable, weights.tolist()):
        by_track.setdefault(int(archive["track_ids"][row]), []).append((float(archive["scores"][row]), weight))
    if len(by_track) < MIN_RATED_TRACKS:
        raise FinetuneError(f"Only {len(by_track)} rated track(s) with notes; fine-tuning needs at least {MIN_RATED_TRACKS}.")
    # A track counts by the rating weight it received, relative to the average track.
    mass = {t: sum(w for _, w in pairs) for t, pairs in by_track.items()}
    mean_mass = float(np.mean(list(mass.values())))
    rng = np.random.default_rng(seed)
    track_ids = np.array(sorted(by_track))
    held = set(rng.choice(track_ids, size=max(1, int(round(len(track_ids) * held_out_fraction))), replace=False).tolist())
    rows: dict[str, list] = {k: [] for k in ("melody", "bass", "chords", "drums", "style", "mood", "valence", "arousal", "tempo", "mode", "split", "weight", "score", "track")}
    for track_id in track_ids:
        record = meta[int(track_id)]
        tokens = {name: load_tokens(archive, name, record["row"]) for name in ("melody", "bass", "chords", "drums", "mode") if f"tokens/{name}" in archive}
        if not {"melody", "chords"} <= tokens.keys():
            continue
        style = STYLE_DERIVATION.get(record["style"], record["style"])
        mood = MOODS.get(record["mood"])
        pairs = by_track[int(track_id)]
        mean = sum(score * w for score, w in pairs) / max(1e-9, sum(w for _, w in pairs))
        track_weight = rating_weight(mean) * mass[int(track_id)] / mean_mass
        melody = tokens["melody"].astype(np.int16)
        bass = tokens.get("bass", np.zeros_like(melody)).astype(np.int16)
        chords = tokens["chords"].astype(np.int16)
        drums = tokens.get("drums", np.zeros((len(melody), N_DRUMS), np.uint8)).astype(np.uint8)
        for m, b, c, d in zip(_windows(melody, SEGMENT_STEPS), _windows(bass, SEGMENT_STEPS), _windows(chords, SEGMENT_STEPS // 4), _windows(drums, SEGMENT_STEPS)):
            rows["melody"].append(m)
            rows["bass"].append(b)
            rows["chords"].append(c)
            rows["drums"].append(pack_drums(d))
            rows["style"].append(styles.index(style))
            rows["mood"].append(list(MOODS).index(record["mood"]) if mood else 0)
            rows["valence"].append(mood.valence if mood else 0.0)
            rows["arousal"].append(mood.arousal if mood else 0.0)
            rows["tempo"].append(float(record["tempo"]))
            rows["mode"].append(int(np.asarray(tokens.get("mode", [0])).reshape(-1)[0]))
            rows["split"].append(1 if int(track_id) in held else 0)
            rows["weight"].append(track_weight)
            rows["score"].append(mean)
            rows["track"].append(int(track_id))
    n = len(rows["melody"])
    if n == 0:
        raise FinetuneError("None of the rated tracks can be used (unknown styles or no notes).")
    cache = CorpusCache(
        melody=np.stack(rows["melody"]), bass=np.stack(rows["bass"]), chords=np.stack(rows["chords"]), drums=np.stack(rows["drums"]),
        has_bass=np.stack(rows["bass"]).max(1) > 0, has_drums=np.stack(rows["drums"]).max(1) > 0,
        mode=np.array(rows["mode"], np.int8), style=np.array(rows["style"], np.int8), mood=np.array(rows["mood"], np.int8),
        valence=np.array(rows["valence"], np.float32), arousal=np.array(rows["arousal"], np.float32), mood_labelled=np.ones(n, bool),
        tempo=np.array(rows["tempo"], np.float32), split=np.array(rows["split"], np.int8), piece=np.array(rows["track"], np.int32),
        first_bar=np.zeros(n, np.int16), styles=styles, moods=list(MOODS),
    )  # fmt: skip
    shares, uncapped = member_shares(raters, weights), member_shares(raters)
    return RatedSegments(cache, np.array(rows["weight"], np.float32), np.array(rows["score"], np.float32), np.array(rows["track"], np.int64),
                         raters=n_raters, largest_share=max(shares.values()), largest_share_uncapped=max(uncapped.values()))


def make_replay(cache: CorpusCache, n: int = 3000, seed: int = 0) -> CorpusCache:
    """A style-stratified sample of the corpus's train and valid segments, small enough to ship."""
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for split in ("train", "valid"):
        idx = np.flatnonzero(cache.split_mask(split))
        share = n if split == "train" else max(1, n // 5)
        per_style = max(1, share // max(1, len(cache.styles)))
        for s in range(len(cache.styles)):
            pool = idx[cache.style[idx] == s]
            if len(pool):
                chosen.extend(rng.choice(pool, size=min(per_style, len(pool)), replace=False).tolist())
    mask = np.zeros(len(cache), bool)
    mask[chosen] = True
    replay = cache.subset(mask)
    replay.meta = {**cache.meta, "replay_of": len(cache), "replay_seed": seed}
    return replay


def _concat(a: CorpusCache, b: CorpusCache) -> CorpusCache:
    from engine.data.cache import _ARRAY_FIELDS

    arrays = {name: np.concatenate([getattr(a, name), getattr(b, name).astype(getattr(a, name).dtype)]) for name in _ARRAY_FIELDS}
    return CorpusCache(**arrays, pieces=[], styles=a.styles, moods=a.moods, meta={})


@torch.no_grad()
def segment_nll(model, data: TensorCorpus, idx: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Reconstruction NLL + KL (the negative ELBO, z = mean) per segment."""
    model.eval()
    out = []
    for start in range(0, len(idx), batch_size):
        b = idx[start : start + batch_size]
        seg, cond, has_bass, has_drums = data.batch(b)
        logits, mu, logvar = model.vae(seg, cond)
        out.append(sum(reconstruction_losses(logits, seg, has_bass, has_drums).values()) + kl_divergence(mu, logvar))
    return torch.cat(out) if out else torch.zeros(0)


def compare(base, tuned, data: TensorCorpus, corpus_valid: torch.Tensor, rated_valid: torch.Tensor, scores: torch.Tensor) -> dict:
    """Held-out corpus NLL (must not get worse) and, on held-out rated tracks, the rating-weighted NLL (should fall)."""
    report: dict = {}
    if len(corpus_valid):
        b, t = segment_nll(base, data, corpus_valid).mean().item(), segment_nll(tuned, data, corpus_valid).mean().item()
        report["corpus_nll"] = {"base": round(b, 3), "candidate": round(t, 3)}
    if len(rated_valid):
        weights = torch.tensor([rating_weight(float(s)) for s in scores], dtype=torch.float32)
        b_nll, t_nll = segment_nll(base, data, rated_valid), segment_nll(tuned, data, rated_valid)
        report["rated_weighted_nll"] = {"base": round(float((b_nll * weights).sum() / weights.sum()), 3), "candidate": round(float((t_nll * weights).sum() / weights.sum()), 3)}
        liked = scores >= 4
        if liked.any():
            report["liked_nll"] = {"base": round(float(b_nll[liked].mean()), 3), "candidate": round(float(t_nll[liked].mean()), 3)}
    return report


def decide(report: dict) -> tuple[bool, str]:
    """Promote only if the candidate is not worse than the base model."""
    corpus = report.get("corpus_nll")
    if corpus and corpus["candidate"] > corpus["base"] * (1 + TOLERANCE):
        return False, f"it forgot the base corpus: held-out NLL {corpus['candidate']:.1f} vs {corpus['base']:.1f} (more than {TOLERANCE:.0%} worse)"
    rated = report.get("rated_weighted_nll")
    if rated and rated["candidate"] > rated["base"]:
        return False, f"it fits the held-out rated tracks worse: weighted NLL {rated['candidate']:.1f} vs {rated['base']:.1f}"
    if not rated:
        return True, "no held-out ratings to compare on; corpus fit is not worse"
    return True, f"held-out rated tracks fit better (weighted NLL {rated['candidate']:.1f} vs {rated['base']:.1f}) and the corpus fit is not worse"


CPU_BATCH = 32  # a CPU shares its cores with the bot: small steps keep each one short
EVAL_SEGMENTS = 256  # held-out corpus segments compared; enough to see forgetting, quick on a CPU


def finetune(base_path: Path | None, ratings_path: Path, out_dir: Path, *, replay_path: Path | None = None, vae_steps: int = 150, gan_steps: int = 150,
             seed: int = 0, device: str | None = None, batch_size: int | None = None,
             max_member_share: float = MAX_MEMBER_SHARE, min_raters: int = MIN_RATERS) -> dict:
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(seed)
    if dev.type == "cpu":
        yield_cpu()
    base_ckpt = load_checkpoint(base_path, device=dev)
    tuned_ckpt = load_checkpoint(base_path, device=dev)
    cfg, styles = base_ckpt.config, base_ckpt.styles
    batch = batch_size or (cfg.batch_size if dev.type == "cuda" else CPU_BATCH)
    gan_batch = max(batch, cfg.gan_batch_size * batch // cfg.batch_size)
    rated = rated_segments(ratings_path, styles, seed=seed, max_member_share=max_member_share, min_raters=min_raters)
    replay_path = replay_path or (Path(base_path).parent if base_path else CHECKPOINT_DIR) / REPLAY_FILE
    if not replay_path.exists():
        replay_path = CHECKPOINT_DIR / REPLAY_FILE
    replay = CorpusCache.load(replay_path)
    if list(replay.styles) != list(styles):
        raise FinetuneError(f"The replay set's styles {replay.styles} differ from the model's {styles}")
    mixed = _concat(rated.cache, replay)
    n_rated = len(rated.cache)
    data = TensorCorpus.from_cache(mixed, dev)
    weights = np.concatenate([rated.weight, np.ones(len(replay), np.float32)])
    is_train = mixed.split == 0
    train_idx = torch.as_tensor(np.flatnonzero(is_train), device=dev)
    # Rated tracks are few: draw them as often as the whole replay set, each by its rating weight.
    draw_weights = torch.as_tensor(np.where(np.arange(len(mixed)) < n_rated, weights * len(replay) / max(1.0, rated.weight[rated.cache.split == 0].sum()), 1.0)[is_train], dtype=torch.float64)
    sample_weight = torch.as_tensor(weights, device=dev)
    valid_rows = np.flatnonzero(replay.split == 1)
    valid_rows = np.random.default_rng(seed).choice(valid_rows, size=min(EVAL_SEGMENTS, len(valid_rows)), replace=False) if len(valid_rows) else valid_rows
    corpus_valid = torch.as_tensor(n_rated + np.sort(valid_rows), device=dev)
    rated_valid_rows = np.flatnonzero(rated.cache.split == 1)
    rated_valid = torch.as_tensor(rated_valid_rows, device=dev)
    gen = torch.Generator().manual_seed(seed)
    model = tuned_ckpt.model.to(dev)
    t0 = time.time()

    opt = torch.optim.AdamW(model.vae.parameters(), lr=cfg.vae_lr * 0.2, weight_decay=0.01)
    model.train()
    for step in range(1, vae_steps + 1):
        idx = train_idx[torch.multinomial(draw_weights, batch, replacement=True, generator=gen).to(dev)]
        seg, cond, has_bass, has_drums = data.batch(idx)
        logits, mu, logvar = model.vae(seg, cond)
        rec = sum(reconstruction_losses(logits, seg, has_bass, has_drums).values())
        # Disliked tracks get a small weight: still music, but the model leans towards what people liked.
        loss = ((rec + cfg.kl_weight * torch.clamp(kl_divergence(mu, logvar) - cfg.free_nats, min=0)) * sample_weight[idx]).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.vae.parameters(), cfg.grad_clip)
        opt.step()
        if step % 10 == 0 or step == vae_steps:
            emit(Progress("vae", step, vae_steps + gan_steps, round(time.time() - t0, 1), {"loss": round(loss.item(), 3)}))

    mu_all, logvar_all = encode_all(model, data, train_idx, 4 * batch, False)
    cond_all = Condition(data.style, data.valence, data.arousal, data.tempo_bucket, data.mode, torch.zeros_like(data.style))
    gen_opt = torch.optim.Adam(model.gan.generator_parameters(), lr=cfg.gan_lr * 0.5, betas=(0.5, 0.9))
    critic_opt = torch.optim.Adam(model.gan.critic_parameters(), lr=cfg.gan_lr * 0.5, betas=(0.5, 0.9))
    model.gan.train()
    for step in range(1, gan_steps + 1):
        rows = torch.multinomial(draw_weights, gan_batch, replacement=True, generator=gen).to(dev)
        z_real = mu_all[rows] + torch.exp(0.5 * logvar_all[rows]) * torch.randn_like(mu_all[rows])
        cond = cond_all.index(train_idx[rows])
        z_fake = model.gan.generate(torch.randn(len(rows), cfg.latent_dim, device=dev), cond)
        d_loss = critic_loss(model.gan, z_real, z_fake, cond, cfg.r1_weight)
        critic_opt.zero_grad(set_to_none=True)
        d_loss.backward(inputs=model.gan.critic_parameters())
        critic_opt.step()
        g_loss = generator_loss(model.gan, z_fake, cond) + cfg.gan_attribute_weight * attribute_loss(model.gan, z_fake, cond)
        gen_opt.zero_grad(set_to_none=True)
        g_loss.backward(inputs=model.gan.generator_parameters())
        gen_opt.step()
        if step % 10 == 0 or step == gan_steps:
            emit(Progress("gan", vae_steps + step, vae_steps + gan_steps, round(time.time() - t0, 1), {"critic": round(d_loss.item(), 3), "generator": round(g_loss.item(), 3)}))

    model.eval()
    report = compare(base_ckpt.model.to(dev), model, data, corpus_valid, rated_valid, torch.as_tensor(rated.score[rated_valid_rows]))
    promote, reason = decide(report)
    metrics = {**report, "rated_tracks": int(len(np.unique(rated.track))), "rated_segments": n_rated, "replay_segments": len(replay),
               "raters": rated.raters, "largest_member_share": round(rated.largest_share, 3), "largest_member_share_uncapped": round(rated.largest_share_uncapped, 3),
               "vae_steps": vae_steps, "gan_steps": gan_steps, "seconds": round(time.time() - t0, 1), "base_version": base_ckpt.version}
    out_dir.mkdir(parents=True, exist_ok=True)
    version = save_checkpoint(out_dir / "model.pt", model, styles, metrics, base_ckpt.stats)
    # The candidate keeps the base model's companions: novelty index (copy check) and replay set (next retrain).
    base_dir = Path(base_path).parent if base_path else SHIPPED_CHECKPOINT.parent
    for companion in base_dir.iterdir():
        if companion.name != Path(base_path or SHIPPED_CHECKPOINT).name and companion.is_file() and not companion.name.endswith((".pt", ".tmp")):
            shutil.copy2(companion, out_dir / companion.name)
    if not (out_dir / REPLAY_FILE).exists():
        shutil.copy2(replay_path, out_dir / REPLAY_FILE)
    return {"version": version, "path": str(out_dir / "model.pt"), "promote": promote, "reason": reason, "metrics": metrics}


def yield_cpu() -> None:
    """On a CPU, fine-tuning shares the machine with the bot: run below its priority, on half the cores."""
    try:
        os.nice(10)
    except (AttributeError, OSError):
        pass
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))


def run_job(base: Path | None, ratings: Path, out: Path, *, replay: Path | None = None, vae_steps: int = 150, gan_steps: int = 150,
            seed: int = 0, device: str | None = None, batch_size: int | None = None, max_member_share: float = MAX_MEMBER_SHARE,
            min_raters: int = MIN_RATERS) -> int:
    """The retrain job as `tunesmith finetune` runs it: progress, then the outcome, as JSON lines; returns the exit status."""
    try:
        if not 0 < max_member_share <= 1:
            raise FinetuneError("--max-member-share must be above 0 and at most 1")
        result = finetune(base, ratings, out, replay_path=replay, vae_steps=vae_steps, gan_steps=gan_steps, seed=seed,
                          device=device, batch_size=batch_size, max_member_share=max_member_share, min_raters=min_raters)
    except (FinetuneError, FileNotFoundError, ValueError) as exc:
        emit(Failed(str(exc)))
        return 1
    emit(Finished.from_fields(result))
    return 0


if __name__ == "__main__":  # the retrain cog starts `python -m engine.finetune ...`: the `tunesmith finetune` command
    from bot.commands.train import finetune_app

    finetune_app()
