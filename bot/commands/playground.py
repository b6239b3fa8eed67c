"""`tunesmith playground`: serve the Discord-compatible playground (and optionally a tiny demo bot) until Ctrl-C.
`python -m bot.playground` runs the same command."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import typer


async def serve(host: str, port: int, upload_limit: int, ack_deadline: float, followup_window: float, demo_bot: bool) -> None:
    from bot.playground import Playground, configure_discord

    playground = Playground(host, port, upload_limit, ack_deadline, followup_window)
    await playground.start()
    print(f"Playground at {playground.url}  (bot token: {playground.bot_token})", flush=True)
    bot = None
    connection: asyncio.Task[None] | None = None
    try:
        if demo_bot:
            from bot.playground.demo import DemoBot

            configure_discord(playground.url)
            bot = DemoBot(playground.guild_id)
            await bot.login(playground.bot_token)
            connection = asyncio.create_task(bot.connect())
            print("Demo bot running: open the page and type /ping", flush=True)
        await asyncio.Event().wait()
    finally:
        if bot is not None:
            await bot.close()
            if connection is not None:
                connection.cancel()
        await playground.stop()


def playground_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on"),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port to listen on"),
    upload_limit: int = typer.Option(10 * 1024 * 1024, "--upload-limit", min=1, help="Largest upload in bytes (default: 10 MiB)"),
    ack_deadline: float = typer.Option(3.0, "--ack-deadline", min=0.1, help="Seconds a bot has to acknowledge an interaction"),
    followup_window: float = typer.Option(900.0, "--followup-window", min=1.0, help="Seconds an interaction token stays valid"),
    demo_bot: bool = typer.Option(False, "--demo-bot", help="Also run a tiny bot with /ping and /secret"),
) -> None:
    """Serve the Discord-compatible playground on loopback until Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(host, port, upload_limit, ack_deadline, followup_window, demo_bot))


def register(app: typer.Typer) -> None:
    app.command("playground")(playground_command)


def main() -> None:
    """`python -m bot.playground`: the same command on its own."""
    single = typer.Typer(add_completion=False)
    single.command()(playground_command)
    single()
