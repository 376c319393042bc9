"""``python -m bot`` with a fake translator that takes a fixed time per message.

Used by ``bench_inbound``: the installed model packages make directions available, and each
model call sleeps ``SANAD_BENCH_TRANSLATION_DELAY`` seconds (0.1 by default) in the translator's
worker thread, as a slow real model would, then answers with a marked copy of the text.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any


def install_slow_model(delay: float) -> None:
    """Replaces the model call and warm-up of ``Translator`` with a fixed-time fake."""
    from bot.services import translation

    def run_model(self: Any, text: str, source: str, target: str) -> str:
        """Sleeps like a busy model, then 'translates'."""
        time.sleep(delay)
        return f"[mt] {text}"

    def warm_up(self: Any) -> set[tuple[str, str]]:
        """Nothing to load."""
        return set(self.available_directions())

    translation.Translator._run_model = run_model  # type: ignore[method-assign]
    translation.Translator._warm_up_blocking = warm_up  # type: ignore[method-assign]


def main() -> int:
    """Installs the fake, then runs the bot exactly as ``python -m bot``."""
    install_slow_model(float(os.environ.get("SANAD_BENCH_TRANSLATION_DELAY", "0.1")))
    from bot.__main__ import main as bot_main

    return bot_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
