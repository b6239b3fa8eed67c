"""Shared, typed test helpers, imported one way only: `from tests.helpers.<module> import ...`.

Fixtures are registered in tests/conftest.py (playground, bot, music) or imported into the conftest.py of
the folders that use them (models: the tiny trained model). The fakes the engine service runs in its worker
processes (service_fakes, ray_fakes) fail only through explicit `FakeFaults` switches. Builders of test data:
data_pieces, styled_corpus, synthetic (corpus caches), plans, factories (storage rows), form_reference, rating.
"""
