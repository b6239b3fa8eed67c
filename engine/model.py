"""The generation models: a conditional hierarchical VAE over 8-bar segments and a GAN in its latent space.

VAE (in the spirit of MusicVAE): a bidirectional GRU encodes the aligned tracks of a segment (melody,
bass, chords, drums) into a latent z; a conductor GRU turns z and the condition into one embedding per
bar; a bar decoder GRU then writes each bar's 16 steps. Bars are decoded in parallel (each starts fresh
from its conductor embedding), so sampling takes 16 sequential steps rather than 128.

Per step the decoder emits a melody token, a bass token and 8 drum Bernoullis; per beat a chord token,
predicted from the state just before the beat's first step so the notes of that beat can follow it.

Latent GAN (Engel et al. 2018, "Latent Constraints"): a generator maps noise and the condition to a
latent, a critic tells those from encoded real latents of the same condition; non-saturating losses.

The condition is the style, valence and arousal, a tempo bucket, the mode (major/minor: the tokens are
in C major or C minor) and the transposition applied as augmentation (0 when generating).

Sampling noise is a counter-based hash of (seed, stream, index), so a request's output depends on its
seed alone, not on what else shares its batch or on a global random state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.model_config import ModelConfig
from engine.tokens import BASS_VOCAB, CHORD_VOCAB, MELODY_VOCAB, N_DRUMS, STEPS_PER_BAR

SEGMENT_BARS = 8
SEGMENT_STEPS = SEGMENT_BARS * STEPS_PER_BAR
BEATS_PER_BAR = 4
STEPS_PER_BEAT = STEPS_PER_BAR // BEATS_PER_BAR

# Tempo buckets (bpm upper edges): the condition sees "slow ballad" vs "fast reel", not exact numbers.
TEMPO_BUCKET_EDGES: tuple[float, ...] = (70, 85, 100, 115, 130, 150, 180)
N_TEMPO_BUCKETS = len(TEMPO_BUCKET_EDGES) + 1
MAX_SHIFT = 6  # transposition embedding covers [-MAX_SHIFT, MAX_SHIFT]


def tempo_bucket(bpm: torch.Tensor) -> torch.Tensor:
    edges = torch.tensor(TEMPO_BUCKET_EDGES, dtype=torch.float32, device=bpm.device)
    return torch.bucketize(bpm.float(), edges, right=True)


@dataclass
class Condition:
    """What the decoder is told, per segment: all tensors of shape [B]."""

    style: torch.Tensor  # long: index into the model's styles
    valence: torch.Tensor  # float in [-1, 1]
    arousal: torch.Tensor  # float in [-1, 1]
    tempo_bucket: torch.Tensor  # long
    mode: torch.Tensor  # long: 0 major, 1 minor
    shift: torch.Tensor  # long: augmentation transposition in semitones (0 when generating)

    def index(self, rows: torch.Tensor | slice) -> "Condition":
        return Condition(*(t[rows] for t in (self.style, self.valence, self.arousal, self.tempo_bucket, self.mode, self.shift)))

    def to(self, device: torch.device | str) -> "Condition":
        return Condition(*(t.to(device) for t in (self.style, self.valence, self.arousal, self.tempo_bucket, self.mode, self.shift)))


@dataclass
class Segments:
    """A batch of 8-bar segments as token tensors (layouts of engine.tokens)."""

    melody: torch.Tensor  # long [B, 128]
    bass: torch.Tensor  # long [B, 128]
    chords: torch.Tensor  # long [B, 32]
    drums: torch.Tensor  # float [B, 128, N_DRUMS] in {0, 1}


class ConditionEmbedding(nn.Module):
    def __init__(self, n_styles: int, dim: int, use_shift: bool):
        super().__init__()
        self.style = nn.Embedding(n_styles, dim)
        self.tempo = nn.Embedding(N_TEMPO_BUCKETS, dim)
        self.mode = nn.Embedding(2, dim)
        self.shift = nn.Embedding(2 * MAX_SHIFT + 1, dim) if use_shift else None
        self.mood = nn.Linear(2, dim)
        self.out = nn.Sequential(nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, c: Condition) -> torch.Tensor:
        h = self.style(c.style) + self.tempo(c.tempo_bucket) + self.mode(c.mode)
        h = h + self.mood(torch.stack([c.valence, c.arousal], dim=-1).to(h.dtype))
        if self.shift is not None:
            h = h + self.shift(c.shift + MAX_SHIFT)
        return self.out(h)


class TrackEmbedding(nn.Module):
    """Per-step input features from previous/aligned tokens of all tracks."""

    def __init__(self, dim: int):
        super().__init__()
        # One extra row per token table: the START token fed at the first step of every bar.
        self.melody = nn.Embedding(MELODY_VOCAB + 1, dim)
        self.bass = nn.Embedding(BASS_VOCAB + 1, dim)
        self.chord = nn.Embedding(CHORD_VOCAB, dim)
        self.drums = nn.Linear(N_DRUMS, dim)

    def forward(self, melody: torch.Tensor, bass: torch.Tensor, chords_per_step: torch.Tensor, drums: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.melody(melody), self.bass(bass), self.chord(chords_per_step), self.drums(drums)], dim=-1)


class SegmentEncoder(nn.Module):
    """Bidirectional GRU over the 128 aligned steps -> (mu, logvar). It does not see the condition, so z
    is free to hold what the condition does not say (the tune itself): that is what restyle relies on."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.tracks = TrackEmbedding(cfg.token_embed_dim)
        self.rnn = nn.GRU(4 * cfg.token_embed_dim, cfg.encoder_hidden, num_layers=cfg.encoder_layers, batch_first=True, bidirectional=True)
        self.to_latent = nn.Linear(2 * cfg.encoder_hidden, 2 * cfg.latent_dim)

    def forward(self, seg: Segments) -> tuple[torch.Tensor, torch.Tensor]:
        chords = seg.chords.repeat_interleave(STEPS_PER_BEAT, dim=1)
        x = self.tracks(seg.melody, seg.bass, chords, seg.drums)
        _, h = self.rnn(x)  # h: [layers * 2, B, H]
        h = torch.cat([h[-2], h[-1]], dim=-1)
        mu, logvar = self.to_latent(h).float().chunk(2, dim=-1)
        return mu, logvar.clamp(-12.0, 6.0)


class HierarchicalDecoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.conductor_init = nn.Linear(cfg.latent_dim + cfg.condition_dim, cfg.conductor_hidden)
        self.bar_position = nn.Embedding(SEGMENT_BARS, cfg.latent_dim + cfg.condition_dim)
        self.conductor = nn.GRU(cfg.latent_dim + cfg.condition_dim, cfg.conductor_hidden, batch_first=True)
        self.bar_embedding = nn.Linear(cfg.conductor_hidden, cfg.bar_embed_dim)
        self.bar_init = nn.Linear(cfg.bar_embed_dim, cfg.decoder_hidden)
        self.tracks = TrackEmbedding(cfg.token_embed_dim)
        self.step_position = nn.Embedding(STEPS_PER_BAR, cfg.token_embed_dim)
        step_inputs = 5 * cfg.token_embed_dim + cfg.bar_embed_dim + cfg.condition_dim
        self.rnn = nn.GRU(step_inputs, cfg.decoder_hidden, batch_first=True)
        self.input_dropout = nn.Dropout(cfg.decoder_dropout)  # regularises teacher forcing (training only)
        self.melody_head = nn.Linear(cfg.decoder_hidden, MELODY_VOCAB)
        self.bass_head = nn.Linear(cfg.decoder_hidden, BASS_VOCAB)
        self.drums_head = nn.Linear(cfg.decoder_hidden, N_DRUMS)
        self.chord_head = nn.Linear(cfg.decoder_hidden, CHORD_VOCAB)

    def bars(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Conductor: [B, latent], [B, cond] -> one embedding per bar [B, 8, E]."""
        zc = torch.cat([z.to(cond.dtype), cond], dim=-1)
        h0 = torch.tanh(self.conductor_init(zc))[None]
        x = zc[:, None, :] + self.bar_position.weight[None]
        out, _ = self.conductor(x, h0.contiguous())
        return self.bar_embedding(out)

    def _step_inputs(self, bars: torch.Tensor, cond_rows: torch.Tensor, melody, bass, chords, drums, positions) -> torch.Tensor:
        x = self.tracks(melody, bass, chords, drums)
        n = x.shape[1]
        return torch.cat([x, self.step_position(positions), bars[:, None].expand(-1, n, -1), cond_rows[:, None].expand(-1, n, -1)], dim=-1)

    def forward(self, z: torch.Tensor, cond: torch.Tensor, seg: Segments) -> dict[str, torch.Tensor]:
        """Teacher-forced logits for a batch of segments."""
        B = z.shape[0]
        bars = self.bars(z, cond).reshape(B * SEGMENT_BARS, -1)
        cond_rows = cond.repeat_interleave(SEGMENT_BARS, dim=0)

        def per_bar(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(B * SEGMENT_BARS, STEPS_PER_BAR, *t.shape[2:])

        melody, bass, drums = per_bar(seg.melody), per_bar(seg.bass), per_bar(seg.drums)
        chords = per_bar(seg.chords.repeat_interleave(STEPS_PER_BEAT, dim=1))
        # Inputs are the previous step's tokens; each bar starts from START (bars decode independently).
        prev_melody = F.pad(melody[:, :-1], (1, 0), value=MELODY_VOCAB)
        prev_bass = F.pad(bass[:, :-1], (1, 0), value=BASS_VOCAB)
        prev_drums = F.pad(drums[:, :-1], (0, 0, 1, 0))
        positions = torch.arange(STEPS_PER_BAR, device=z.device)[None].expand(B * SEGMENT_BARS, -1)
        x = self.input_dropout(self._step_inputs(bars, cond_rows, prev_melody, prev_bass, chords, prev_drums.to(bars.dtype), positions))
        h0 = torch.tanh(self.bar_init(bars))
        out, _ = self.rnn(x, h0[None].contiguous())
        # The chord of beat k is predicted from the state before its first step: h0, then after steps 3, 7, 11.
        before_beats = torch.cat([h0[:, None], out[:, STEPS_PER_BEAT - 1 : STEPS_PER_BAR - 1 : STEPS_PER_BEAT]], dim=1)
        T = SEGMENT_STEPS
        return {
            "melody": self.melody_head(out).reshape(B, T, -1),
            "bass": self.bass_head(out).reshape(B, T, -1),
            "drums": self.drums_head(out).reshape(B, T, -1),
            "chords": self.chord_head(before_beats).reshape(B, T // STEPS_PER_BEAT, -1),
        }

    @torch.no_grad()
    def sample(self, z: torch.Tensor, cond: torch.Tensor, seeds: torch.Tensor, temperature: torch.Tensor,
               chords: torch.Tensor | None = None, ties: torch.Tensor | None = None) -> Segments:
        """Sample token segments for latents z [B, L]; `seeds` [B] (long) fix all sampling noise per row.
        `chords` [B, 32] (long) forces the chord of each beat where it is >= 0: the notes of that beat are
        then sampled given the forced chord, so the melody and bass follow a planned harmony. `ties`
        [B * 8, 4] (long) makes a beat take the chord of the same beat of another bar (an index into the
        batch's B * 8 bars, which all step together; -1: none), once that bar's chord is sampled or forced:
        a returning phrase keeps the harmony the model wrote for its source."""
        B = z.shape[0]
        rows = B * SEGMENT_BARS
        bars = self.bars(z, cond).reshape(rows, -1)
        cond_rows = cond.repeat_interleave(SEGMENT_BARS, dim=0)
        row_seeds = seeds.repeat_interleave(SEGMENT_BARS)
        row_bar = torch.arange(SEGMENT_BARS, device=z.device).repeat(B)
        temp = temperature.to(torch.float32).repeat_interleave(SEGMENT_BARS)[:, None]
        dev = z.device

        h = torch.tanh(self.bar_init(bars))
        prev_melody = torch.full((rows,), MELODY_VOCAB, dtype=torch.long, device=dev)
        prev_bass = torch.full((rows,), BASS_VOCAB, dtype=torch.long, device=dev)
        prev_drums = torch.zeros(rows, N_DRUMS, dtype=bars.dtype, device=dev)
        chord = torch.zeros(rows, dtype=torch.long, device=dev)
        forced = chords.to(dev).reshape(rows, STEPS_PER_BAR // STEPS_PER_BEAT) if chords is not None else None
        tied = ties.to(dev) if ties is not None and bool((ties >= 0).any()) else None
        out_melody, out_bass, out_drums, out_chords = [], [], [], []

        def stream(step: int, head: int) -> torch.Tensor:
            return (row_bar * STEPS_PER_BAR + step) * 4 + head

        for t in range(STEPS_PER_BAR):
            if t % STEPS_PER_BEAT == 0:
                logits = self.chord_head(h).float()
                chord = gumbel_argmax(logits, temp, row_seeds, stream(t, 0))
                if forced is not None:
                    beat = forced[:, t // STEPS_PER_BEAT]
                    chord = torch.where(beat >= 0, beat, chord)
                if tied is not None:  # after forcing, so a tie to a planned chord takes the plan's chord
                    source = tied[:, t // STEPS_PER_BEAT]
                    chord = torch.where(source >= 0, chord[source.clamp(min=0)], chord)
                out_chords.append(chord)
            positions = torch.full((rows, 1), t, dtype=torch.long, device=dev)
            x = self._step_inputs(bars, cond_rows, prev_melody[:, None], prev_bass[:, None], chord[:, None], prev_drums[:, None], positions)
            out, hn = self.rnn(x, h[None].contiguous())
            h = hn[0]
            o = out[:, 0]
            prev_melody = gumbel_argmax(self.melody_head(o).float(), temp, row_seeds, stream(t, 1))
            prev_bass = gumbel_argmax(self.bass_head(o).float(), temp, row_seeds, stream(t, 2))
            drum_p = torch.sigmoid(self.drums_head(o).float() / temp)
            prev_drums = (hashed_uniform(row_seeds, stream(t, 3), N_DRUMS) < drum_p).to(bars.dtype)
            out_melody.append(prev_melody)
            out_bass.append(prev_bass)
            out_drums.append(prev_drums)

        def join(steps: list[torch.Tensor]) -> torch.Tensor:
            return torch.stack(steps, dim=1).reshape(B, -1, *steps[0].shape[1:])

        return Segments(join(out_melody), join(out_bass), join(out_chords), join(out_drums).float())


class MusicVAE(nn.Module):
    def __init__(self, cfg: ModelConfig, n_styles: int):
        super().__init__()
        self.condition = ConditionEmbedding(n_styles, cfg.condition_dim, use_shift=True)
        self.encoder = SegmentEncoder(cfg)
        self.decoder = HierarchicalDecoder(cfg)

    def forward(self, seg: Segments, cond: Condition, noise: torch.Tensor | None = None):
        """Teacher-forced logits and the posterior (mu, logvar); z = mu + sigma * noise (noise None: z = mu)."""
        mu, logvar = self.encoder(seg)
        z = mu if noise is None else mu + torch.exp(0.5 * logvar) * noise
        return self.decoder(z, self.condition(cond), seg), mu, logvar


class LatentGAN(nn.Module):
    """Conditional generator of latents, and a critic of (latent, condition) pairs.

    The critic is a projection critic (Miyato & Koyama 2018): besides seeing the condition at its input,
    its logit adds <W c, h(z, c)>, which makes "right latent, wrong style" easy to tell and so pushes the
    generator to honour the condition."""

    def __init__(self, cfg: ModelConfig, n_styles: int):
        super().__init__()
        self.latent_dim = cfg.latent_dim
        self.generator_condition = ConditionEmbedding(n_styles, cfg.condition_dim, use_shift=False)
        self.critic_condition = ConditionEmbedding(n_styles, cfg.condition_dim, use_shift=False)
        self.generator = _mlp(cfg.latent_dim + cfg.condition_dim, cfg.gan_hidden, cfg.latent_dim, cfg.gan_layers)
        self.critic = _mlp(cfg.latent_dim + cfg.condition_dim, cfg.gan_hidden, None, cfg.gan_layers)
        self.critic_out = nn.Linear(cfg.gan_hidden, 1)
        self.critic_projection = nn.Linear(cfg.condition_dim, cfg.gan_hidden)
        # Reads style (logits) and valence/arousal off a latent; trained on real latents only. The generator
        # is asked to produce latents it reads as the requested condition (an auxiliary term, as in AC-GAN).
        self.attribute_head = _mlp(cfg.latent_dim, cfg.gan_hidden, n_styles + 2, 1)

    def generator_parameters(self) -> list[nn.Parameter]:
        return list(self.generator.parameters()) + list(self.generator_condition.parameters())

    def attribute_parameters(self) -> list[nn.Parameter]:
        return list(self.attribute_head.parameters())

    def critic_parameters(self) -> list[nn.Parameter]:
        return [p for m in (self.critic, self.critic_condition, self.critic_out, self.critic_projection) for p in m.parameters()]

    def generate(self, noise: torch.Tensor, cond: Condition) -> torch.Tensor:
        c = self.generator_condition(cond)
        return self.generator(torch.cat([noise.to(c.dtype), c], dim=-1)).float()

    def criticise(self, z: torch.Tensor, cond: Condition) -> torch.Tensor:
        c = self.critic_condition(cond)
        h = self.critic(torch.cat([z.to(c.dtype), c], dim=-1))
        return (self.critic_out(h).squeeze(-1) + (self.critic_projection(c) * h).sum(-1)).float()


def _mlp(inputs: int, hidden: int, outputs: int | None, layers: int) -> nn.Sequential:
    """`layers` hidden layers; then a linear map to `outputs`, or none (the hidden features) when None."""
    mods: list[nn.Module] = []
    width = inputs
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
        width = hidden
    if outputs is not None:
        mods.append(nn.Linear(width, outputs))
    return nn.Sequential(*mods)


class ComposerModel(nn.Module):
    """The VAE and the latent GAN together: one state dict, one checkpoint."""

    def __init__(self, cfg: ModelConfig, n_styles: int):
        super().__init__()
        self.cfg = cfg
        self.n_styles = n_styles
        self.vae = MusicVAE(cfg, n_styles)
        self.gan = LatentGAN(cfg, n_styles)

    @torch.no_grad()
    def encode(self, seg: Segments) -> torch.Tensor:
        mu, _ = self.vae.encoder(seg)
        return mu

    @torch.no_grad()
    def sample_latents(self, cond: Condition, seeds: torch.Tensor, sampler: list[str] | str = "gan") -> torch.Tensor:
        """Latents for each row: from the GAN (default) or the VAE prior N(0, I), noise fixed by the seed."""
        noise = hashed_normal(seeds, stream=7, n=self.cfg.latent_dim)
        if isinstance(sampler, str):
            sampler = [sampler] * len(seeds)
        use_gan = torch.tensor([s == "gan" for s in sampler], device=noise.device)
        if not use_gan.any():
            return noise
        z_gan = self.gan.generate(noise, cond)
        return torch.where(use_gan[:, None], z_gan, noise)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, cond: Condition, seeds: torch.Tensor, temperature: torch.Tensor,
               chords: torch.Tensor | None = None, ties: torch.Tensor | None = None) -> Segments:
        """Token segments for latents z; `chords` [B, 32] forces the planned chord of each beat (-1: free);
        `ties` [B * 8, 4] repeats another bar's chord (HierarchicalDecoder.sample)."""
        return self.vae.decoder.sample(z, self.vae.condition(cond), seeds, temperature, chords, ties)


# --- losses ------------------------------------------------------------------------------------------


def reconstruction_losses(logits: dict[str, torch.Tensor], seg: Segments, has_bass: torch.Tensor, has_drums: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-segment negative log-likelihoods (nats, summed over steps) for each track: tensors [B].
    Bass and drums count only where the segment has them."""

    def ce(name: str, target: torch.Tensor) -> torch.Tensor:
        lg = logits[name].float()
        return F.cross_entropy(lg.reshape(-1, lg.shape[-1]), target.reshape(-1), reduction="none").reshape(target.shape).sum(1)

    drums = F.binary_cross_entropy_with_logits(logits["drums"].float(), seg.drums, reduction="none").sum((1, 2))
    return {
        "melody": ce("melody", seg.melody),
        "chords": ce("chords", seg.chords),
        "bass": ce("bass", seg.bass) * has_bass.float(),
        "drums": drums * has_drums.float(),
    }


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per segment [B]."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


def critic_loss(gan: LatentGAN, z_real: torch.Tensor, z_fake: torch.Tensor, cond: Condition, r1_weight: float) -> torch.Tensor:
    """L_D = -log D(z_real, c) - log(1 - D(G(e, c), c)) with D = sigmoid(critic logit), so -log D = softplus(-logit)
    and -log(1 - D) = softplus(logit); plus an R1 gradient penalty at the real latents for stability."""
    z_real = z_real.detach().requires_grad_(r1_weight > 0)
    real_logit = gan.criticise(z_real, cond)
    loss = F.softplus(-real_logit).mean() + F.softplus(gan.criticise(z_fake.detach(), cond)).mean()
    if r1_weight > 0:
        (grad,) = torch.autograd.grad(real_logit.sum(), z_real, create_graph=True)
        loss = loss + 0.5 * r1_weight * grad.pow(2).sum(-1).mean()
    return loss


def generator_loss(gan: LatentGAN, z_fake: torch.Tensor, cond: Condition) -> torch.Tensor:
    """Non-saturating L_G = -log D(G(e, c), c)."""
    return F.softplus(-gan.criticise(z_fake, cond)).mean()


def attribute_loss(gan: LatentGAN, z: torch.Tensor, cond: Condition) -> torch.Tensor:
    """How badly the attribute head reads the condition off latents: style cross-entropy + valence/arousal MSE."""
    out = gan.attribute_head(z).float()
    n_styles = out.shape[-1] - 2
    mood = torch.stack([cond.valence, cond.arousal], dim=-1).float()
    return F.cross_entropy(out[:, :n_styles], cond.style) + F.mse_loss(out[:, n_styles:], mood)


# --- counter-based sampling noise ----------------------------------------------------------------------

_MASK32 = 0xFFFFFFFF


def _mix32(x: torch.Tensor) -> torch.Tensor:
    """An integer hash of 32-bit values held in int64 (constants < 2**31 keep products inside int64)."""
    x = x ^ (x >> 16)
    x = (x * 0x7FEB352D) & _MASK32
    x = x ^ (x >> 15)
    x = (x * 0x5BD1E995) & _MASK32
    x = x ^ (x >> 16)
    x = (x * 0x2C1B3C6D) & _MASK32
    return x ^ (x >> 13)


def hashed_uniform(seeds: torch.Tensor, stream: torch.Tensor | int, n: int) -> torch.Tensor:
    """Uniform noise in (0, 1), [B, n], a pure function of (seed, stream, column)."""
    seeds = seeds.to(torch.long)
    stream_t = torch.as_tensor(stream, dtype=torch.long, device=seeds.device).expand_as(seeds)
    key = _mix32((_mix32(seeds & _MASK32) + stream_t * 0x3C6EF372) & _MASK32)
    cols = torch.arange(n, dtype=torch.long, device=seeds.device)
    x = _mix32(_mix32((key[:, None] + cols[None] * 0x27D4EB2F) & _MASK32) ^ key[:, None])
    return ((x >> 8).to(torch.float32) + 0.5) / float(1 << 24)


def hashed_normal(seeds: torch.Tensor, stream: int, n: int) -> torch.Tensor:
    """Standard normal noise [B, n] by Box-Muller from two hashed uniform streams."""
    u1 = hashed_uniform(seeds, 2 * stream + 1000, n)
    u2 = hashed_uniform(seeds, 2 * stream + 1001, n)
    return torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)


def gumbel_argmax(logits: torch.Tensor, temperature: torch.Tensor, seeds: torch.Tensor, stream: torch.Tensor) -> torch.Tensor:
    """Sample from softmax(logits / temperature) with the Gumbel-max trick and hashed noise."""
    u = hashed_uniform(seeds, stream, logits.shape[-1])
    return torch.argmax(logits / temperature - torch.log(-torch.log(u)), dim=-1)
