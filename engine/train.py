"""Train the VAE, then the latent GAN, on the corpus cache; write an inference checkpoint.

    tunesmith train --config base --cache var/corpus/corpus.npz --out var/models/base

Writes under --out: `model.pt` (the inference checkpoint), `train_state.pt` (for --resume),
`metrics.jsonl` (one JSON object per log/validation event). CUDA when present (bf16 autocast), CPU otherwise.
"""

from __future__ import annotations

import copy
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.checkpoint import CorpusStats, save_checkpoint
from engine.data.cache import CorpusCache
from engine.model import (
    ComposerModel,
    Condition,
    Segments,
    attribute_loss,
    critic_loss,
    generator_loss,
    kl_divergence,
    reconstruction_losses,
    tempo_bucket,
)
from engine.model_config import ModelConfig, get_config
from engine.tokens import FIRST_PITCH_TOKEN, MELODY_HIGH, MELODY_LOW, BASS_HIGH, BASS_LOW, MODEL_QUALITIES


@dataclass
class TensorCorpus:
    """The cache's arrays as tensors on the training device, plus the condition inputs."""

    melody: torch.Tensor
    bass: torch.Tensor
    chords: torch.Tensor
    drums: torch.Tensor  # uint8 [N, 128, 8]
    has_bass: torch.Tensor
    has_drums: torch.Tensor
    style: torch.Tensor
    valence: torch.Tensor
    arousal: torch.Tensor
    tempo_bucket: torch.Tensor
    mode: torch.Tensor

    @classmethod
    def from_cache(cls, cache: CorpusCache, device: torch.device) -> "TensorCorpus":
        def t(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
            return torch.as_tensor(np.ascontiguousarray(a)).to(device=device, dtype=dtype)

        return cls(
            melody=t(cache.melody, torch.long),
            bass=t(cache.bass, torch.long),
            chords=t(cache.chords, torch.long),
            drums=t(cache.drums_multi_hot(), torch.uint8),
            has_bass=t(cache.has_bass, torch.bool),
            has_drums=t(cache.has_drums, torch.bool),
            style=t(cache.style, torch.long),
            valence=t(cache.valence, torch.float32),
            arousal=t(cache.arousal, torch.float32),
            tempo_bucket=tempo_bucket(t(cache.tempo, torch.float32)),
            mode=t(cache.mode, torch.long),
        )

    def __len__(self) -> int:
        return self.melody.shape[0]

    def batch(self, idx: torch.Tensor, shift: torch.Tensor | None = None) -> tuple[Segments, Condition, torch.Tensor, torch.Tensor]:
        if shift is None:
            shift = torch.zeros(len(idx), dtype=torch.long, device=idx.device)
        seg = Segments(self.melody[idx], self.bass[idx], self.chords[idx], self.drums[idx].float())
        seg = transpose_segments(seg, shift)
        cond = Condition(self.style[idx], self.valence[idx], self.arousal[idx], self.tempo_bucket[idx], self.mode[idx], shift)
        return seg, cond, self.has_bass[idx], self.has_drums[idx]


def _shift_line(tokens: torch.Tensor, shift: torch.Tensor, low: int, high: int) -> torch.Tensor:
    """Transpose note tokens by shift[B] semitones, folding by octaves back into the token range."""
    pitch = tokens - FIRST_PITCH_TOKEN + shift[:, None]
    span = high - low
    pitch = torch.where(pitch < 0, pitch + 12, pitch)
    pitch = torch.where(pitch > span, pitch - 12, pitch)
    return torch.where(tokens >= FIRST_PITCH_TOKEN, pitch + FIRST_PITCH_TOKEN, tokens)


def transpose_segments(seg: Segments, shift: torch.Tensor) -> Segments:
    """Augmentation: move melody, bass and chord roots by shift[B] semitones (drums unchanged)."""
    if not bool(shift.any()):
        return seg
    q = len(MODEL_QUALITIES)
    root, quality = (seg.chords - 1).div(q, rounding_mode="floor"), (seg.chords - 1) % q
    chords = torch.where(seg.chords > 0, 1 + ((root + shift[:, None]) % 12) * q + quality, seg.chords)
    return Segments(
        _shift_line(seg.melody, shift, MELODY_LOW, MELODY_HIGH),
        _shift_line(seg.bass, shift, BASS_LOW, BASS_HIGH),
        chords,
        seg.drums,
    )


class GeneratorAverage:
    """An exponential moving average of the GAN generator's weights (torch.optim.swa_utils), copied into the
    model when GAN training ends. decay 0 keeps the last weights as they are."""

    def __init__(self, model: ComposerModel, decay: float):
        self.modules = torch.nn.ModuleList([model.gan.generator, model.gan.generator_condition])
        self.average = (torch.optim.swa_utils.AveragedModel(self.modules, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(decay))
                        if decay > 0 else None)

    def update(self) -> None:
        if self.average is not None:
            self.average.update_parameters(self.modules)

    def copy_to_model(self) -> None:
        if self.average is not None and int(self.average.n_averaged) > 0:
            self.modules.load_state_dict(self.average.module.state_dict())

    def state_dict(self) -> dict | None:
        return None if self.average is None else self.average.state_dict()

    def load_state_dict(self, state: dict | None) -> None:
        if self.average is not None and state is not None:
            self.average.load_state_dict(state)


def cosine_lr(step: int, total: int, peak: float, min_fraction: float, warmup: int = 100) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (min_fraction + (1 - min_fraction) * 0.5 * (1 + math.cos(math.pi * progress)))


def corpus_stats(cache: CorpusCache) -> CorpusStats:
    """Corpus facts the generator needs: which tracks the model learned (a track no training segment has,
    like drums in a corpus without drum parts, must not be sampled from an untrained head), and each
    style's valence/arousal mean and spread and its 10th-90th percentile tempos (engine.generate keeps the
    model's mood and tempo condition inside them)."""
    train = cache.split_mask("train")
    moods, tempos = {}, {}
    for k, style in enumerate(cache.styles):
        rows = train & (cache.style == k)
        if rows.sum() >= 2:
            moods[style] = {name: [round(float(v[rows].mean()), 4), round(float(v[rows].std()), 4)]
                            for name, v in (("valence", cache.valence), ("arousal", cache.arousal))}
            tempos[style] = [round(float(t), 1) for t in np.percentile(cache.tempo[rows], [10, 90])]
    rates = {"bass": round(float(cache.has_bass[train].mean()), 4), "drums": round(float(cache.has_drums[train].mean()), 4)}
    return CorpusStats(track_rates=rates, mood_by_style=moods, tempo_by_style=tempos)


class MetricsLog:
    def __init__(self, path: Path, append: bool):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = path.open("a" if append else "w")

    def write(self, **record) -> None:
        record["time"] = round(time.time(), 3)
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()


def _progress(total: int, description: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"), disable=not sys.stdout.isatty(),
    )
    task = progress.add_task(description, total=total, info="")
    return progress, task


@torch.no_grad()
def validate_vae(model: ComposerModel, data: TensorCorpus, idx: torch.Tensor, batch_size: int, amp: bool) -> dict:
    """Mean reconstruction NLL per segment and token accuracies on held-out segments (z = mu)."""
    model.eval()
    totals = {"nll": 0.0, "kl": 0.0, "melody_acc": 0.0, "chord_acc": 0.0}
    for start in range(0, len(idx), batch_size):
        b = idx[start : start + batch_size]
        seg, cond, has_bass, has_drums = data.batch(b)
        with torch.autocast(device_type=b.device.type, dtype=torch.bfloat16, enabled=amp):
            logits, mu, logvar = model.vae(seg, cond)
        rec = reconstruction_losses(logits, seg, has_bass, has_drums)
        totals["nll"] += float(sum(rec.values()).sum())
        totals["kl"] += float(kl_divergence(mu, logvar).sum())
        totals["melody_acc"] += float((logits["melody"].argmax(-1) == seg.melody).float().mean(1).sum())
        totals["chord_acc"] += float((logits["chords"].argmax(-1) == seg.chords).float().mean(1).sum())
    model.train()
    return {k: round(v / max(1, len(idx)), 4) for k, v in totals.items()}


@torch.no_grad()
def encode_all(model: ComposerModel, data: TensorCorpus, idx: torch.Tensor, batch_size: int, amp: bool) -> tuple[torch.Tensor, torch.Tensor]:
    model.eval()
    mus, logvars = [], []
    for start in range(0, len(idx), batch_size):
        seg, _, _, _ = data.batch(idx[start : start + batch_size])
        with torch.autocast(device_type=idx.device.type, dtype=torch.bfloat16, enabled=amp):
            mu, logvar = model.vae.encoder(seg)
        mus.append(mu.float())
        logvars.append(logvar.float())
    model.train()
    return torch.cat(mus), torch.cat(logvars)


def latent_style_probe(z_train: torch.Tensor, style_train: torch.Tensor, n_styles: int, steps: int = 300) -> torch.nn.Linear:
    """A linear style classifier on latents: a quick check that GAN latents carry the requested style."""
    probe = torch.nn.Linear(z_train.shape[1], n_styles).to(z_train.device)
    opt = torch.optim.Adam(probe.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = F.cross_entropy(probe(z_train), style_train)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return probe


def train(
    cfg: ModelConfig,
    cache: CorpusCache,
    out_dir: Path,
    *,
    resume: bool = False,
    seed: int = 0,
    device: str | None = None,
    log_every: int = 50,
    max_steps: int | None = None,
) -> dict | None:
    """Train the VAE then the GAN; returns the final metrics. Writes model.pt, train_state.pt, metrics.jsonl.
    `max_steps` stops this run after that many optimisation steps (state saved; continue with resume=True)
    and returns None."""
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    amp = cfg.amp and dev.type == "cuda"
    torch.manual_seed(seed)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    out_dir.mkdir(parents=True, exist_ok=True)
    state_path = out_dir / "train_state.pt"

    data = TensorCorpus.from_cache(cache, dev)
    train_idx = torch.as_tensor(np.flatnonzero(cache.split_mask("train")), device=dev)
    valid_idx = torch.as_tensor(np.flatnonzero(cache.split_mask("valid")), device=dev)
    if len(train_idx) == 0:
        raise ValueError("The corpus cache has no training segments.")
    if len(valid_idx) == 0:  # tiny caches: validate on a slice of the training data rather than not at all
        valid_idx = train_idx[: max(1, len(train_idx) // 10)]
    styles = list(cache.styles)

    model = ComposerModel(cfg, n_styles=len(styles)).to(dev)
    vae_opt = torch.optim.AdamW(model.vae.parameters(), lr=cfg.vae_lr, weight_decay=0.01)
    gen_opt = torch.optim.Adam(model.gan.generator_parameters(), lr=cfg.gan_lr, betas=(0.5, 0.9))
    critic_opt = torch.optim.Adam(model.gan.critic_parameters(), lr=cfg.gan_lr, betas=(0.5, 0.9))
    attribute_opt = torch.optim.Adam(model.gan.attribute_parameters(), lr=cfg.gan_lr)
    generator_ema = GeneratorAverage(model, cfg.gan_ema_decay)
    batch_rng = torch.Generator().manual_seed(seed)

    phase, step, best_valid, best_vae, history = "vae", 0, float("inf"), None, {}
    if resume and state_path.exists():
        st = torch.load(state_path, map_location=dev, weights_only=False)
        model.load_state_dict(st["model"])
        vae_opt.load_state_dict(st["vae_opt"])
        gen_opt.load_state_dict(st["gen_opt"])
        critic_opt.load_state_dict(st["critic_opt"])
        attribute_opt.load_state_dict(st["attribute_opt"])
        if "generator_ema" in st:
            generator_ema.load_state_dict(st["generator_ema"])
        batch_rng.set_state(st["batch_rng"].cpu())  # map_location moved it to the training device
        phase, step, best_valid, history = st["phase"], st["step"], st["best_valid"], st["history"]
        best_vae = st.get("best_vae")
        print(f"resumed at {phase} step {step}")
    log = MetricsLog(out_dir / "metrics.jsonl", append=resume)
    log.write(event="start", config=cfg.to_dict(), device=str(dev), segments_train=len(train_idx), segments_valid=len(valid_idx), resume=resume, phase=phase, step=step)

    def save_state() -> None:
        torch.save(
            {"model": model.state_dict(), "vae_opt": vae_opt.state_dict(), "gen_opt": gen_opt.state_dict(),
             "critic_opt": critic_opt.state_dict(), "attribute_opt": attribute_opt.state_dict(),
             "generator_ema": generator_ema.state_dict(), "batch_rng": batch_rng.get_state(), "phase": phase, "step": step,
             "best_valid": best_valid, "best_vae": best_vae, "history": history, "config": cfg.to_dict()},
            state_path,
        )

    # Rare styles are drawn more often than their share (but not equally often: that would repeat their few
    # segments until the model memorises them, and memorised tunes get copied).
    train_styles = cache.style[np.flatnonzero(cache.split_mask("train"))].astype(np.int64)
    counts = np.bincount(train_styles, minlength=len(styles)).astype(np.float64)
    vae_weights = torch.as_tensor(np.maximum(counts[train_styles], 1.0) ** -cfg.style_balance, dtype=torch.float64)
    gan_weights = torch.as_tensor(np.maximum(counts[train_styles], 1.0) ** -cfg.gan_style_balance, dtype=torch.float64)

    def draw(n: int, pool: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """n rows of `pool` (aligned with the training segments), drawn with per-segment weights."""
        return pool[torch.multinomial(weights, n, replacement=True, generator=batch_rng).to(dev)]

    steps_this_run = 0

    def out_of_steps() -> bool:
        if max_steps is not None and steps_this_run >= max_steps:
            save_state()
            log.write(event="paused", phase=phase, step=step)
            return True
        return False

    t0 = time.time()
    # --- phase 1: the VAE ---------------------------------------------------------------------------
    if phase == "vae":
        model.train()
        progress, task = _progress(cfg.vae_steps, "VAE")
        progress.update(task, completed=step)
        with progress:
            while step < cfg.vae_steps:
                if out_of_steps():
                    return None
                for group in vae_opt.param_groups:
                    group["lr"] = cosine_lr(step, cfg.vae_steps, cfg.vae_lr, cfg.lr_min_fraction)
                idx = draw(cfg.batch_size, train_idx, vae_weights)
                shift = torch.randint(-cfg.transpose_max, cfg.transpose_max + 1, (len(idx),), generator=batch_rng).to(dev)
                seg, cond, has_bass, has_drums = data.batch(idx, shift)
                noise = torch.randn(len(idx), cfg.latent_dim, device=dev)
                with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=amp):
                    logits, mu, logvar = model.vae(seg, cond, noise)
                rec = reconstruction_losses(logits, seg, has_bass, has_drums)
                kl = kl_divergence(mu, logvar).mean()
                beta = cfg.kl_weight * min(1.0, step / max(1, cfg.kl_anneal_steps))
                rec_total = sum(rec.values()).mean()
                loss = rec_total + beta * torch.clamp(kl - cfg.free_nats, min=0.0)
                vae_opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.vae.parameters(), cfg.grad_clip)
                vae_opt.step()
                step += 1
                steps_this_run += 1
                if step % log_every == 0 or step == 1:
                    log.write(event="vae_train", step=step, loss=loss.item(), recon=rec_total.item(), kl=kl.item(), beta=beta,
                              **{f"nll_{k}": v.mean().item() for k, v in rec.items()}, elapsed=round(time.time() - t0, 1))
                    progress.update(task, info=f"loss {loss.item():.1f} kl {kl.item():.1f}")
                if step % cfg.eval_every == 0 or step == cfg.vae_steps:
                    val = validate_vae(model, data, valid_idx, 2 * cfg.batch_size, amp)
                    history.setdefault("vae_valid", []).append({"step": step, **val})
                    log.write(event="vae_valid", step=step, **val, elapsed=round(time.time() - t0, 1))
                    print(f"vae step {step}/{cfg.vae_steps} train loss {loss.item():.2f} valid nll {val['nll']:.2f} kl {val['kl']:.1f} "
                          f"melody acc {val['melody_acc']:.3f} chord acc {val['chord_acc']:.3f} ({time.time() - t0:.0f}s)", flush=True)
                    if val["nll"] < best_valid:  # keep the best VAE by validation likelihood (early stopping)
                        best_valid = val["nll"]
                        best_vae = copy.deepcopy({k: v.detach().clone() for k, v in model.vae.state_dict().items()})
                progress.update(task, completed=step)
                if step % cfg.save_every == 0:
                    save_state()
        if best_vae is not None:
            model.vae.load_state_dict(best_vae)
        phase, step = "gan", 0
        history["vae_seconds"] = round(time.time() - t0, 1)
        save_state()

    # --- phase 2: the latent GAN on encoded training latents ----------------------------------------
    t1 = time.time()
    mu_train, logvar_train = encode_all(model, data, train_idx, 4 * cfg.batch_size, amp)
    cond_all = Condition(data.style, data.valence, data.arousal, data.tempo_bucket, data.mode, torch.zeros_like(data.style))
    if phase == "gan":
        model.gan.train()
        pool = torch.arange(len(train_idx), device=dev)
        progress, task = _progress(cfg.gan_steps, "GAN")
        progress.update(task, completed=step)
        with progress:
            while step < cfg.gan_steps:
                if out_of_steps():
                    return None
                rows = draw(cfg.gan_batch_size, pool, gan_weights)
                z_real = mu_train[rows]
                if not cfg.gan_on_means:
                    z_real = z_real + torch.exp(0.5 * logvar_train[rows]) * torch.randn_like(z_real)
                cond = cond_all.index(train_idx[rows])
                noise = torch.randn(len(rows), cfg.latent_dim, device=dev)
                critic_params, generator_params = model.gan.critic_parameters(), model.gan.generator_parameters()
                z_fake = model.gan.generate(noise, cond)
                d_loss = critic_loss(model.gan, z_real, z_fake, cond, cfg.r1_weight)
                critic_opt.zero_grad(set_to_none=True)
                d_loss.backward(inputs=critic_params)
                critic_opt.step()
                a_loss = attribute_loss(model.gan, z_real, cond)
                attribute_opt.zero_grad(set_to_none=True)
                a_loss.backward(inputs=model.gan.attribute_parameters())
                attribute_opt.step()
                g_attr = attribute_loss(model.gan, z_fake, cond)
                g_loss = generator_loss(model.gan, z_fake, cond)  # against the critic just updated
                g_loss = g_loss + cfg.gan_attribute_weight * g_attr
                gen_opt.zero_grad(set_to_none=True)
                g_loss.backward(inputs=generator_params)
                gen_opt.step()
                generator_ema.update()
                step += 1
                steps_this_run += 1
                if step % log_every == 0 or step == 1:
                    log.write(event="gan_train", step=step, critic_loss=d_loss.item(), generator_loss=g_loss.item(),
                              attribute_real=a_loss.item(), attribute_generated=g_attr.item(), elapsed=round(time.time() - t0, 1))
                    progress.update(task, info=f"D {d_loss.item():.3f} G {g_loss.item():.3f}")
                progress.update(task, completed=step)
                if step % cfg.save_every == 0:
                    save_state()
        generator_ema.copy_to_model()  # the averaged generator is the one that samples from here on
        phase = "done"
        history["gan_seconds"] = round(time.time() - t1, 1)
        save_state()

    # --- summary: validation of both parts, then the inference checkpoint -----------------------------
    metrics = summarise(model, cfg, data, train_idx, valid_idx, mu_train, styles, history, amp)
    metrics["train_seconds"] = round(history.get("vae_seconds", 0) + history.get("gan_seconds", 0), 1)
    metrics["device"] = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    metrics["segments"] = {"train": len(train_idx), "valid": len(valid_idx)}
    version = save_checkpoint(out_dir / "model.pt", model, styles, metrics, corpus_stats(cache))
    metrics["version"] = version
    from engine.evaluation.artifacts import save_novelty_index

    save_novelty_index(cache, out_dir)  # beside model.pt: Composer.load resamples pieces that copy 2+ bars
    log.write(event="done", **metrics)
    print(json.dumps(metrics, indent=1), flush=True)
    return metrics


@torch.no_grad()
def summarise(model, cfg, data, train_idx, valid_idx, mu_train, styles, history, amp) -> dict:
    val = validate_vae(model, data, valid_idx, 2 * cfg.batch_size, amp)
    mu_valid, _ = encode_all(model, data, valid_idx, 4 * cfg.batch_size, amp)
    with torch.enable_grad():
        probe = latent_style_probe(mu_train, data.style[train_idx], len(styles))
    cond_valid = Condition(data.style[valid_idx], data.valence[valid_idx], data.arousal[valid_idx], data.tempo_bucket[valid_idx],
                           data.mode[valid_idx], torch.zeros_like(data.style[valid_idx]))
    seeds = torch.arange(len(valid_idx), device=mu_train.device)
    z_gan = model.sample_latents(cond_valid, seeds, "gan")
    z_prior = model.sample_latents(cond_valid, seeds, "prior")
    target = data.style[valid_idx]

    def acc(z: torch.Tensor) -> float:
        return round(float((probe(z).argmax(-1) == target).float().mean()), 4)

    return {
        "vae_valid": val,
        "vae_valid_best_nll": min((h["nll"] for h in history.get("vae_valid", [])), default=val["nll"]),
        "latent_style_probe_accuracy": {"real_valid": acc(mu_valid), "gan": acc(z_gan), "prior": acc(z_prior),
                                        "chance": round(1 / max(1, len(styles)), 4)},
        "vae_seconds": history.get("vae_seconds"),
        "gan_seconds": history.get("gan_seconds"),
    }


def evaluate_checkpoint(model_path: Path, cache: CorpusCache, artifacts_dir: Path, n: int = 24, device: str | None = None, log=print):
    """Run the corpus engineer's evaluation (engine.evaluation) on a checkpoint; writes eval.json beside it.
    The style classifier and the novelty index are loaded from, or built into, `artifacts_dir`."""
    from engine.evaluation.artifacts import load_or_build_artifacts
    from engine.evaluation.evaluate import evaluate
    from engine.generate import Composer

    classifier, novelty = load_or_build_artifacts(cache, artifacts_dir, log=log)
    composer = Composer.load(model_path, device=device, novelty=novelty)
    report = evaluate(composer.generate_pieces, cache, n, classifier=classifier, novelty=novelty, name=composer.model_version)
    (model_path.parent / "eval.json").write_text(report.to_json())
    return report


def config_with(name: str, settings: list[str]) -> ModelConfig:
    """The named config with FIELD=VALUE overrides (`tunesmith train --set vae_steps=100`), each parsed as its field's type."""
    overrides: dict[str, object] = {}
    base = get_config(name)
    for item in settings:
        field_name, sep, value = item.partition("=")
        if not sep or not hasattr(base, field_name):
            raise ValueError(f"{item!r} is not FIELD=VALUE with a field of the {name} config")
        current = getattr(base, field_name)
        overrides[field_name] = value.lower() in ("1", "true", "yes") if isinstance(current, bool) else type(current)(value)
    return get_config(name, **overrides)

