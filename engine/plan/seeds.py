"""Seeds derived from a seed and labels: every random choice of a piece is a pure function of its seed."""

from __future__ import annotations

import hashlib


def derive_seed(seed: int, *labels: object) -> int:
    """A new 31-bit seed from a seed and labels (segment, retry, style, ...), stable across runs and machines."""
    digest = hashlib.blake2b(repr((seed, *labels)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & 0x7FFFFFFF


def pick(seed: int, label: str, n: int) -> int:
    """A choice in range(n) drawn from the seed, one independent draw per label (a hash: no RNG object to
    build, which cost more than the rest of resolving a request)."""
    return derive_seed(seed, "resolve", label) % n
