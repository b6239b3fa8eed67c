"""The engine's tests share the tiny trained model (tests.helpers.models)."""

from tests.helpers.models import composer, tiny_cache, tiny_run  # noqa: F401
