"""A least-recently-used cache bounded in bytes, shared by every session of a process.

A class opening the hosted demo asks, thirty times over, for the same deterministic arrays: one
cache per process serves them all, each value computed once. Two rules make that safe:

* **a byte budget**: values are weighed (:func:`weigh`) and the least recently used are dropped
  until the total fits, so memory stays bounded whatever the sessions ask for;
* **one computation per key**: a session asking for a key that another session is computing
  waits for that result instead of computing it again (and gets its error, if it fails: the same
  inputs fail the same way).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import fields, is_dataclass
from typing import Generic, TypeVar

import numpy as np
import xarray as xr

Value = TypeVar("Value")


def weigh(value: object) -> int:
    """The bytes a cached value holds: arrays, DataArrays, and dataclasses, tuples, lists or
    dicts of them (anything else counts a nominal 1 KB)."""
    if isinstance(value, (xr.DataArray, xr.Dataset)):
        return int(value.nbytes)
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if is_dataclass(value) and not isinstance(value, type):
        return sum(weigh(getattr(value, f.name)) for f in fields(value))
    if isinstance(value, (tuple, list)):
        return sum(weigh(item) for item in value)
    if isinstance(value, dict):
        return sum(weigh(item) for item in value.values())
    return 1024


class _Pending:
    """A computation in progress: waiters block on ``done`` and read the outcome."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: object = None
        self.error: BaseException | None = None


class LRUCache(Generic[Value]):
    """Keeps the most recently used values within ``max_bytes``; thread-safe.

    Parameters
    ----------
    max_bytes
        The budget. A single value larger than it is returned but not kept.
    weight
        How many bytes a value holds (default :func:`weigh`).
    """

    def __init__(self, max_bytes: int, weight: Callable[[object], int] = weigh) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1, not {max_bytes}")
        self.max_bytes = max_bytes
        self._weight = weight
        self._values: OrderedDict[Hashable, tuple[Value, int]] = OrderedDict()
        self._pending: dict[Hashable, _Pending] = {}
        self._lock = threading.Lock()
        self.nbytes = 0
        self.hits = 0
        self.misses = 0
        #: Requests that waited for another thread's computation of the same key.
        self.shared = 0

    def get(self, key: Hashable) -> Value | None:
        with self._lock:
            if key not in self._values:
                return None
            self._values.move_to_end(key)
            return self._values[key][0]

    def put(self, key: Hashable, value: Value) -> None:
        size = self._weight(value)
        with self._lock:
            if key in self._values:
                self.nbytes -= self._values.pop(key)[1]
            if size > self.max_bytes:
                return  # kept by whoever holds it, not by the cache
            self._values[key] = (value, size)
            self.nbytes += size
            while self.nbytes > self.max_bytes:
                _, (_, dropped) = self._values.popitem(last=False)
                self.nbytes -= dropped

    def get_or_compute(self, key: Hashable, compute: Callable[[], Value]) -> Value:
        """The cached value of ``key``; or the result of another thread computing it now; or
        ``compute()``, stored."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                self.hits += 1
                return self._values[key][0]
            pending = self._pending.get(key)
            owner = pending is None
            if owner:
                pending = self._pending[key] = _Pending()
                self.misses += 1
            else:
                self.shared += 1
        if not owner:
            pending.done.wait()
            if pending.error is not None:
                raise pending.error
            return pending.value  # type: ignore[return-value]
        try:
            value = compute()
        except BaseException as error:
            pending.error = error
            raise
        else:
            pending.value = value
            self.put(key, value)
            return value
        finally:
            with self._lock:
                del self._pending[key]
            pending.done.set()

    def find(self, accept: Callable[[Hashable], bool]) -> Value | None:
        """The most recently used value whose key ``accept`` s, or None."""
        with self._lock:
            for key in reversed(self._values):
                if accept(key):
                    self._values.move_to_end(key)
                    self.hits += 1
                    return self._values[key][0]
        return None

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._values

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self.nbytes = 0
