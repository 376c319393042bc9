"""A retrying job's outage is reported once it lasts (runs or time), once per outage, and again
after the job has worked in between; jobs are counted apart and nothing reported carries content.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from bot.delivery import job_health
from bot.delivery.job_health import FAILED_RUNS, FAILING_FOR

SECRET = "المدفأة معطلة"  # words an error message might quote: never in a log line here


@dataclass
class Reports:
    """The reports job_health asked bot.failures for, as (job, error class)."""

    made: list[tuple[str | None, str]] = field(default_factory=list)

    async def report(self, _: Any, error: BaseException, *, job: str | None = None) -> str:
        """Stands in for failures.report_failure; returns a reference like the real one."""
        self.made.append((job, type(error).__name__))
        return f"E-{len(self.made):06d}"


@pytest.fixture
def reports(monkeypatch: pytest.MonkeyPatch) -> Reports:
    """Every report job_health makes, recorded instead of queued."""
    found = Reports()
    monkeypatch.setattr("bot.failures.report_failure", found.report)
    return found


@dataclass
class Clock:
    """A monotonic clock the test moves by hand."""

    at: float = 1000.0

    def __call__(self) -> float:
        """The current reading."""
        return self.at


@pytest.fixture
def clock() -> Clock:
    """A clock standing still until the test moves it."""
    return Clock()


@pytest.fixture
def app(clock: Clock) -> Any:
    """Just the application state job_health uses, with the hand-moved clock."""
    return SimpleNamespace(bot_data=SimpleNamespace(extras={job_health.CLOCK: clock}))


def broken() -> RuntimeError:
    """An error whose message quotes a family's words."""
    return RuntimeError(f"could not keep {SECRET}")


async def fail(app: Any, job: str, times: int) -> list[str | None]:
    """``times`` failed runs of ``job``; the reference each returned (None: not reported)."""
    return [await job_health.failed(app, job, broken()) for _ in range(times)]


async def test_an_outage_is_reported_once_at_the_threshold_run(app: Any, reports: Reports) -> None:
    before = await fail(app, "reminders", FAILED_RUNS - 1)
    assert before == [None] * (FAILED_RUNS - 1) and reports.made == []
    assert await job_health.failed(app, "reminders", broken()) == "E-000001"
    assert reports.made == [("reminders", "RuntimeError")]
    assert await fail(app, "reminders", 3 * FAILED_RUNS) == [None] * (3 * FAILED_RUNS)
    assert len(reports.made) == 1


async def test_a_slow_retrying_job_is_reported_when_the_outage_lasts_long_enough(
    app: Any, reports: Reports, clock: Clock
) -> None:
    assert await fail(app, "lease", 1) == [None]
    clock.at += FAILING_FOR - 1
    assert await fail(app, "lease", 1) == [None]
    assert reports.made == []
    clock.at += 1  # the outage has now lasted FAILING_FOR, in only three runs
    assert await fail(app, "lease", 1) == ["E-000001"]
    clock.at += FAILING_FOR
    assert await fail(app, "lease", 1) == [None]
    assert reports.made == [("lease", "RuntimeError")]


async def test_a_run_that_works_rearms_the_report_for_the_next_outage(
    app: Any, reports: Reports, clock: Clock
) -> None:
    await fail(app, "broadcasts", FAILED_RUNS + 2)
    assert len(reports.made) == 1
    job_health.succeeded(app, "broadcasts")
    clock.at += 5 * FAILING_FOR
    # A new outage starts counting afresh: its first runs are not reported at once.
    assert await fail(app, "broadcasts", FAILED_RUNS - 1) == [None] * (FAILED_RUNS - 1)
    assert len(reports.made) == 1
    assert await fail(app, "broadcasts", 1) == ["E-000002"]
    assert reports.made == [("broadcasts", "RuntimeError")] * 2


async def test_a_run_that_works_before_the_threshold_resets_the_count(
    app: Any, reports: Reports, clock: Clock
) -> None:
    for _ in range(3):
        await fail(app, "reminders", FAILED_RUNS - 1)
        job_health.succeeded(app, "reminders")
        clock.at += FAILING_FOR  # a long quiet gap does not count as failing time either
    assert reports.made == []
    assert job_health.streak(app, "reminders").runs == 0


async def test_each_job_is_counted_apart(app: Any, reports: Reports) -> None:
    for _ in range(FAILED_RUNS - 1):
        await fail(app, "reminders", 1)
        await fail(app, "broadcasts", 1)
    assert reports.made == []
    job_health.succeeded(app, "broadcasts")
    await fail(app, "reminders", 1)
    await fail(app, "broadcasts", 1)
    assert reports.made == [("reminders", "RuntimeError")]


async def test_the_log_says_which_job_and_how_many_runs_never_the_error_text(
    app: Any, reports: Reports, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.delivery.job_health")
    await fail(app, "reminders", FAILED_RUNS)
    job_health.succeeded(app, "reminders")
    job_health.succeeded(app, "reminders")  # already well: nothing more to say
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "job reminders: run failed (1 in a row)"
    assert lines[FAILED_RUNS - 1] == f"job reminders: run failed ({FAILED_RUNS} in a row)"
    assert lines[FAILED_RUNS:] == [f"job reminders: recovered after {FAILED_RUNS} failed runs"]
    assert not any(SECRET in line or "could not keep" in line for line in lines)


async def test_a_short_outage_that_was_never_reported_recovers_quietly(
    app: Any, reports: Reports, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.delivery.job_health")
    await fail(app, "outbox-drain", 2)
    job_health.succeeded(app, "outbox-drain")
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.WARNING]


async def test_a_report_that_itself_fails_never_reaches_the_retrying_loop(
    app: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def unreachable(*_: Any, **__: Any) -> str:
        raise OSError("the disk is gone")

    monkeypatch.setattr("bot.failures.report_failure", unreachable)
    caplog.set_level(logging.WARNING, logger="bot.delivery.job_health")
    assert await fail(app, "reminders", FAILED_RUNS) == [None] * FAILED_RUNS
    assert "job reminders: could not report the outage" in [r.getMessage() for r in caplog.records]
