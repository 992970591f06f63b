"""Dask chunk layouts that real sources deliver, to run engine functions over (reusable).

A layout is a chunking of a collection ``(time, band, y, x)``. The named ones are those of the
sources a user meets:

* ``stackstac``: one image and one band per chunk, spatial tiles of 1024 (stackstac's default
  ``chunksize=1024``): ``(1, 1, 1024, 1024)``;
* ``odc-stac``: every band of an image in one chunk, ``(1, nbands, s, s)``;
* ``files``: :mod:`compositing.sources.files`, one band per chunk (one GDAL dataset per band
  file) and ``chunks=2048``: ``(1, 1, 2048, 2048)``;
* ``demo``: :mod:`compositing.sources.demo`, all bands in one chunk, ``chunksize=512``;
* ``time-whole``: the whole time series in each chunk, one band per chunk (a user's
  ``.chunk(time=-1)`` before a median), and ``one-chunk``: everything in one block.

:func:`scaled` keeps each layout's structure (which axes are split, and how) on a smaller
spatial side, for functions too expensive to run on arrays larger than 1024 pixels (the
s2cloudless model: ~0.6 s per 256 x 256 on 2 cores). :func:`chunkings` is a hypothesis strategy
for arbitrary chunkings, irregular ones included, that align with nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import xarray as xr
from hypothesis import strategies as st

DIMS = ("time", "band", "y", "x")
#: Spatial tile sides that sources use (stackstac 1024, the file source 2048, the demo 512).
SPATIAL_SIDES = (256, 512, 1024, 2048)


@dataclass(frozen=True)
class Layout:
    """A chunk layout by structure.

    Parameters
    ----------
    name
        What it stands for (``stackstac``, ``odc-stac``...).
    time, band
        Chunk length along ``time`` and ``band``; None: the whole axis in one chunk.
    side
        Spatial tile side in pixels (y and x); None: the whole extent.
    """

    name: str
    time: int | None
    band: int | None
    side: int | None

    def chunks(self) -> dict[str, int]:
        """The ``DataArray.chunk`` spec (-1: whole)."""
        whole = -1
        side = whole if self.side is None else self.side
        return {
            "time": whole if self.time is None else self.time,
            "band": whole if self.band is None else self.band,
            "y": side,
            "x": side,
        }

    def __str__(self) -> str:
        return f"{self.name}{self.chunks()}"


#: The layouts of the real sources, at their real sizes.
REAL_LAYOUTS = (
    Layout("stackstac", time=1, band=1, side=1024),
    Layout("odc-stac", time=1, band=None, side=1024),
    Layout("files", time=1, band=1, side=2048),
    Layout("demo", time=1, band=None, side=512),
    Layout("time-whole", time=None, band=1, side=256),
    Layout("one-chunk", time=None, band=None, side=None),
)


def scaled(layout: Layout, side: int, min_side: int = 8) -> Layout:
    """The same structure with smaller spatial tiles: scaled so that stackstac's 1024 becomes
    ``side`` (files' 2048 stays twice that), but no smaller than ``min_side`` (tiny tiles make
    huge graphs and test nothing more)."""
    if layout.side is None:
        return layout
    new_side = max(min_side, layout.side * side // 1024)
    return Layout(f"{layout.name}/scaled", layout.time, layout.band, new_side)


def scaled_layouts(side: int, min_side: int = 8) -> tuple[Layout, ...]:
    """:data:`REAL_LAYOUTS`, scaled so that stackstac's 1024-pixel tiles become ``side``."""
    return tuple(scaled(layout, side, min_side) for layout in REAL_LAYOUTS)


def rechunk(collection: xr.DataArray, chunks: dict[str, object]) -> xr.DataArray:
    """``collection`` as dask with ``chunks`` (per dim: -1, a length, or a tuple of lengths);
    dims missing from ``chunks`` are whole. Works for any subset of :data:`DIMS`."""
    spec = {d: chunks.get(d, -1) for d in collection.dims}
    return collection.chunk(spec)


@st.composite
def chunkings(draw: st.DrawFn, sizes: dict[str, int], min_side: int = 1) -> dict[str, object]:
    """A hypothesis strategy: a chunking for an array of ``sizes``.

    Each dim is whole, regular (any length, the last chunk shorter) or irregular (up to four
    arbitrary cuts). Spatial chunks are at least ``min_side`` pixels (bounds the graph size);
    band and time chunks go down to 1, as stackstac's do.
    """
    chunks: dict[str, object] = {}
    for dim, n in sizes.items():
        low = min_side if dim in ("y", "x") else 1
        low = min(low, n)
        kind = draw(st.sampled_from(("whole", "regular", "irregular")))
        if kind == "whole" or n <= low:
            chunks[dim] = -1
        elif kind == "regular":
            chunks[dim] = draw(st.integers(low, n))
        else:
            cuts = draw(st.lists(st.integers(1, n - 1), unique=True, min_size=1, max_size=4))
            bounds = [0, *sorted(cuts), n]
            lengths = [b - a for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
            # Merge pieces shorter than ``low`` into their neighbour, keeping the sum.
            merged: list[int] = []
            for length in lengths:
                if merged and (merged[-1] < low or length < low):
                    merged[-1] += length
                else:
                    merged.append(length)
            chunks[dim] = tuple(merged)
    return chunks
