"""The command tests train the tiny model on the synthetic cache (tests.helpers.models)."""

from tests.helpers.models import composer, tiny_cache, tiny_run  # noqa: F401
