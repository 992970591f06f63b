"""Use a Dask cluster when the environment names one (``DASK_SCHEDULER_ADDRESS``)."""

from __future__ import annotations

import functools
import os

SCHEDULER_VARIABLE = "DASK_SCHEDULER_ADDRESS"
CONNECT_TIMEOUT = "10s"


@functools.lru_cache(maxsize=1)
def connect_from_environment():
    """A ``distributed.Client`` for ``$DASK_SCHEDULER_ADDRESS`` (one per process), or None.

    The client becomes dask's default, so every ``.compute()`` of the engine's lazy arrays runs
    on that cluster. Without the variable, dask's local threads are used.

    Raises
    ------
    OSError
        The scheduler cannot be reached (the dashboard reports it and computes locally).
    """
    address = os.environ.get(SCHEDULER_VARIABLE, "").strip()
    if not address:
        return None
    from distributed import Client

    return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=True)
