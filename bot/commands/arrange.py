"""`tunesmith arrange`: rebuild the arranger's shipped tables: `learn` (patterns.json and performance.json from
the training data sets) and `calibrate` (levels.json, each part's volume measured with the default SoundFont)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    arrange_app = typer.Typer(help="The arranger's tables: learn patterns, calibrate levels.", no_args_is_help=True)

    @arrange_app.command("learn")
    def learn_command(
        data: Path | None = typer.Option(None, "--data", help="The shared data folder (default: ../shared/data beside the checkout)"),
        out: Path | None = typer.Option(None, "--out", help="Where to write patterns.json (default: engine/arrange/patterns.json)"),
        performance_out: Path | None = typer.Option(None, "--performance-out", help="Where to write performance.json (default: beside patterns.json)"),
    ) -> None:
        """Learn drum grooves, walking bass, comping and performance from the data sets into the arranger's JSON."""
        from engine.arrange.learn import DEFAULT_DATA, PATTERNS_PATH, PERFORMANCE_PATH, MissingTrainingData, write_patterns

        try:
            write_patterns(data or DEFAULT_DATA, out or PATTERNS_PATH, performance_out or PERFORMANCE_PATH)
        except MissingTrainingData as exc:
            raise typer.BadParameter(str(exc), param_hint="--data") from None

    @arrange_app.command("calibrate")
    def calibrate_command() -> None:
        """Measure each part's loudness alone in every style and mood and write the track volumes (levels.json)."""
        from engine.render.calibrate import write_levels

        write_levels()

    app.add_typer(arrange_app, name="arrange")
