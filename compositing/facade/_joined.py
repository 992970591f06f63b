"""How a join's match is kept as a property: :class:`JoinedImage`."""

from __future__ import annotations

import xarray as xr

__all__ = ["JoinedImage"]


class JoinedImage:
    """An image saved as another image's property by ``Join.saveFirst``.

    Properties are coordinates along ``time``; this holds one matched ``(band, y, x)`` array in
    such a coordinate (an object array). It compares by identity, so that xarray, which
    compares the coordinates of two images it combines, does not compare pixels.

    Parameters
    ----------
    array
        The matched image (lazy).
    """

    __slots__ = ("array",)

    def __init__(self, array: xr.DataArray) -> None:
        self.array = array

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        bands = [str(b) for b in self.array["band"].values]
        return f"<joined image {bands}>"
