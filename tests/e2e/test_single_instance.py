"""`python -m bot` twice on one database: the second refuses with a clear message; `health`
says whether the running one's loops are alive, and how far behind they are."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from localapi import LocalBotAPI
from storage.db import Database

TOKEN = "123456:SINGLE-INSTANCE-TOKEN"
ROOT = Path(__file__).resolve().parents[2]


def _env(api: LocalBotAPI, tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "TELEGRAM_API_BASE_FILE_URL": api.base_file_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "SANAD_MODELS_DIR": str(tmp_path / "models"),
        "PYTHONPATH": str(ROOT),
    }


async def _bot(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _health(env: dict[str, str]) -> tuple[int, dict[str, object]]:
    process = await _bot(env, "health", "--json")
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    # Before the first start has created the tables, health cannot read: status 2, no JSON.
    return process.returncode or 0, json.loads(out) if process.returncode != 2 else {}


async def test_a_second_instance_refuses_and_health_reports(tmp_path: Path) -> None:
    async with LocalBotAPI(token=TOKEN) as api:
        env = _env(api, tmp_path)
        first = await _bot(env, "run")
        try:
            for _ in range(300):  # until its lease and first heartbeats are written
                await asyncio.sleep(0.1)
                status, found = await _health(env) if _ % 10 == 9 else (1, {})
                if status == 0:
                    break
            assert status == 0, found
            assert found["instance"]["pid"] == first.pid  # type: ignore[index]
            second = await _bot(env, "run")
            out, err = await asyncio.wait_for(second.communicate(), 60)
            assert second.returncode == 1 and out == b""
            text = err.decode()
            assert "another Sanad is already running on this database" in text
            assert f"pid {first.pid}" in text and "Traceback" not in text
        finally:
            first.send_signal(signal.SIGINT)
            await asyncio.wait_for(first.wait(), 60)
        # A clean stop gives the lease back: health says nothing runs; a start is not refused.
        status, found = await _health(env)
        assert status == 1 and found["instance"] == {  # type: ignore[comparison-overlap]
            "running": False, "host": None, "pid": None, "since_s": None,
        }  # fmt: skip
        again = await _bot(env, "run")
        await asyncio.sleep(3)
        assert again.returncode is None  # still running: it was not refused
        os.kill(again.pid, signal.SIGKILL)  # killed: its lease is taken over at once
        await again.wait()
        third = await _bot(env, "run")
        await asyncio.sleep(3)
        assert third.returncode is None
        third.send_signal(signal.SIGINT)
        await asyncio.wait_for(third.wait(), 60)
    Database(env["DATABASE_URL"]).dispose()
