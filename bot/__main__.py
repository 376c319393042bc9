"""``python -m bot``: runs the bot, its offline demo (no BOT_TOKEN), or the admin CLI."""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    """Dispatches to the admin CLI, the demo, or the bot itself."""
    # PTB 22: durations as timedelta (the coming default), without deprecation warnings.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    if argv[:1] == ["admin"]:
        from bot.admin import run

        try:
            return run(argv[1:])
        except BrokenPipeError:  # output piped into head or less and cut short: not an error
            sys.stderr.close()
            return 0
    if argv[:1] == ["demo"]:
        from bot.demo import main as demo_main

        return demo_main(argv[1:])
    from bot.runner import run_from_command_line

    return run_from_command_line(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
