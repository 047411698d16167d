"""The process-pool engine: score many cases with N processes, this one included.

Knows nothing about metrics: a scorer hands it a module-level function `score_one(task, job)`
(so that it pickles by name), the task and the jobs, and gets the outcomes back in the order
they finished. What it takes care of:

* the calling process scores cases itself instead of idling while a pool works, so `workers`
  processes never compete for `workers` cores with an idle parent;
* helpers get small chunks from the back of the queue (`_chunk_size`), as paths, not arrays;
* the end of a run never waits on a slow helper: its last chunks are scored here too, and
  whichever copy is done first is kept (scoring is deterministic);
* pools outlive one submission (`_POOLS`), start from a fork server with the evaluator
  preloaded, and are replaced once if a worker dies.

May import: `evaluator.metrics` (to warm up the compiled kernels in each worker), nothing
else of the evaluator.
"""

from __future__ import annotations

import atexit
import math
import multiprocessing
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import cv2

from evaluator.metrics import warm_up

ProgressCallback = Callable[[int, int], None]

Job = TypeVar("Job")
Outcome = TypeVar("Outcome")

#: Modules each worker needs, imported once by the fork server (plain strings: update them
#: when a scorer moves).
PRELOAD = [
    "evaluator.parallel",
    "evaluator.scorers.standard",
    "evaluator.scorers.psfhs2023",
    "evaluator.metrics.surface",
    "evaluator.metrics.biometry",
]


def _init_worker() -> None:
    """One OpenCV thread per worker process: the pool already uses every core, and nested
    thread pools only contend with each other."""
    cv2.setNumThreads(1)
    warm_up()  # load the compiled distance kernels before the first case, not during it


def _score_chunk(
    score_one: Callable[[Any, Job], Outcome], task: Any, jobs: Sequence[Job]
) -> list[Outcome]:
    """Worker entry point: score a chunk of cases (module-level so it pickles)."""
    return [score_one(task, job) for job in jobs]


def _chunk_size(total: int, workers: int) -> int:
    """Cases per helper chunk: about 1/16 of a worker's share (at least one). Small enough
    that the last chunks hold nobody up for long; large enough that the hand-off (a fraction
    of a millisecond per chunk) stays a few percent of the work even for 256x256 masks."""
    return max(1, math.ceil(total / (workers * 16)))


def _mp_context() -> multiprocessing.context.BaseContext:
    """forkserver with the evaluator preloaded, where available.

    Plain fork is unsafe here: the parent may already run ITK and OpenCV thread pools (any
    earlier scoring does), and a child forked while those pools exist deadlocks in its
    first filter. A fork server is a clean single-threaded process that imports NumPy,
    SimpleITK and OpenCV once, so workers start fast without inheriting live threads. spawn
    is the fallback on platforms without it.
    """
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def run_jobs(
    score_one: Callable[[Any, Job], Outcome],
    task: Any,
    jobs: list[Job],
    *,
    workers: int,
    progress: ProgressCallback | None,
    pool: ProcessPoolExecutor | None = None,
) -> list[Outcome]:
    """Score every job with `workers` processes in all: this one and `workers - 1` helpers.

    The calling process scores cases itself instead of idling while a pool works: for a
    small submission most of the work then needs no hand-off at all, and `workers` processes
    never compete for `workers` cores with an idle parent. The helpers are the cached pool
    of `workers - 1` processes (replaced once if a worker dies), or `pool` when given.
    """
    run = _Run(score_one, task, jobs, workers, progress)
    run.report(0)
    if workers <= 1 or len(jobs) <= 1:
        return [run.score(job, done) for done, job in enumerate(jobs, start=1)]
    if pool is not None:
        return run.with_helpers(pool)
    helpers = workers - 1
    try:
        return run.with_helpers(_pool(helpers))
    except BrokenProcessPool:
        # A worker died (killed, out of memory): start afresh once, so one bad event does
        # not poison every later submission of a long-running scoring service.
        _discard_pool(helpers)
        return run.with_helpers(_pool(helpers))


#: Chunks queued per helper: one running, one ready, so a helper never waits for this process.
_IN_FLIGHT_PER_HELPER = 2


@dataclass(frozen=True)
class _Run(Generic[Job, Outcome]):
    """One `run_jobs` call: what to score, how, with how many processes, whom to tell."""

    score_one: Callable[[Any, Job], Outcome]
    task: Any
    jobs: list[Job]
    workers: int
    progress: ProgressCallback | None

    def report(self, done: int) -> None:
        if self.progress:
            self.progress(done, len(self.jobs))

    def score(self, job: Job, done: int) -> Outcome:
        """Score one job here and report `done` cases finished."""
        outcome = self.score_one(self.task, job)
        self.report(done)
        return outcome

    def with_helpers(self, pool: ProcessPoolExecutor) -> list[Outcome]:
        """Cases from the front are scored here one by one, small chunks from the back by the
        pool's helpers.

        A chunk handed over cannot be taken back, and on a busy machine a helper may be slow
        to get a core. So once nothing is left to hand out, this process does not wait for
        the helpers' last chunks: it scores them too, latest first, and keeps whichever copy
        is done first (scoring is deterministic, so both copies are equal). The end of a
        submission then never waits on a helper for longer than this process would take
        alone; the price is a helper finishing a small chunk nobody needs (see
        `_chunk_size`).
        """
        score_one, task = self.score_one, self.task
        queue = deque(self.jobs)
        size = _chunk_size(len(self.jobs), self.workers)
        limit = _IN_FLIGHT_PER_HELPER * (self.workers - 1)
        outcomes: list[Outcome] = []
        pending: dict[Future, list[Job]] = {}
        done = 0

        def resolve(future: Future, result: list[Outcome]) -> None:
            nonlocal done
            chunk = pending.pop(future)
            outcomes.extend(result)
            done += len(chunk)
            self.report(done)

        def collect(futures: set[Future]) -> None:
            for future in futures:
                resolve(future, future.result())

        def top_up() -> None:
            while queue and len(pending) < limit:
                chunk = [queue.pop() for _ in range(min(size, len(queue)))]
                pending[pool.submit(_score_chunk, score_one, task, chunk)] = chunk

        try:
            top_up()
            while queue:
                done += 1
                outcomes.append(self.score(queue.popleft(), done))
                finished = {f for f in pending if f.done()}
                if finished:
                    collect(finished)
                    top_up()
            for future in reversed(list(pending)):  # the latest chunk is the least advanced
                if future not in pending:
                    continue  # collected meanwhile
                mine: list[Outcome] = []
                for job in pending[future]:
                    if future.done():
                        break
                    mine.append(score_one(task, job))
                else:
                    if not future.done():
                        resolve(future, mine)  # done here first; the helper's copy is dropped
                collect({f for f in pending if f.done()})
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                collect(finished)
        finally:
            for future in pending:
                future.cancel()
        return outcomes


# Worker pools outlive one submission: a scoring service then pays process start-up and the
# workers' one-off warm-up (compiled metric kernels loaded from cache) once, not per upload.
_POOLS: dict[int, ProcessPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(workers: int) -> ProcessPoolExecutor:
    with _POOLS_LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            pool = ProcessPoolExecutor(
                max_workers=workers, mp_context=_mp_context(), initializer=_init_worker
            )
            _POOLS[workers] = pool
        return pool


def _discard_pool(workers: int) -> None:
    with _POOLS_LOCK:
        pool = _POOLS.pop(workers, None)
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def shutdown_pools() -> None:
    """Stop the cached worker processes (also done at interpreter exit)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown_pools)

__all__ = ["PRELOAD", "ProgressCallback", "run_jobs", "shutdown_pools"]
