"""What a server allows: the caps of hosted mode, and the memory budget of every mode.

A dashboard on a laptop may compute whatever its user asks for, within one bound that always
holds: the memory budget of the shared cache (:mod:`app.cache`), which also bounds a single
view's collection (a longer date range is thinned, or refused, see
:meth:`app.computations.Computations.collection`). A public server for a class
(``panel serve app/app.py --args --hosted``, or ``COMPOSITE_EXPLORER_HOSTED=1``) adds caps, each
named in the notification when it is hit:

* the view's side and the thermal area (km), and the pixels per side computed;
* the date range (days);
* how many layers are visible at once;
* each computation's run time (s);
* how many refreshes a session may start per second.

The caps are plain data here (no Panel): the settings, the view planner, the computations and the
refresh read them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: The environment variable that turns hosted mode on (any of 1, true, yes).
HOSTED_VARIABLE = "COMPOSITE_EXPLORER_HOSTED"
#: The command-line flag (after ``panel serve app/app.py --args``) that turns it on.
HOSTED_FLAG = "--hosted"
#: The environment variable that sets the shared cache's budget in MB (both modes).
CACHE_VARIABLE = "COMPOSITE_EXPLORER_CACHE_MB"


class LimitError(ValueError):
    """A request beyond one of the server's caps; the message names the cap and what to do."""


@dataclass(frozen=True)
class Limits:
    """The caps a dashboard works within (None: no cap but the memory budget).

    Parameters
    ----------
    hosted
        Whether these are hosted mode's caps (the messages say "this server's limit").
    cache_mb
        The shared cache's budget in MB; one view's collection may take at most half of it.
    max_range_days
        Longest date range, in days (the end excluded).
    max_area_km
        Largest side of the computed view and of the thermal area, km on the ground.
    max_pixels_per_side
        A view is computed on at most this many pixels along each side (coarser beyond).
    max_layers
        Most layers visible at once.
    max_run_s
        Longest a single computation may run before it is stopped.
    changes_per_second
        Most refreshes a session may start per second (more are merged into the next one).
    """

    hosted: bool = False
    cache_mb: int = 1536
    max_range_days: int | None = None
    max_area_km: float | None = None
    max_pixels_per_side: int = 2500
    max_layers: int | None = None
    max_run_s: float | None = None
    changes_per_second: float | None = None

    @property
    def cache_bytes(self) -> int:
        return self.cache_mb * 2**20

    @property
    def collection_bytes(self) -> int:
        """The most one view's collection may take in memory: half the cache."""
        return self.cache_bytes // 2

    def cap_text(self, what: str) -> str:
        """How a message names a cap: "this server's limit" when hosted."""
        return f"this server's limit for {what}" if self.hosted else f"the limit for {what}"


#: A laptop or a notebook: no caps but the memory budget.
LOCAL = Limits()
#: A public server for a class: ~30 sessions on 2 cores and a few GB.
HOSTED = Limits(
    hosted=True,
    cache_mb=1024,
    max_range_days=366,
    max_area_km=20.0,
    max_pixels_per_side=1600,
    max_layers=3,
    max_run_s=60.0,
    changes_per_second=4.0,
)


def limits_from(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> Limits:
    """The limits that the command line (``--hosted``) and the environment ask for.

    Parameters
    ----------
    argv
        The app's arguments (``sys.argv``: ``panel serve app/app.py --args --hosted``).
    environ
        The environment (``COMPOSITE_EXPLORER_HOSTED``, ``COMPOSITE_EXPLORER_CACHE_MB``).

    Raises
    ------
    ValueError
        ``COMPOSITE_EXPLORER_CACHE_MB`` is not a positive whole number.
    """
    hosted = HOSTED_FLAG in argv or environ.get(HOSTED_VARIABLE, "").strip().lower() in {
        "1",
        "true",
        "yes",
    }
    limits = HOSTED if hosted else LOCAL
    budget = environ.get(CACHE_VARIABLE, "").strip()
    if budget:
        if not budget.isdigit() or int(budget) < 64:
            raise ValueError(
                f"{CACHE_VARIABLE}={budget!r}: give the cache's budget in MB, a whole number of at "
                "least 64"
            )
        limits = Limits(**{**limits.__dict__, "cache_mb": int(budget)})
    return limits
