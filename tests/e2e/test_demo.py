"""The offline demo runs to the end, prints a readable bilingual transcript and leaves nothing."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from bot.demo import run_demo


async def test_the_demo_script_runs_and_cleans_up(tmp_path: Path) -> None:
    before = set(asyncio.all_tasks())
    out = io.StringIO()
    assert await run_demo(interactive=False, database=tmp_path / "demo.db", out=out) == 0
    transcript = out.getvalue()
    assert "قبل أن نبدأ، هكذا يحافظ سند على معلوماتك" in transcript
    assert "From now on I will write to you in English." in transcript
    assert "📥 New request" in transcript and "K-0001" in transcript
    assert "An engineer will visit tomorrow between 9 and 12." in transcript
    assert "تم حل طلبك" in transcript
    assert "you need your own invite link" in transcript
    assert "Demo finished" in transcript
    await asyncio.sleep(0)
    assert {t for t in asyncio.all_tasks() if not t.done()} - before == set()
