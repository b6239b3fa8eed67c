"""`python -m bot.playground`: the `tunesmith playground` command (bot/commands/playground.py)."""

from bot.commands.playground import main

if __name__ == "__main__":
    main()
