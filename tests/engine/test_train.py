import json

import numpy as np
import torch

from engine.checkpoint import CorpusStats, load_checkpoint, save_checkpoint
from engine.model import ComposerModel, Condition, Segments, critic_loss, generator_loss
from engine.model_config import CONFIGS, get_config
from engine.train import TensorCorpus, train, transpose_segments
from engine.tokens import FIRST_PITCH_TOKEN, MODEL_QUALITIES


def _events(path, name):
    return [r for r in map(json.loads, path.read_text().splitlines()) if r["event"] == name]


def test_tiny_vae_loss_falls_and_checkpoint_is_written(tiny_run):
    out, metrics = tiny_run
    train_log = _events(out / "metrics.jsonl", "vae_train")
    first, last = train_log[0], train_log[-1]
    assert last["recon"] < 0.6 * first["recon"], (first["recon"], last["recon"])
    valid = _events(out / "metrics.jsonl", "vae_valid")
    assert valid[-1]["nll"] < valid[0]["nll"]
    assert _events(out / "metrics.jsonl", "gan_train")
    assert (out / "model.pt").exists() and (out / "train_state.pt").exists()
    assert metrics["version"].startswith("tiny-")
    assert metrics["latent_style_probe_accuracy"]["real_valid"] > metrics["latent_style_probe_accuracy"]["chance"]


def test_resume_continues_where_it_stopped(tmp_path, tiny_cache):
    cfg = get_config("tiny", vae_steps=30, gan_steps=10, eval_every=10, save_every=100)
    assert train(cfg, tiny_cache, tmp_path, device="cpu", max_steps=20) is None
    state = torch.load(tmp_path / "train_state.pt", weights_only=False)
    assert (state["phase"], state["step"]) == ("vae", 20)
    metrics = train(cfg, tiny_cache, tmp_path, device="cpu", resume=True)
    steps = [r["step"] for r in _events(tmp_path / "metrics.jsonl", "vae_valid")]
    assert steps == [10, 20, 30]  # the resumed run did steps 21..30 only
    assert len(_events(tmp_path / "metrics.jsonl", "start")) == 2
    assert metrics["version"].startswith("tiny-")


def test_same_seed_trains_the_same_model(tmp_path, tiny_cache):
    cfg = get_config("tiny", vae_steps=5, gan_steps=5)
    a = train(cfg, tiny_cache, tmp_path / "a", device="cpu", seed=3)
    b = train(cfg, tiny_cache, tmp_path / "b", device="cpu", seed=3)
    assert a["version"].split("-")[-1] == b["version"].split("-")[-1]


def test_gan_losses_are_the_non_saturating_formulas():
    torch.manual_seed(0)
    model = ComposerModel(CONFIGS["tiny"], n_styles=3)
    n = 6
    cond = Condition(torch.tensor([0, 1, 2, 0, 1, 2]), torch.zeros(n), torch.zeros(n), torch.zeros(n, dtype=torch.long),
                     torch.zeros(n, dtype=torch.long), torch.zeros(n, dtype=torch.long))
    z_real, z_fake = torch.randn(n, 16), torch.randn(n, 16)
    d_real = torch.sigmoid(model.gan.criticise(z_real, cond))
    d_fake = torch.sigmoid(model.gan.criticise(z_fake, cond))
    expected_d = (-torch.log(d_real)).mean() + (-torch.log(1 - d_fake)).mean()
    assert torch.allclose(critic_loss(model.gan, z_real, z_fake, cond, r1_weight=0.0), expected_d, atol=1e-5)
    assert torch.allclose(generator_loss(model.gan, z_fake, cond), (-torch.log(d_fake)).mean(), atol=1e-5)
    assert critic_loss(model.gan, z_real, z_fake, cond, r1_weight=1.0) > critic_loss(model.gan, z_real, z_fake, cond, r1_weight=0.0)


def test_transposition_moves_notes_and_chord_roots(tiny_cache):
    data = TensorCorpus.from_cache(tiny_cache, torch.device("cpu"))
    idx = torch.arange(4)
    seg, _, _, _ = data.batch(idx)
    moved = transpose_segments(seg, torch.full((4,), 2))
    notes = seg.melody >= FIRST_PITCH_TOKEN
    diff = (moved.melody - seg.melody)[notes]
    assert set(diff.tolist()) <= {2, -10}  # up a tone, or folded down an octave at the top of the range
    assert torch.equal(moved.melody[~notes], seg.melody[~notes])
    q = len(MODEL_QUALITIES)
    has = seg.chords > 0
    roots, new_roots = (seg.chords[has] - 1) // q, (moved.chords[has] - 1) // q
    assert torch.equal((roots + 2) % 12, new_roots)
    assert torch.equal((seg.chords[has] - 1) % q, (moved.chords[has] - 1) % q)


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(1)
    model = ComposerModel(CONFIGS["tiny"], n_styles=3).eval()
    version = save_checkpoint(tmp_path / "m.pt", model, ["jazz", "folk", "classical"], {"x": 1})
    loaded = load_checkpoint(tmp_path / "m.pt")
    assert loaded.version == version and version.startswith("tiny-") and len(version.split("-")[-1]) == 8
    assert loaded.styles == ["jazz", "folk", "classical"] and loaded.metrics == {"x": 1}
    seg = Segments(torch.randint(0, 30, (2, 128)), torch.randint(0, 20, (2, 128)), torch.randint(0, 100, (2, 32)),
                   torch.randint(0, 2, (2, 128, 8)).float())
    # float16 storage: the loaded model agrees with the original to half precision
    assert np.allclose(model.encode(seg).numpy(), loaded.model.encode(seg).numpy(), atol=2e-2)


def test_shipped_generator_is_the_moving_average_of_its_weights(tmp_path, tiny_cache):
    """The checkpoint's GAN generator is the exponential moving average, not the last step's weights."""
    cfg = get_config("tiny", vae_steps=3, gan_steps=6, gan_ema_decay=0.5)
    raw = get_config("tiny", vae_steps=3, gan_steps=6, gan_ema_decay=0.0)
    train(cfg, tiny_cache, tmp_path / "ema", device="cpu", seed=1)
    train(raw, tiny_cache, tmp_path / "raw", device="cpu", seed=1)
    ema_model, raw_model = (load_checkpoint(tmp_path / name / "model.pt", "cpu").model for name in ("ema", "raw"))
    # Same seed, same training; only the weights written for the generator differ.
    for a, b in zip(ema_model.gan.critic.parameters(), raw_model.gan.critic.parameters()):
        assert torch.allclose(a.float(), b.float(), atol=1e-3)
    assert any(not torch.allclose(a.float(), b.float(), atol=1e-3)
               for a, b in zip(ema_model.gan.generator.parameters(), raw_model.gan.generator.parameters()))


def test_generator_average_follows_the_ema_formula():
    from engine.train import GeneratorAverage

    model = ComposerModel(CONFIGS["tiny"], n_styles=3)
    average = GeneratorAverage(model, decay=0.75)
    weight = model.gan.generator[0].weight
    first = weight.detach().clone()
    average.update()  # the first update copies the weights
    with torch.no_grad():
        weight.add_(1.0)
    average.update()
    average.copy_to_model()
    assert torch.allclose(weight, first + 0.25, atol=1e-6)  # 0.75 * w + 0.25 * (w + 1)


def test_the_version_names_the_weights_and_the_statistics_that_steer_generation():
    from engine.checkpoint import make_version

    state = ComposerModel(CONFIGS["tiny"], n_styles=3).state_dict()
    date = __import__("datetime").date(2026, 11, 26)
    plain = make_version("tiny", state, date)
    assert plain == make_version("tiny", state, date, stats=CorpusStats.from_dict({}))  # a checkpoint without statistics
    a = make_version("tiny", state, date, stats=CorpusStats(tempo_by_style={"folk": [100.0, 100.0]}))
    b = make_version("tiny", state, date, stats=CorpusStats(tempo_by_style={"folk": [90.0, 110.0]}))
    assert len({plain, a, b}) == 3 and all(v.startswith("tiny-2026-11-26-") for v in (plain, a, b))
