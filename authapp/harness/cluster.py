"""Experiments on a Dask cluster: ``authapp experiment --cluster ADDRESS`` (issue 24).

The identities of a run are independent jobs (``authapp.harness.runner.evaluate_identity``); on a
cluster joblib hands them to Dask's scheduler through its ``dask`` backend, so the runner's
loop is the same for one process, ``--jobs N`` and many machines. ``ADDRESS`` is a running
scheduler (``tcp://host:8786``, started with ``dask scheduler``; workers join it with
``dask worker tcp://host:8786 --nthreads 1``) or ``local:N``, a ``LocalCluster`` of N worker
processes on this machine. Workers need the same version of the code and the data set at the
same path (README, "Scale").
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from authapp.harness.data import ExperimentError

LOCAL_PREFIX = "local:"
CONNECT_TIMEOUT_S = 30


def parse_cluster(address: str) -> tuple[str, int | None]:
    """("local", N) for ``local:N``; (address, None) for a scheduler's address."""
    address = str(address).strip()
    if address.startswith(LOCAL_PREFIX):
        text = address[len(LOCAL_PREFIX):]
        try:
            n = int(text)
        except ValueError:
            raise ExperimentError(f"--cluster local:N wants a number of workers, got "
                                  f"{address!r}") from None
        if n < 1:
            raise ExperimentError(f"--cluster local:N needs at least 1 worker, got {n}")
        return "local", n
    if not address:
        raise ExperimentError("--cluster needs a scheduler address (tcp://host:8786) or "
                              "local:N")
    return address, None


@contextlib.contextmanager
def dask_client(address: str) -> Iterator[Any]:
    """A ``dask.distributed.Client`` for ``address`` (a ``LocalCluster`` for ``local:N``,
    one thread per worker process), closed afterwards; joblib's ``dask`` backend uses it."""
    where, n_workers = parse_cluster(address)
    from dask.distributed import Client, LocalCluster  # (only a cluster run pays for it)

    for name in ("distributed", "bokeh", "tornado"):  # their INFO chatter is not ours
        logging.getLogger(name).setLevel(logging.WARNING)
    cluster = None
    try:
        if n_workers is not None:
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(where, timeout=CONNECT_TIMEOUT_S)
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise ExperimentError(f"--cluster {address}: cannot reach the Dask scheduler "
                              f"({exc})") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
