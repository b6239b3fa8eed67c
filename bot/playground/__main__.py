"""`python -m bot.playground`: serve the playground (and optionally a demo bot) until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from bot.playground import Playground, configure_discord


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.playground", description="Serve the Discord-compatible playground.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--upload-limit", type=int, default=10 * 1024 * 1024, help="largest upload in bytes (default: 10 MiB)")
    parser.add_argument("--ack-deadline", type=float, default=3.0, help="seconds a bot has to acknowledge an interaction")
    parser.add_argument("--followup-window", type=float, default=900.0, help="seconds an interaction token stays valid")
    parser.add_argument("--demo-bot", action="store_true", help="also run a tiny bot with /ping and /secret")
    return parser.parse_args()


async def serve(args: argparse.Namespace) -> None:
    playground = Playground(args.host, args.port, args.upload_limit, args.ack_deadline, args.followup_window)
    await playground.start()
    print(f"Playground at {playground.url}  (bot token: {playground.bot_token})", flush=True)
    bot = None
    connection: asyncio.Task[None] | None = None
    try:
        if args.demo_bot:
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


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args()))


if __name__ == "__main__":
    main()
