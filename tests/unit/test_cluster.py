"""Jobs on a local Ray instance: results in completion order, a failure returned instead of
raised, and a job that waits for a failed one failing with its name."""

import json

from ecqx import cluster


def test_jobs_run_wait_and_fail_alone():
    jobs = [
        cluster.Job("a", json.loads, ("2",)),
        cluster.Job("bad", json.loads, ("{",)),
        cluster.Job("b", json.loads, ("3",), after="a"),
        cluster.Job("c", json.loads, ("4",), after="bad"),
    ]
    with cluster.session(cpus=2):
        done = {d.key: d for d in cluster.run_jobs(jobs, in_flight=2)}
    assert set(done) == {"a", "bad", "b", "c"}
    assert done["a"].result == 2 and done["b"].result == 3
    assert isinstance(done["bad"].error, ValueError)
    assert isinstance(done["c"].error, cluster.ClusterError) and "bad" in str(done["c"].error)
