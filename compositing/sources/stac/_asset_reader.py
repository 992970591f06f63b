"""Pixel reads of catalog assets that fail say so in the catalog's terms.

stackstac reads each asset lazily, at compute time. A file that 404s halfway through a composite,
or a file server that stops answering, then surfaces as a raw rasterio/GDAL error deep inside
dask. :class:`AssetReader` is stackstac's own reader with those failures turned into
:class:`~compositing.errors.CatalogResponseError` /
:class:`~compositing.errors.CatalogUnreachableError`, naming the asset and what to do. I/O only:
it knows nothing of bands or items. Imported only when a catalog is loaded (it needs stackstac).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from stackstac.rio_reader import AutoParallelRioReader

from ...errors import CatalogResponseError, CatalogUnreachableError

__all__ = ["AssetReader", "asset_error"]


def asset_error(error: BaseException, url: str) -> Exception:
    """The user's error for a file that could not be read at compute time.

    Parameters
    ----------
    error
        What the read raised (its chain of causes is searched for an HTTP status).
    url
        The asset's URL (shown without its query string).
    """
    where = str(url).split("?")[0]  # never show a signature (Planetary Computer SAS token)
    chain, cause = [], error
    while cause is not None and len(chain) < 6:
        chain.append(str(cause))
        cause = cause.__cause__ or cause.__context__
    text = " | ".join(chain)
    codes = re.findall(r"HTTP (?:response )?code:? (\d{3})", text)
    # GDAL often reports a 404 at open as "not recognized as a supported file format": ask the
    # server what it answers, so the message can say what happened.
    status = int(codes[0]) if codes else _probe_status(str(url))
    unreachable = ("Couldn't connect", "Could not resolve", "Connection refused", "timed out",
                   "Timeout", "Connection reset", "Empty reply")  # fmt: skip
    if status is None and any(marker.lower() in text.lower() for marker in unreachable):
        return CatalogUnreachableError(
            f"cannot reach {where} while computing (the catalog's file server stopped "
            f"answering): {chain[-1][:200]}. Check the network connection and compute again."
        )
    if status is not None:
        advice = (
            "The file was moved or removed since the search (or its signed URL expired): load "
            "again to search anew, or leave that item out (items=...)."
            if status in (403, 404, 410)
            else "The file server may be overloaded: try again later."
        )
        return CatalogResponseError(
            f"reading the asset {where} failed while computing: the server answered HTTP "
            f"{status}. {advice}"
        )
    return CatalogResponseError(
        f"reading the asset {where} failed while computing: {chain[-1][:300]}. The file may be "
        "damaged or not a GeoTIFF: load again, or leave that item out (items=...)."
    )


def _probe_status(url: str, timeout: float = 10.0) -> int | None:
    """The HTTP status of a HEAD request for ``url`` (None if not HTTP, or if nobody answers)."""
    href = url.removeprefix("/vsicurl/")
    if not href.startswith(("http://", "https://")):
        return None
    import requests

    try:
        status = requests.head(href, timeout=timeout, allow_redirects=True).status_code
    except requests.RequestException:
        return None
    return status if status >= 400 else None


class AssetReader(AutoParallelRioReader):
    """stackstac's reader, with read failures turned into the catalog errors."""

    def read(self, window: Any, **kwargs: Any) -> np.ndarray:
        try:
            return super().read(window, **kwargs)
        except Exception as error:
            raise asset_error(error, self.url) from error
