"""Layer images as small image URLs: encode an RGBA image once, draw it with Bokeh's ``ImageURL``.

A raw (H, W) RGBA image costs 4 bytes a pixel on the websocket (2.8 MB for a 1000 x 700 view).
Here it becomes a ``data:image/webp;base64,...`` URL, and the map draws it with an
``ImageURL`` glyph: an update sends that string and four numbers.

**The encoding** is near-lossless WebP: every colour channel is rounded to the nearest multiple
of :data:`QUANTISATION_STEP` (5, so no value moves by more than 2 of 255 and the PSNR of every
channel is at least 42.1 dB whatever the image), then encoded losslessly, with the alpha
channel untouched (masked pixels stay exactly transparent). Measured on the demo's default views
(1000 x 700): the noisy RGB composites take 280-290 kB (the base64 URL 375-390 kB), palettes
and classes 15-130 kB. Lossy WebP was smaller but converts to 4:2:0 chroma, which leaves 26-36
dB on the demo's fine colour detail; plain lossless WebP or PNG took 550-1050 kB.

**The cache**: every session of a class asks for the same demo images, so an encoding is kept in
a small module-level LRU keyed by a digest of the pixels (:func:`encode`), bounded in bytes.
"""

from __future__ import annotations

import base64
import hashlib
import io
import threading
from collections import OrderedDict

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (HoloViews' Bokeh plots, to register ours)
import numpy as np
import param
from holoviews.core.element import Element2D
from holoviews.plotting.bokeh.element import ElementPlot
from PIL import Image

#: Each colour channel is rounded to a multiple of this (at most 2 of 255 off: >= 42.1 dB).
QUANTISATION_STEP = 5
#: Pillow's WebP options. Lossless; method 1 with quality >= 30 turns on libwebp's colour
#: cache, which halves the noisy composites' size against method 0 for ~0.3 s more.
WEBP_OPTIONS = {"lossless": True, "method": 1, "quality": 30}
MEDIA_TYPE = "image/webp"
#: Bytes of URLs the module-level cache keeps (about 80 noisy 1000 x 700 views).
CACHE_BYTES = 32_000_000

_cache: OrderedDict[bytes, str] = OrderedDict()
_cache_bytes = 0
_cache_lock = threading.Lock()  # refreshes of several sessions encode in worker threads


def digest(rgba: np.ndarray) -> bytes:
    """A digest of an image's shape and pixels (what the cache is keyed by)."""
    hasher = hashlib.blake2b(digest_size=16)
    hasher.update(repr((rgba.shape, rgba.dtype.str)).encode())
    hasher.update(np.ascontiguousarray(rgba).data)
    return hasher.digest()


def near_lossless(rgba: np.ndarray, step: int = QUANTISATION_STEP) -> np.ndarray:
    """The image with each colour channel rounded to the nearest multiple of ``step``
    (alpha unchanged): what the WebP encoder then keeps exactly.

    Parameters
    ----------
    rgba
        An (H, W, 4) ``uint8`` image.
    step
        The rounding step; 255 must be a multiple of it so that white stays white.
    """
    if 255 % step:
        raise ValueError(f"the step must divide 255, not {step}")
    out = np.array(rgba, dtype=np.uint8, copy=True)
    colour = out[..., :3].astype(np.uint16)
    out[..., :3] = ((colour + step // 2) // step * step).astype(np.uint8)
    return out


def encode_bytes(rgba: np.ndarray) -> bytes:
    """The image as near-lossless WebP bytes (see the module's docstring).

    Parameters
    ----------
    rgba
        An (H, W, 4) ``uint8`` image, north up.
    """
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 4) uint8 image, got {rgba.shape} {rgba.dtype}")
    buffer = io.BytesIO()
    Image.fromarray(near_lossless(rgba), "RGBA").save(buffer, format="WEBP", **WEBP_OPTIONS)
    return buffer.getvalue()


def encode(rgba: np.ndarray) -> str:
    """The image as a ``data:image/webp;base64,...`` URL, from the cache if it was encoded before.

    Parameters
    ----------
    rgba
        An (H, W, 4) ``uint8`` image, north up.
    """
    global _cache_bytes
    key = digest(rgba)
    with _cache_lock:
        url = _cache.get(key)
        if url is not None:
            _cache.move_to_end(key)
            return url
    # Outside the lock: two threads may encode one image at once, but none waits for another.
    url = f"data:{MEDIA_TYPE};base64," + base64.b64encode(encode_bytes(rgba)).decode("ascii")
    with _cache_lock:
        if key not in _cache:
            _cache[key] = url
            _cache_bytes += len(url)
        while _cache_bytes > CACHE_BYTES and len(_cache) > 1:
            _, dropped = _cache.popitem(last=False)
            _cache_bytes -= len(dropped)
    return url


def decode(url: str) -> np.ndarray:
    """The (H, W, 4) ``uint8`` image of a data URL made by :func:`encode` (for tests and checks)."""
    header, _, payload = url.partition(",")
    if not header.startswith("data:image/") or not header.endswith(";base64"):
        raise ValueError(f"not a base64 image data URL: {url[:40]!r}")
    with Image.open(io.BytesIO(base64.b64decode(payload))) as image:
        return np.asarray(image.convert("RGBA"))


def clear_cache() -> None:
    """Forget every cached encoding."""
    global _cache_bytes
    with _cache_lock:
        _cache.clear()
        _cache_bytes = 0


def cache_info() -> tuple[int, int]:
    """(entries, bytes) the encodings' cache holds."""
    with _cache_lock:
        return len(_cache), _cache_bytes


class URLImage(Element2D):
    """An image drawn from a URL between its bounds, in the plot's coordinates.

    Parameters
    ----------
    data
        The image's URL (e.g. from :func:`encode`); ``""`` draws nothing.
    bounds
        (left, bottom, right, top) in the plot's coordinates (here Web Mercator metres).
    """

    group = param.String(default="URLImage", constant=True)
    kdims = param.List(default=[hv.Dimension("x"), hv.Dimension("y")], bounds=(2, 2))
    bounds = param.NumericTuple(default=(0.0, 0.0, 1.0, 1.0), length=4, doc="""
        (left, bottom, right, top) of the image in the plot's coordinates.""")  # fmt: skip

    def __init__(self, data: str = "", bounds=(0.0, 0.0, 1.0, 1.0), **params) -> None:
        if not isinstance(data, str):
            raise TypeError(f"a URLImage's data is a URL string, not {type(data).__name__}")
        params.setdefault("extents", tuple(bounds))
        super().__init__(data, bounds=tuple(bounds), **params)

    def range(self, dim, data_range=True, dimension_range=True):
        """The image's extent along x (the first key dimension) or y."""
        index = self.get_dimension_index(dim)
        if index in (0, 1):
            left, bottom, right, top = self.bounds
            return (left, right) if index == 0 else (bottom, top)
        return super().range(dim, data_range, dimension_range)

    def dimension_values(self, dimension, expanded=True, flat=True):
        """The corners' x or y values."""
        low, high = self.range(dimension)
        return np.array([low, high])


class URLImagePlot(ElementPlot):
    """Draws a :class:`URLImage` with Bokeh's ``ImageURL`` glyph: its data source holds the URL
    and four numbers (x and y of the top-left corner, width and height in data units)."""

    style_opts = ["global_alpha", "dilate"]
    _plot_methods = dict(single="image_url")  # noqa: RUF012  (HoloViews' class attribute)
    selection_display = None

    def get_data(self, element, ranges, style):
        mapping = dict(url="url", x="x", y="y", w="w", h="h", anchor="top_left")
        if not element.data:
            return {name: [] for name in ("url", "x", "y", "w", "h")}, mapping, style
        left, bottom, right, top = element.bounds
        data = dict(url=[element.data], x=[left], y=[top], w=[right - left], h=[top - bottom])
        return data, mapping, style


hv.Store.register({URLImage: URLImagePlot}, "bokeh")
