from tests.helpers.playground import playground, playground_factory, start_bot  # noqa: F401
