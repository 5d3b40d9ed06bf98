"""Independent jobs on Ray: a local Ray instance on this machine by default, or an existing
cluster given its address - the same code either way.

Only what Ray leaves to its caller lives here: starting and stopping the session quietly (no
dashboard, no usage report, workers' output kept out of the driver's), a cap on the jobs in
flight, and results in completion order with each job's failure returned rather than raised,
so that one failed job never discards the others'. Ray is imported lazily: ``--help`` and
every command that runs no jobs stay fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ecqx.errors import EcqxError


class ClusterError(EcqxError):
    """Ray could not be started or reached; the message says what to check."""


@dataclass(frozen=True)
class Job:
    """One call of a module-level function (Ray ships it by reference)."""

    key: object  # the caller's name for the job, handed back with its result
    fn: Callable[..., Any]
    args: tuple = ()
    after: object = None  # key of a job whose result this one waits for (not passed to it)


@dataclass
class Done:
    key: object
    result: Any = None
    error: BaseException | None = None


def local_cpus() -> int:
    return len(os.sched_getaffinity(0))


@contextmanager
def session(address: str | None = None, cpus: int | None = None) -> Iterator[Any]:
    """A Ray session: ``address`` None starts a private local instance with ``cpus`` CPUs
    (default all of this machine's); an address (``host:port`` or ``auto``) joins a running
    cluster, whose size is its own. Shut down on exit."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no report sent home, no prompt
    import ray

    try:
        if address is None:
            ray.init(num_cpus=cpus or local_cpus(), include_dashboard=False,
                     log_to_driver=False, logging_level="ERROR")  # fmt: skip
        else:
            ray.init(address=address, log_to_driver=False, logging_level="ERROR")
    except Exception as e:  # Ray raises ConnectionError, RuntimeError, ValueError...
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise ClusterError(
            f"could not start {where}: {e}. Check the address (ray status on the head node) "
            "or run without --address to use this machine alone"
        ) from e
    try:
        yield ray
    finally:
        ray.shutdown()


def run_jobs(
    jobs: Iterable[Job], in_flight: int, cpus_per_job: int = 1, gpus_per_job: float = 0.0
) -> Iterator[Done]:
    """Run ``jobs`` on the current Ray session, at most ``in_flight`` at a time (each
    reserving ``cpus_per_job`` CPUs and ``gpus_per_job`` GPUs), and yield each one's ``Done``
    as it finishes. A job with ``after`` starts once that job has finished successfully; if
    that one failed, it fails too, naming it."""
    import ray

    pending = list(jobs)
    remotes: dict[Callable, Any] = {}
    finished: dict[object, Done] = {}
    running: dict[Any, Job] = {}

    def ready(job: Job) -> bool:
        return job.after is None or job.after in finished

    while pending or running:
        for job in [j for j in pending if ready(j)]:
            if len(running) >= in_flight:
                break
            pending.remove(job)
            dep = finished.get(job.after)
            if dep is not None and dep.error is not None:
                done = Done(job.key, error=ClusterError(f"{job.after} failed: {dep.error}"))
                finished[job.key] = done
                yield done
                continue
            if job.fn not in remotes:
                remotes[job.fn] = ray.remote(
                    num_cpus=cpus_per_job, num_gpus=gpus_per_job, max_retries=0
                )(job.fn)
            running[remotes[job.fn].remote(*job.args)] = job
        if not running:
            if pending:  # waiting on a job that is not in this batch
                missing = {j.after for j in pending}
                raise ClusterError(f"jobs wait for unknown jobs {sorted(map(str, missing))}")
            break
        (ref,), _ = ray.wait(list(running), num_returns=1)
        job = running.pop(ref)
        try:
            done = Done(job.key, result=ray.get(ref))
        except Exception as e:  # the job's own exception, wrapped by Ray
            cause = getattr(e, "cause", None)
            done = Done(job.key, error=cause if isinstance(cause, BaseException) else e)
        finished[job.key] = done
        yield done
