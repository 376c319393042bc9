"""Jobs that catch their own errors and retry soon: an outage is told to staff once, not per run.

Each retrying loop (the reminder clock, the broadcaster, the outbox drain, the lease renewal)
counts its consecutive failed runs here; once a run fails for long enough the failure is
reported by reference (bot/failures.py), and a run that succeeds re-arms the report.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot import failures

logger = logging.getLogger(__name__)

# An outage is reported at its FAILED_RUNS-th consecutive failed run, or at the first failed
# run FAILING_FOR seconds after the first, whichever comes first: a busy database that a retry
# a few seconds later gets through is not worth a staff notice, a dead one is.
FAILED_RUNS = 5
FAILING_FOR = 600.0
STATE = "job_health"  # ``app.bot_data.extras[STATE]``: each job's Streak, by job name
CLOCK = "job_health_clock"  # ``app.bot_data.extras[CLOCK]``: a monotonic clock (tests only)


@dataclass
class Streak:
    """One job's run of consecutive failures: how many, since when, and whether told."""

    runs: int = 0
    since: float = 0.0
    reported: bool = False

    def fail(self, at: float) -> bool:
        """Counts one failed run at ``at`` (monotonic seconds); True exactly once per outage,
        at the run that makes it long enough to report."""
        if self.runs == 0:
            self.since = at
        self.runs += 1
        if self.reported or (self.runs < FAILED_RUNS and at - self.since < FAILING_FOR):
            return False
        self.reported = True
        return True

    def recover(self) -> Streak:
        """Ends the outage (a run succeeded); returns the streak as it was, then re-arms."""
        ended = Streak(self.runs, self.since, self.reported)
        self.runs, self.since, self.reported = 0, 0.0, False
        return ended


def streak(app: Any, job: str) -> Streak:
    """The job's current streak in the application's state, created on first use."""
    streaks: dict[str, Streak] = app.bot_data.extras.setdefault(STATE, {})
    found = streaks.get(job)
    if found is None:
        found = streaks[job] = Streak()
    return found


def _now(app: Any) -> float:
    """Monotonic seconds (the injected clock in tests)."""
    clock: Callable[[], float] = app.bot_data.extras.get(CLOCK) or time.monotonic
    return clock()


async def failed(app: Any, job: str, error: BaseException) -> str | None:
    """Logs one failed run (the error's class only, see bot.logs.SafeFormatter) and reports
    the outage once it has lasted long enough; returns the reference when it reported."""
    found = streak(app, job)
    due = found.fail(_now(app))
    logger.warning("job %s: run failed (%d in a row)", job, found.runs, exc_info=error)
    if not due:
        return None
    try:
        return await failures.report_failure(app, error, job=job)
    except Exception:  # telling staff must never stop the loop that retries
        logger.exception("job %s: could not report the outage", job)
        return None


def succeeded(app: Any, job: str) -> None:
    """Notes a run that worked: a reported outage is over, and the next one is told again."""
    streaks: dict[str, Streak] = app.bot_data.extras.get(STATE) or {}
    found = streaks.get(job)
    if found is None or found.runs == 0:
        return  # the usual case: nothing to re-arm
    ended = found.recover()
    if ended.reported:
        logger.info("job %s: recovered after %d failed runs", job, ended.runs)
