"""The facade's neighbourhood and grid operations (issue 13, part 4): focalMin / focalMax /
focalMean, directionalDistanceTransform, reproject and images on two grids, against
independent numpy loops on a collection with masked pixels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_collection

from compositing.facade import Image, ImageCollection

SHAPE = (2, 3, 30, 40)


@pytest.fixture(scope="module")
def collection() -> ImageCollection:
    rng = np.random.default_rng(42)
    values = rng.integers(0, 50, SHAPE).astype("float64")
    values[:, 1] = rng.random(SHAPE[:1] + SHAPE[2:]) > 0.93  # sparse 0/1 "clouds"
    values[rng.random(SHAPE) < 0.05] = np.nan
    raw = make_collection(values, ["B04", "clouds", "B08"])
    return ImageCollection(raw.assign_coords(solar_azimuth=("time", [120.0, 200.0])))


@pytest.fixture
def image(collection) -> Image:
    return collection.first()


def _offsets(radius: float, shape: str) -> list[tuple[int, int]]:
    reach = int(radius)
    inside = {
        "circle": lambda dy, dx: dy * dy + dx * dx <= radius * radius,
        "square": lambda dy, dx: True,
        "diamond": lambda dy, dx: abs(dy) + abs(dx) <= radius,
    }[shape]
    span = range(-reach, reach + 1)
    return [(dy, dx) for dy in span for dx in span if inside(dy, dx)]


def _focal_reference(values: np.ndarray, how: str, offsets: list[tuple[int, int]]):
    """One pixel at a time: the valid neighbours' min, max or mean; masked centres stay."""
    height, width = values.shape
    out = np.full(values.shape, np.nan)
    for row in range(height):
        for col in range(width):
            if np.isnan(values[row, col]):
                continue
            near = [
                values[row + dy, col + dx]
                for dy, dx in offsets
                if 0 <= row + dy < height and 0 <= col + dx < width
            ]
            near = [v for v in near if not np.isnan(v)]
            out[row, col] = {"min": min, "max": max, "mean": np.mean}[how](near)
    return out


@pytest.mark.parametrize(
    ("how", "radius", "shape"),
    [("min", 2, "circle"), ("max", 1.5, "circle"), ("mean", 1, "square"), ("max", 2, "diamond")],
)
def test_focal_operations_match_a_pixel_by_pixel_loop(image, how, radius, shape):
    b04 = image.select("B04")
    got = getattr(b04, f"focal_{how}")(radius, shape).data.values[0]
    want = _focal_reference(b04.data.values[0].astype("float64"), how, _offsets(radius, shape))
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert np.isnan(got[np.isnan(want)]).all()


def test_focal_radius_in_metres_and_iterations(image):
    b04 = image.select("B04")
    in_metres = b04.focalMax(radius=20, units="meters").data.values
    np.testing.assert_array_equal(in_metres, b04.focalMax(2).data.values)
    twice = b04.focalMin(1, "square", iterations=2).data.values
    np.testing.assert_array_equal(
        twice, b04.focalMin(1, "square").focalMin(1, "square").data.values
    )


def _distance_reference(source: np.ndarray, angle: float, max_distance: int) -> np.ndarray:
    """Walk from each pixel along the ray, one step at a time, until a non-zero pixel."""
    height, width = source.shape
    found = np.nan_to_num(source) != 0
    out = np.full(source.shape, np.nan)
    east, north = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    for row in range(height):
        for col in range(width):
            for k in range(max_distance + 1):
                r = row - int(math.copysign(math.floor(abs(k * north) + 0.5), k * north))
                c = col + int(math.copysign(math.floor(abs(k * east) + 0.5), k * east))
                if 0 <= r < height and 0 <= c < width and found[r, c]:
                    out[row, col] = k
                    break
    return out


@pytest.mark.parametrize("angle", [0.0, 90.0, -30.0, 90 - 200.0])
def test_directional_distance_transform_matches_a_walk_along_the_ray(image, angle):
    clouds = image.select("clouds")
    got = clouds.directionalDistanceTransform(angle, 8)
    assert got.band_names() == ["distance"]
    want = _distance_reference(clouds.data.values[0], angle, 8)
    np.testing.assert_array_equal(got.data.values[0], want)


def test_directional_distance_of_one_cloud_pixel_looks_towards_the_angle(image):
    one = np.zeros((1, 9, 9))
    one[0, 4, 4] = 1.0
    cloud = Image(image.select("clouds").data.isel(y=slice(0, 9), x=slice(0, 9)).copy(data=one))
    east = cloud.directional_distance_transform(0, 3).data.values[0]
    np.testing.assert_array_equal(east[4, :5], [np.nan, 3, 2, 1, 0])  # west of it: it is east
    assert np.isnan(east[4, 5:]).all() and np.isnan(np.delete(east, 4, axis=0)).all()
    north = cloud.directional_distance_transform(90, 2).data.values[0]
    np.testing.assert_array_equal(north[4:7, 4], [0, 1, 2])  # south of it: it is north


def test_distance_with_an_angle_per_image_inside_map(collection):
    def shadows(img: Image) -> Image:
        return img.select("clouds").directionalDistanceTransform(
            90 - img.get("MEAN_SOLAR_AZIMUTH_ANGLE"), 6
        )

    stack = collection.map(shadows).to_xarray()
    for index, azimuth in enumerate([120.0, 200.0]):
        clouds = collection.to_xarray().isel(time=index).sel(band="clouds").values
        want = _distance_reference(clouds, 90 - azimuth, 6)
        np.testing.assert_array_equal(stack.isel(time=index, band=0).values, want)


def test_reproject_samples_the_nearest_pixel_on_a_grid_aligned_to_the_scale(image):
    coarse = image.select("B04").reproject(image.projection(), 100)
    array = coarse.data
    assert image.projection().nominalScale() == 10.0 and coarse.projection().nominalScale() == 100
    assert (np.round(array["x"].values - 50) % 100 == 0).all()
    fine = image.select("B04").data
    for y in array["y"].values:
        for x in array["x"].values:
            got = float(array.sel(x=x, y=y).values[0])
            inside = fine.x.min() - 5 <= x < fine.x.max() + 5 and fine.y.min() - 5 < y <= (
                fine.y.max() + 5
            )
            if not inside:
                assert np.isnan(got)
                continue
            # The fine pixel that contains the coarse centre (centres are on fine edges here:
            # the one east and south of it, as edges belong to the pixel they start).
            col = int(np.floor((x - (fine.x.values[0] - 5)) / 10))
            row = int(np.floor(((fine.y.values[0] + 5) - y) / 10))
            np.testing.assert_equal(got, float(fine.values[0, row, col]))


def test_an_operation_between_two_grids_samples_the_coarser_on_the_finer(image):
    coarse = image.select("B04").reproject(image.projection(), 100)
    product = coarse.multiply(image.select("B08"))
    assert product.data.sizes == image.select("B08").data.sizes
    fine = image.data
    expected = np.empty(fine.shape[1:])
    for row, y in enumerate(fine["y"].values):
        for col, x in enumerate(fine["x"].values):
            value = coarse.data.sel(x=(x // 100) * 100 + 50, y=(y // 100) * 100 + 50).values[0]
            expected[row, col] = value * fine.sel(band="B08").values[row, col]
    np.testing.assert_allclose(product.data.values[0], expected)
    with_bands = image.add_bands(Image([coarse.rename("coarse"), product.rename("both")]))
    assert with_bands.band_names() == ["B04", "clouds", "B08", "coarse", "both"]


def test_a_focal_operation_then_reproject_runs_on_the_new_grid(image):
    """As the tutorial's ``focalMin(2).focalMax(5).reproject(crs, 20)``: kernels counted in
    20 m pixels, on the image sampled at 20 m."""
    clouds = image.select("clouds")
    got = clouds.focalMin(2).focalMax(5).reproject(image.projection(), 20).data.values[0]
    at_20 = clouds.reproject(image.projection(), 20).data.values[0].astype("float64")
    want = _focal_reference(
        _focal_reference(at_20, "min", _offsets(2, "circle")), "max", _offsets(5, "circle")
    )
    np.testing.assert_array_equal(got, want)
    # The distance transform too: its maxDistance counts 100 m pixels after reproject(100).
    ddt = clouds.directionalDistanceTransform(45, 3).reproject(image.projection(), 100)
    at_100 = clouds.reproject(image.projection(), 100).data.values[0]
    np.testing.assert_array_equal(ddt.data.values[0], _distance_reference(at_100, 45, 3))


def test_mask_and_select_by_index(image):
    mask = image.mask().data.values
    np.testing.assert_array_equal(mask, (~np.isnan(image.data.values)).astype(float))
    assert image.select(0).band_names() == ["B04"]
    assert image.select([2, 0]).band_names() == ["B08", "B04"]


def test_misuse_is_refused_with_what_to_do(image):
    with pytest.raises(ValueError, match=r"kernelType 'octagon' is not available here.*circle"):
        image.focalMax(1, "octagon")
    with pytest.raises(ValueError, match="units must be 'pixels' or 'meters'"):
        image.focalMax(1, units="feet")
    with pytest.raises(ValueError, match="one-band image.*select one band"):
        image.directionalDistanceTransform(0, 5)
    with pytest.raises(ValueError, match="labelBand is not available"):
        image.select("clouds").directionalDistanceTransform(0, 5, "clouds")
    with pytest.raises(ValueError, match=r"only to the image's own CRS \(EPSG:32610\)"):
        image.reproject("EPSG:4326", 0.001)
    with pytest.raises(IndexError, match="band index 5 is out of range for the 3 band"):
        image.select(5)
