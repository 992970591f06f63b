"""An Earth Engine-style facade, to port ``ee.ImageCollection``/``ee.Image`` code line by line.

::

    from compositing.facade import Filter, Geometry, ImageCollection

    col = (
        ImageCollection(data)  # an xarray collection, see compositing.contract
        .filterDate('2021-07-01', '2021-08-01')
        .filterBounds(Geometry.Point(-122.373, 37.448))
        .filter(Filter.lt('CLOUDY_PIXEL_PERCENTAGE', 20))
        .select('B.*|MSK_CLDPRB|SCL')
    )
    least_cloudy_on_top = col.sort('CLOUDY_PIXEL_PERCENTAGE', False).mosaic()
    not_cloud = col.map(lambda img: img.updateMask(img.select('MSK_CLDPRB').lte(10)))
    count = not_cloud.count().data  # an xarray.DataArray (band, y, x)

Every method has a snake_case name and a camelCase alias (``filter_date`` / ``filterDate``).
Bands are named the sensor's way (``B08``) or Earth Engine's (``B8``) alike; properties by
Earth Engine's names (``CLOUDY_PIXEL_PERCENTAGE``) or STAC's (``eo:cloud_cover``), see
:mod:`compositing.properties`. Nothing computes pixels: a dask-backed collection stays
dask-backed through every method, reducers included (a filter reads properties only). The
reducers are :func:`compositing.reducers.composite`. ``Export.image`` writes a
Cloud-Optimized GeoTIFF tile by tile (:mod:`compositing.export`); ``Map`` draws layers
(:mod:`compositing.mapping`).

Where this differs from Earth Engine, on purpose:

* All images of a collection share one grid, so ``filter_bounds`` keeps all images or none.
* ``map`` calls the function once on the whole stack of images (see
  :meth:`ImageCollection.map`).
* ``add_bands`` refuses a band-name clash instead of renaming the new band ``name_1``.
* ``merge`` needs the same bands on both sides (one stack holds the images).
"""

from ..mapping import Map
from ._collection import ImageCollection
from ._export import Export
from ._filters import Filter
from ._geometry import Geometry
from ._image import Image
from ._join import Join
from ._number import Number
from ._reducer import Reducer

__all__ = [
    "Export",
    "Filter",
    "Geometry",
    "Image",
    "ImageCollection",
    "Join",
    "Map",
    "Number",
    "Reducer",
]
