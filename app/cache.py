"""A small least-recently-used cache keyed by hashable parameter sets."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class LRUCache(Generic[Value]):
    """Keeps the ``maxsize`` most recently used values; thread-safe.

    ``get_or_compute(key, compute)`` returns the cached value or computes, stores and returns
    it. Computations are not deduplicated across threads: the dashboard computes in one worker
    thread per session, so two computations of one key do not race in practice.
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, not {maxsize}")
        self.maxsize = maxsize
        self._values: OrderedDict[Hashable, Value] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Value | None:
        with self._lock:
            if key not in self._values:
                return None
            self._values.move_to_end(key)
            return self._values[key]

    def put(self, key: Hashable, value: Value) -> None:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.maxsize:
                self._values.popitem(last=False)

    def get_or_compute(self, key: Hashable, compute: Callable[[], Value]) -> Value:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                self.hits += 1
                return self._values[key]
            self.misses += 1
        value = compute()
        self.put(key, value)
        return value

    def find(self, accept: Callable[[Hashable], bool]) -> Value | None:
        """The most recently used value whose key ``accept`` s, or None."""
        with self._lock:
            for key in reversed(self._values):
                if accept(key):
                    self._values.move_to_end(key)
                    self.hits += 1
                    return self._values[key]
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
