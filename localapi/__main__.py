"""``python -m localapi``: the local Bot API on its own, optionally with Telegram's limits or a
fault, for running ``python -m bot`` against it by hand (TELEGRAM_API_BASE_URL=<printed URL>)."""

from __future__ import annotations

import argparse
import asyncio

from localapi.faults import Fault
from localapi.limits import TelegramLimits
from localapi.server import LocalBotAPI


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m localapi", description=__doc__)
    parser.add_argument("--token", default="123456:LOCAL-TEST-TOKEN")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--limits", action="store_true", help="enforce Telegram's send limits")
    parser.add_argument("--overall", type=int, default=TelegramLimits.overall_per_second)
    parser.add_argument("--per-chat", type=float, default=TelegramLimits.per_chat_per_second)
    parser.add_argument("--burst", type=int, default=TelegramLimits.per_chat_burst)
    parser.add_argument("--fault", choices=[f.value for f in Fault], help="inject into sends")
    parser.add_argument("--fault-seconds", type=float, default=60.0, help="for this long")
    parser.add_argument("--retry-after", type=int, default=5, help="of an injected 429")
    parser.add_argument("--user", type=int, action="append", default=[], help="a chat id")
    return parser.parse_args(argv)


def build(args: argparse.Namespace) -> LocalBotAPI:
    """The server the options describe (not started)."""
    limits = TelegramLimits(args.overall, args.per_chat, args.burst) if args.limits else False
    api = LocalBotAPI(token=args.token, port=args.port, rate_limits=limits)
    for user_id in args.user:
        api.user(user_id)
    if args.fault:
        api.inject(args.fault, seconds=args.fault_seconds, retry_after=args.retry_after)
    return api


async def serve(args: argparse.Namespace) -> None:
    """Runs until interrupted."""
    async with build(args) as api:
        print(f"local Bot API on {api.base_url} (limits {'on' if args.limits else 'off'})")
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    try:
        asyncio.run(serve(parse(argv)))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
