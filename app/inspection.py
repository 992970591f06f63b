"""What the pixel inspector computes: the point's series in the view's collection, why each image
was dropped in the chosen cloud mask's own words, and every shown layer's value there.

It reads the caches of :class:`~app.computations.Computations` (the view's collection and the
mask's layers, loaded by the refresh for the map anyway) and cuts the one pixel out before
anything else, so that a click costs milliseconds once the view is loaded. The series is the
engine's :func:`compositing.inspection.pixel_series` with the dashboard's own definitions:

* the composites (median, min, max, mosaic) read the collection with the cloud mask applied,
  as their layers do;
* the best-pixel mosaic picks by the lowest MSK_CLDPRB of the unmasked collection, as its layer
  (:class:`~app.layers.QualityMosaic`) does: sources without MSK_CLDPRB have no such pick.
"""

from __future__ import annotations

from collections.abc import Sequence

import xarray as xr

from compositing import clouds
from compositing import visualisation as vis
from compositing.inspection import pixel_series

from .computations import AreaRequest, Computations, mask_bands
from .layers import Layer
from .options import SOURCES_WITH_CLDPRB
from .settings import CloudMask, Settings
from .view import ViewPlan

#: What each cloud mask's buffer covers besides its clouds and shadows.
_BUFFER_REASON = {"s2cloudless": "buffer", "csmask": "buffer or no data"}


def inspected_bands(settings: Settings) -> set[str]:
    """The bands the inspector reads: the chosen RGB bands, the cloud mask's, and MSK_CLDPRB
    where the source has it (the best-pixel mosaic's score)."""
    bands = set(settings.rgb_bands) | mask_bands(settings.cloud_mask)
    if settings.source in SOURCES_WITH_CLDPRB:
        bands.add("MSK_CLDPRB")
    return bands


def mask_reasons(
    layers: xr.Dataset | None, mask: CloudMask, pixel: xr.DataArray
) -> dict[str, xr.DataArray]:
    """``{reason: dropped}`` for one pixel: the parts of the mask's dropped pixels, each
    counted once, so that together they are exactly the mask.

    Parameters
    ----------
    layers
        :meth:`Computations.mask_layers` cut to the pixel (None: no mask).
    mask
        The cloud mask they come from.
    pixel
        The collection at the pixel (its SCL names the SCL mask's classes).
    """
    if layers is None:
        return {}
    drop = layers["mask"]
    if mask.method == "cldprb":
        return {"MSK_CLDPRB > 10": drop}
    if mask.method == "scl":
        scl = pixel.sel(band="SCL", drop=True)
        reasons = {
            f"SCL {value}: {vis.SCL_NAMES[value]}": drop & (scl == value)
            for value in clouds.SCL_DROP_CLASSES
        }
        reasons["no SCL"] = drop & scl.isnull()
        return reasons
    # Opening removes specks, so a "cloud" pixel may be kept: count only what was dropped.
    cloud = layers["clouds"] & drop
    shadow = layers["shadows"] & drop & ~layers["clouds"]
    return {
        "cloud": cloud,
        "shadow": shadow,
        _BUFFER_REASON[mask.method]: drop & ~layers["clouds"] & ~layers["shadows"],
    }


def inspect_pixel(computations: Computations, request: AreaRequest, settings: Settings):
    """The series at the settings' point in the request's collection, computed (see the
    module); raises ValueError if the point is outside the view."""
    pixel, (row, column) = computations.pixel_collection(
        request, inspected_bands(settings), settings.point
    )
    layers = computations.mask_layers(request, settings.cloud_mask)
    if layers is not None:
        layers = layers.isel(y=[row], x=[column])
    masks = mask_reasons(layers, settings.cloud_mask, pixel)
    quality = None
    if "MSK_CLDPRB" in pixel["band"].values:
        quality = -pixel.sel(band="MSK_CLDPRB", drop=True)  # the lowest probability is best
    series = pixel_series(pixel, index=(0, 0), masks=masks, quality=quality).compute()
    series.attrs.update(row=row, column=column)  # in the view's grid, not the cut-out pixel's
    return series


def layer_values_at(
    computations: Computations,
    layers: Sequence[Layer],
    plan: ViewPlan,
    settings: Settings,
) -> list[tuple[str, str]]:
    """(label, value in words) of each layer at the settings' point, from the values the map
    was drawn from (cached); a layer that cannot say gives the reason instead."""
    rows = []
    for layer in layers:
        try:
            values = computations.layer_values(layer, plan, settings)
            rows.append((layer.title(settings), layer.value_at(values, settings.point)))
        except ValueError as error:  # e.g. the point is outside the view: said in its row
            rows.append((layer.title(settings), f"— ({error})"))
    return rows
