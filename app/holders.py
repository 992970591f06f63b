"""What keeps an object in memory: the chains of referrers from it up to what holds it.

A served process logs them for a closed session's dashboard that outlives its session (see
app/app.py): a leak seen once on a loaded CI machine then says where it is, instead of only
that it is.
"""

from __future__ import annotations

import gc
import sys
import threading
import types
from collections import deque

#: How far up the chains go (a closed dashboard on CI was held by no chain of 16 links or
#: fewer: a Bokeh document's model graph is deep).
MOST_STEPS = 200


def describe(obj: object) -> str:
    """A short name for one link of a chain: its type, and what says which one it is."""
    kind = type(obj).__qualname__
    if isinstance(obj, types.FunctionType | types.MethodType):
        return f"{kind} {getattr(obj, '__qualname__', '?')}"
    if isinstance(obj, types.ModuleType):
        return f"module {obj.__name__}"
    if isinstance(obj, types.FrameType):
        return f"frame {obj.f_code.co_qualname} ({obj.f_code.co_filename}:{obj.f_lineno})"
    if isinstance(obj, dict):
        owner = next((key for key in ("__name__", "name") if isinstance(obj.get(key), str)), None)
        return f"dict ({len(obj)} keys{f', {obj[owner]!r}' if owner else ''})"
    if isinstance(obj, list | tuple | set | frozenset | deque):
        return f"{kind} of {len(obj)}"
    return kind


def holder_chains(target: object, most: int = 3) -> list[str]:
    """Chains of referrers from ``target`` up to what holds it: an object some of whose
    references come from outside the containers the garbage collector sees (a module's
    globals, a running frame's locals, a C structure such as a thread's state), which is
    what the collector itself counts as reachable.

    One pass over every object the collector tracks (seconds in a served process with a class
    in memory: for a leak, not for every session).

    Parameters
    ----------
    target
        The object that should have been freed.
    most
        How many chains to return at most (the shortest first).

    Returns
    -------
    Each chain as ``target <- holder <- ... <- root``; none if no root was found within
    :data:`MOST_STEPS` links.
    """
    gc.collect()
    # Held by a tracked container alone, as an object nothing else holds would be.
    probe_box: list[list[object]] = [[]]
    tracked = gc.get_objects()
    # Counts first, ints only: the lists of referrers built after them hold objects too.
    inside: dict[int, int] = {}
    for holder in tracked:
        for referent in gc.get_referents(holder):
            inside[id(referent)] = inside.get(id(referent), 0) + 1
    del holder, referent
    uncounted: dict[int, int] = {}
    for obj in tracked:  # references the loop itself adds: ``tracked``, ``obj``, the argument
        uncounted[id(obj)] = sys.getrefcount(obj) - inside.get(id(obj), 0)
    del obj
    # Held from outside what the collector tracks: the collector's own test of reachability.
    held_from_outside = {
        key for key, count in uncounted.items() if count > uncounted[id(probe_box[0])]
    }
    referrers: dict[int, list[object]] = {}
    for holder in tracked:
        for referent in gc.get_referents(holder):
            referrers.setdefault(id(referent), []).append(holder)
    parents: dict[int, int | None] = {id(target): None}
    objects: dict[int, object] = {id(target): target}
    queue = deque([(target, 0)])
    roots: list[int] = []
    while queue and len(roots) < most:
        current, steps = queue.popleft()
        if current is not target and (
            id(current) in held_from_outside or isinstance(current, types.ModuleType)
        ):
            roots.append(id(current))
            continue
        if steps >= MOST_STEPS:
            continue
        for holder in referrers.get(id(current), []):
            if id(holder) not in objects and holder is not tracked:
                objects[id(holder)] = holder
                parents[id(holder)] = id(current)
                queue.append((holder, steps + 1))

    def chain(node: int | None) -> list[str]:
        links = []
        while node is not None:
            links.append(describe(objects[node]))
            node = parents[node]
        return links

    chains = [" <- ".join(reversed(chain(root))) for root in roots]
    # A running frame's locals are no container the collector tracks: name the threads'
    # frames that hold the target, or anything on its chains, directly.
    walker = sys._getframe()
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    for ident, frame in sys._current_frames().items():
        while frame is not None and len(chains) < 4 * most:
            if frame is not walker:
                for local, value in list(frame.f_locals.items()):
                    if id(value) in objects and value is objects[id(value)]:
                        where = describe(frame)
                        thread = names.get(ident, ident)
                        links = [*reversed(chain(id(value))), f"local {local!r} of {where}"]
                        chains.append(" <- ".join(links) + f" in {thread}")
            frame = frame.f_back
    return chains
