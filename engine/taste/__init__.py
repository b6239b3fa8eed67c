"""Per-server taste: what `/retrain` learns for one server, in the spirit of Latent Constraints (Engel et al. 2018).

The shared model (VAE + latent GAN) stays as it is. For one server, `engine.taste.train` learns

- a **critic** of the server's ratings in the VAE's latent space: a small MLP that reads a track's theme
  latent (and what was asked: style, valence, arousal) and predicts how the server rates it; each member's
  ratings together weigh at most `retrain_max_member_share` of the total (engine.finetune.member_weights);
- an **actor**: a small MLP that moves a GAN latent z to z' = z + d(z, condition), trained to raise the
  critic's prediction while staying near z (a distance penalty in units of the latents' spread) and where
  real latents are (the base GAN's own critic must not find z' less real than z).

The result is one small file per server and version (`TasteModel.save`), applied when that server composes:
the request carries the file (`ComposeRequest.taste`) and the Composer moves each theme latent through the
actor before writing notes (`Composer.steer`, the one hook in engine.generate). Other servers' requests
carry no taste, so their pieces are exactly what the shared model writes.

Importing this package does not import torch (the cogs name its module paths only); `engine.taste.model`,
`engine.taste.train` and `engine.taste.simulate` do.

    tunesmith taste-train --ratings RATINGS.npz --out DIR [--base MODEL.pt] [--steps N]
"""

TASTE_FILE = "taste.pt"  # the file name of a trained taste model inside its version folder

__all__ = ["TASTE_FILE"]
