"""The `tunesmith` command's sub-commands, one module per group (run, data, eval, bench, train with finetune
and taste-train, arrange, compose, db, media, playground); each defines `register(app)` and bot/cli.py calls it. Commands import
the engine inside their functions, so `tunesmith --help` starts without torch; engine modules that other
processes start with `python -m` (engine.finetune, engine.taste.train) run the typer commands defined here.
"""
