"""``BackgroundJob``: one long task at a time (a key rotation, a chain verification) run beside the requests, whose
progress and last outcome a page can show.

A page starts the job and answers at once; the job keeps what the page needs: running or not, a progress line, and
the last run's result or public error with its times. Starting a job that is running does nothing (one at a time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from securedesk.clock import Clock
from securedesk.errors import SecureDeskError
from securedesk.logging_setup import describe_exception

logger = logging.getLogger("securedesk.jobs")

T = TypeVar("T")


@dataclass(frozen=True)
class JobRun(Generic[T]):
    """One finished run: its result, or the public description of why it failed (never an exception's raw text)."""

    started_at: float
    finished_at: float
    result: T | None
    error: str | None
    started_by: str

    @property
    def ok(self) -> bool:
        return self.error is None


class BackgroundJob(Generic[T]):
    def __init__(self, name: str, clock: Clock) -> None:
        self.name = name
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self.started_at: float | None = None
        self.started_by = ""
        self.progress: str | None = None
        self.last: JobRun[T] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, work: Callable[[], Awaitable[T]], *, started_by: str) -> bool:
        """Run ``work`` in the background; False (and nothing started) when a run is already under way."""
        if self.running:
            return False
        self.started_at = self._clock.now()
        self.started_by = started_by
        self.progress = None
        self._task = asyncio.get_running_loop().create_task(self._run(work, self.started_at, started_by))
        return True

    async def run(self, work: Callable[[], Awaitable[T]], *, started_by: str) -> JobRun[T] | None:
        """Start ``work`` unless a run is under way, then wait for whichever run is going: its outcome."""
        self.start(work, started_by=started_by)
        await self.wait()
        return self.last

    async def wait(self) -> None:
        """Return when no run is under way."""
        task = self._task
        if task is not None:
            await asyncio.wait({task})  # never raises: the outcome is in ``last``

    async def cancel(self) -> None:
        """Stop a run under way (the work must be safe to interrupt, as rotation and verification are)."""
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, work: Callable[[], Awaitable[T]], started_at: float, started_by: str) -> None:
        result: T | None = None
        error: str | None = None
        try:
            result = await work()
        except asyncio.CancelledError:
            error = "stopped before it finished (the server was shutting down); it can be started again"
            raise
        except SecureDeskError as exc:
            error = exc.message
            logger.warning("job.failed", extra={"fields": {"job": self.name, "error": describe_exception(exc)}})
        except Exception as exc:
            error = "failed unexpectedly; see the server log"
            logger.error("job.failed", extra={"fields": {"job": self.name, "error": describe_exception(exc)}})
        finally:
            self.last = JobRun(started_at, self._clock.now(), result, error, started_by)
            self.progress = None
