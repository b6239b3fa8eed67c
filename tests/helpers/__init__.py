"""Shared, typed test helpers. Import fixtures into a conftest.py, e.g.
`from tests.helpers.playground import playground, playground_factory, start_bot  # noqa: F401`."""
