"""Layer images as compressed image URLs: the encoding's fidelity and size, its cache, the
``ImageURL`` element."""

from __future__ import annotations

import base64

import holoviews as hv
import numpy as np
import pandas as pd
import pytest

from app import image_url
from app.image_url import URLImage, decode, encode, encode_bytes, near_lossless
from app.map_view import framed
from app.view import plan_view
from compositing import visualisation as vis
from compositing.sources import demo
from compositing.sources.demo import PRESETS

#: What one 1000 x 700 view's update may cost on the websocket (issue 12: from 2.8 MB).
UPDATE_BUDGET = 400_000


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255**2 / error))


def noisy_image(shape=(70, 100), transparent: float = 0.2, seed: int = 0) -> np.ndarray:
    """Smooth colours plus pixel noise (what defeats a lossy codec), some pixels transparent."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[: shape[0], : shape[1]]
    smooth = np.stack([x * 2.0, y * 3.0, (x + y) * 1.0], axis=-1) % 256
    colour = np.clip(smooth + rng.normal(0, 12, (*shape, 3)), 0, 255).astype(np.uint8)
    alpha = np.where(rng.random(shape) < transparent, 0, 255).astype(np.uint8)
    return np.dstack([colour, alpha])


@pytest.fixture(autouse=True)
def fresh_cache():
    image_url.clear_cache()
    yield
    image_url.clear_cache()


def test_the_url_decodes_to_the_image_within_two_levels_and_exact_alpha():
    rgba = noisy_image()
    url = encode(rgba)
    assert url.startswith("data:image/webp;base64,")
    back = decode(url)
    assert back.shape == rgba.shape and back.dtype == np.uint8
    np.testing.assert_array_equal(back[..., 3], rgba[..., 3])  # masked pixels stay transparent
    shown = rgba[..., 3] > 0
    difference = np.abs(back[..., :3].astype(int) - rgba[..., :3])[shown]
    assert difference.max() <= image_url.QUANTISATION_STEP // 2
    for channel in range(3):
        assert psnr(back[..., channel][shown], rgba[..., channel][shown]) >= 40


def test_partial_alpha_is_kept_exactly():
    rgba = noisy_image(transparent=0.0)
    rgba[..., 3] = np.arange(rgba.shape[1], dtype=np.uint8)[None, :] * 2 + 1
    np.testing.assert_array_equal(decode(encode(rgba))[..., 3], rgba[..., 3])


def test_near_lossless_rounds_colours_to_the_step_and_keeps_white_and_alpha():
    rgba = np.array([[[0, 2, 3, 7], [252, 253, 255, 0]]], dtype=np.uint8)
    out = near_lossless(rgba, 5)
    assert out[..., :3].tolist() == [[[0, 0, 5], [250, 255, 255]]]
    assert out[..., 3].tolist() == [[7, 0]]
    with pytest.raises(ValueError, match="divide 255"):
        near_lossless(rgba, 4)


def test_a_wrong_array_is_refused():
    with pytest.raises(ValueError, match="uint8"):
        encode_bytes(np.zeros((4, 4, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        encode_bytes(np.zeros((4, 4, 4), dtype=np.float32))


def test_an_image_is_encoded_once_and_the_cache_is_bounded(monkeypatch):
    calls = []
    real = image_url.encode_bytes
    monkeypatch.setattr(image_url, "encode_bytes", lambda rgba: calls.append(1) or real(rgba))
    rgba = noisy_image()
    first = encode(rgba)
    assert encode(rgba.copy()) is first  # same pixels (another session's copy): no new encoding
    assert len(calls) == 1
    other = noisy_image(seed=1)
    assert encode(other) != first and len(calls) == 2
    assert image_url.cache_info()[0] == 2
    monkeypatch.setattr(image_url, "CACHE_BYTES", len(first) + 1)  # room for one URL
    newest = encode(noisy_image(seed=2))
    assert image_url.cache_info() == (1, len(newest))  # the oldest were dropped
    assert encode(noisy_image(seed=2)) is newest


def test_the_element_renders_as_a_bokeh_image_url_glyph():
    url = encode(noisy_image())
    figure = hv.render(URLImage(url, bounds=(100.0, 200.0, 1100.0, 900.0)))
    (renderer,) = figure.renderers
    assert type(renderer.glyph).__name__ == "ImageURL"
    assert renderer.glyph.anchor == "top_left"
    data = renderer.data_source.data
    assert list(data["url"]) == [url]
    assert (data["x"][0], data["y"][0], data["w"][0], data["h"][0]) == (100, 900, 1000, 700)
    assert URLImage(url, bounds=(100, 200, 1100, 900)).range("x") == (100, 1100)


def test_an_empty_url_draws_nothing():
    figure = hv.render(URLImage("", bounds=(0, 0, 1, 1)))
    assert list(figure.renderers[0].data_source.data["url"]) == []


def test_a_demo_view_update_is_at_most_400_kb():
    """One date of the demo scene on the default view of the first place (1000 x 700 pixels,
    the Earth Engine example's SWIR stretch), sent as the map sends it."""
    point, dates = PRESETS[next(iter(PRESETS))]["point"], PRESETS[next(iter(PRESETS))]["dates"]
    grid = plan_view(framed(point, 10_000.0, 1000, 700), "demo").grid
    assert (grid.width, grid.height) >= (1000, 700)
    example = vis.EXAMPLE_VIS["rgb"]
    start = pd.Timestamp(dates[0])
    scene = demo.load(grid, start, start + pd.Timedelta(days=6), bands=list(example.bands))
    values = scene.isel(time=0).values
    rgba = vis.rgb_to_rgba(*values, example.minimum, example.maximum, example.gamma)
    url = encode(rgba)
    assert len(url) <= UPDATE_BUDGET, f"{len(url) / 1e3:.0f} kB"
    assert len(url) < rgba.nbytes / 5
    back = decode(url)
    np.testing.assert_array_equal(back[..., 3], rgba[..., 3])
    shown = rgba[..., 3] > 0
    assert min(psnr(back[..., c][shown], rgba[..., c][shown]) for c in range(3)) >= 40
    assert len(base64.b64decode(url.partition(",")[2])) <= 0.75 * UPDATE_BUDGET
