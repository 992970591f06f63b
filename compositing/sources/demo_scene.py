"""The physics of the synthetic demo scene, as numba kernels.

Everything here is a pure function of world position (metres in the scene's UTM zone) and of a
few per-date parameters, so a pixel's value does not depend on the request that asks for it.
:mod:`compositing.sources.demo` turns these kernels into lazy dask collections.

The scene, in short:

* a landscape of fields on a 500 m lattice (each cell one or two fields; some centre-pivot
  circles), with crops following a phenology through the season, forest, lakes and a river-like
  band of water, bare soil and towns, from value noise and integer hashes;
* surface (L2A-like) reflectance from per-cover spectra, mixed with soil by the vegetation
  fraction; top-of-atmosphere (L1C-like) reflectance from it by a per-band gain and path
  radiance calibrated on real Sentinel-2 L1C (``../shared/realdata/eolearn``);
* cumulus clouds (fractal noise thresholded to the date's cover) and, on some dates, streaky
  cirrus that is bright in B10; cloud shadows cast on the ground along the sun's azimuth from the
  cloud height, darkening NIR and SWIR more than blue (the sky's diffuse light is bluish);
* a Scene Classification Layer and a Sen2Cor-like cloud probability with realistic errors (thin
  clouds and many shadows missed, some bright towns flagged);
* a 10 m land surface temperature that follows cover and NDVI (cooler where greener).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..bands import L2A_REFLECTANCE, REFLECTANCE_BANDS

_jit = numba.njit(cache=True, nogil=True)

# Band order of every spectrum below: the 13 Sentinel-2 bands (the engine's band table).
BANDS_13 = REFLECTANCE_BANDS
L2A_BANDS = (*L2A_REFLECTANCE, "SCL", "MSK_CLDPRB")
L1C_BANDS = BANDS_13
TRUTH_CHANNELS = (*L2A_REFLECTANCE, "cloud", "shadow", "lst", "cover")

# Render modes (what the kernel writes).
MODE_L1C, MODE_L2A, MODE_TRUTH = 0, 1, 2
N_CHANNELS = {MODE_L1C: len(L1C_BANDS), MODE_L2A: len(L2A_BANDS), MODE_TRUTH: len(TRUTH_CHANNELS)}

# Land covers (also returned in the truth's "cover" channel).
WATER, FOREST, CROP, BARE, TOWN, GRASS = 0, 1, 2, 3, 4, 5
COVER_NAMES = ("water", "forest", "crop", "bare soil", "town", "grass")

# Surface reflectance x 10000 (B01 ... B12, B10 unused at the surface).
GREEN_CANOPY = np.array(
    [250, 320, 650, 300, 900, 2600, 3400, 3800, 4000, 4000, 0, 1800, 800], dtype=np.float64
)
FOREST_CANOPY = np.array(
    [180, 230, 500, 230, 670, 2100, 2680, 2600, 2980, 2360, 0, 1250, 500], dtype=np.float64
)
SOIL = np.array(
    [1000, 1150, 1450, 1750, 1950, 2100, 2200, 2300, 2400, 2450, 0, 3000, 2500], dtype=np.float64
)
WATER_SURFACE = np.array([400, 450, 500, 300, 250, 150, 120, 100, 90, 80, 0, 50, 30], np.float64)
TOWN_SURFACE = np.array(
    [1000, 1100, 1250, 1350, 1500, 1700, 1800, 1900, 1950, 1950, 0, 2300, 2000], dtype=np.float64
)
# Top of atmosphere = GAIN * surface + PATH; calibrated so that the forest canopy reproduces the
# mean clear-sky L1C spectrum of the real eo-learn scene (Slovenian forest) within a few percent.
GAIN = np.array([1, 1, 1, 1, 0.99, 0.95, 0.95, 0.95, 0.95, 0.35, 1, 0.95, 0.95], dtype=np.float64)
PATH = np.array([870, 520, 120, 120, 10, 0, 0, 0, 0, 0, 10, 0, 0], dtype=np.float64)
# Clouds at the top of the atmosphere: an opaque cumulus, and cirrus added on top (bright in B10).
CLOUD_TOA = np.array(
    [5400, 5200, 5000, 5000, 5100, 5300, 5400, 5300, 5400, 2600, 120, 4200, 3200], np.float64
)
CIRRUS_TOA = np.array(
    [1500, 1300, 1100, 1000, 1100, 1300, 1400, 1400, 1400, 600, 1400, 1100, 800], np.float64
)
# How much of each band's light a full shadow removes: the direct beam dominates in NIR/SWIR,
# while blue keeps much of the diffuse skylight.
SHADOW_DEPTH = np.array(
    [0.55, 0.6, 0.68, 0.72, 0.78, 0.84, 0.86, 0.87, 0.87, 0.87, 0, 0.88, 0.88], np.float64
)

# Distribution of the 5-octave value-noise fBm used for clouds (mean, standard deviation),
# measured over 4e6 samples; thresholds for a wanted cloud cover come from it.
FBM_MEAN, FBM_STD = 0.5, 0.128
CLOUD_SHARPNESS = 30.0  # optical-depth growth per unit of noise above the threshold
FIELD_CELL = 500.0  # metres

# Indices into the per-date parameter vector (see demo.date_parameters).
P_DOY, P_CLOUD_THR, P_CLOUD_OX, P_CLOUD_OY = 0, 1, 2, 3
P_SHADOW_DX, P_SHADOW_DY, P_CIRRUS, P_CIRRUS_OX, P_CIRRUS_OY, P_DATE_SEED, P_T_BASE = range(4, 11)
N_DATE_PARAMS = 11


_M32 = np.uint64(0xFFFFFFFF)


@_jit
def hash01(i, j, seed):
    """A uniform number in [0, 1) from two lattice indices and a seed (32-bit "lowbias32"
    integer hash: cheap, and good enough for landscapes)."""
    x = (
        np.uint64(i & 0xFFFFFFFF) * np.uint64(0x9E3779B1)
        + np.uint64(j & 0xFFFFFFFF) * np.uint64(0x85EBCA77)
        + np.uint64(seed & 0xFFFFFFFF) * np.uint64(0xC2B2AE3D)
    ) & _M32
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & _M32
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & _M32
    x ^= x >> np.uint64(16)
    return x * (1.0 / 4294967296.0)


@_jit
def value_noise(x, y, wavelength, seed):
    """Smoothly interpolated lattice noise in [0, 1) with the given wavelength (metres)."""
    u = x / wavelength
    v = y / wavelength
    i = math.floor(u)
    j = math.floor(v)
    fu = u - i
    fv = v - j
    fu = fu * fu * (3.0 - 2.0 * fu)
    fv = fv * fv * (3.0 - 2.0 * fv)
    ii = np.int64(i)
    jj = np.int64(j)
    a = hash01(ii, jj, seed)
    b = hash01(ii + 1, jj, seed)
    c = hash01(ii, jj + 1, seed)
    d = hash01(ii + 1, jj + 1, seed)
    return (a + (b - a) * fu) + ((c + (d - c) * fu) - (a + (b - a) * fu)) * fv


@_jit
def fbm(x, y, wavelength, octaves, seed):
    """Fractal (fBm) noise: octaves of value noise, each half the wavelength and amplitude."""
    total = 0.0
    norm = 0.0
    amplitude = 1.0
    for octave in range(octaves):
        total += amplitude * value_noise(x, y, wavelength, seed + octave * 101)
        norm += amplitude
        amplitude *= 0.5
        wavelength *= 0.5
    return total / norm


@_jit
def _bump(doy, peak, width):
    d = (doy - peak) / width
    return math.exp(-d * d)


# --- smooth fields on a lattice -------------------------------------------------------------
# Fields whose finest detail is a few hundred metres or more are evaluated on a fixed world
# lattice every LATTICE metres and interpolated bilinearly: the same values as evaluating them
# everywhere to well under a percent, at a fraction of the cost. The lattice is anchored at the
# CRS origin, so a pixel's value still does not depend on the request.

LATTICE = 40.0
F_RELIEF, F_RIVER, F_TOWN, F_CLOUD, F_CIRRUS, F_MOISTURE = range(6)
N_FIELDS = 6


@_jit
def _field_values(x, y, params, out):
    """The smooth fields at one point (out[F_...])."""
    out[F_RELIEF] = fbm(x, y, 6000.0, 3, 11)
    out[F_RIVER] = fbm(x, y, 9000.0, 2, 23)
    out[F_TOWN] = fbm(x, y, 5000.0, 3, 37)
    out[F_CLOUD] = fbm(x + params[P_CLOUD_OX], y + params[P_CLOUD_OY], 3000.0, 5, 61)
    out[F_CIRRUS] = 0.0
    if params[P_CIRRUS] > 0.0:
        # Streaks: noise stretched 6:1 along a diagonal wind.
        u = (x + y) * 0.7071 + params[P_CIRRUS_OX]
        v = (y - x) * 0.7071 + params[P_CIRRUS_OY]
        out[F_CIRRUS] = fbm(u / 6.0, v, 1500.0, 3, 71)
    out[F_MOISTURE] = fbm(x, y, 700.0, 2, 83)


@_jit
def field_lattice(x_min, x_max, y_min, y_max, params):
    """The smooth fields on the lattice nodes covering a box: (fields, rows, cols), and the world
    index of the first node along x and y."""
    i0 = np.int64(math.floor(x_min / LATTICE)) - 1
    j0 = np.int64(math.floor(y_min / LATTICE)) - 1
    n_i = np.int64(math.floor(x_max / LATTICE)) + 3 - i0
    n_j = np.int64(math.floor(y_max / LATTICE)) + 3 - j0
    lattice = np.empty((N_FIELDS, n_j, n_i))
    values = np.empty(N_FIELDS)
    for j in range(n_j):
        for i in range(n_i):
            _field_values((i0 + i) * LATTICE, (j0 + j) * LATTICE, params, values)
            lattice[:, j, i] = values
    return lattice, i0, j0


@_jit
def interpolate(lattice, i0, j0, field, x, y):
    """Bilinear interpolation of one lattice field at a point."""
    u = x / LATTICE
    v = y / LATTICE
    iu = math.floor(u)
    jv = math.floor(v)
    fu = u - iu
    fv = v - jv
    i = np.int64(iu) - i0
    j = np.int64(jv) - j0
    top = lattice[field, j, i] + (lattice[field, j, i + 1] - lattice[field, j, i]) * fu
    bottom = (
        lattice[field, j + 1, i] + (lattice[field, j + 1, i + 1] - lattice[field, j + 1, i]) * fu
    )
    return top + (bottom - top) * fv


# --- the ground -------------------------------------------------------------------------------


@_jit
def land_cover(x, y, relief, river, town):
    """(cover class, field id) at a point, given the smooth fields there; fields are 500 m
    lattice cells, some split in two."""
    if relief < 0.30 or abs(river - 0.5) < 0.012:
        return WATER, -1
    if relief > 0.68:
        return FOREST, -1
    if town > 0.69:
        return TOWN, -1
    ci = np.int64(math.floor(x / FIELD_CELL))
    cj = np.int64(math.floor(y / FIELD_CELL))
    fx = x / FIELD_CELL - ci
    fy = y / FIELD_CELL - cj
    field = ci * 1_000_003 + cj * 2
    if hash01(ci, cj, 5) < 0.12:
        # A centre pivot: a circle of irrigated crop, grass in the corners.
        dx = fx - 0.5
        dy = fy - 0.5
        if dx * dx + dy * dy < 0.2:
            return CROP, field
        return GRASS, field + 1
    split = 0.3 + 0.4 * hash01(ci, cj, 7)
    if (fx if hash01(ci, cj, 9) < 0.5 else fy) > split:
        field += 1
    kind = hash01(field, 0, 13)
    if kind < 0.08:
        return BARE, field
    if kind < 0.18:
        return GRASS, field
    return CROP, field


@_jit
def vegetation_fraction(cover, field, doy):
    """Green vegetation fraction of a cover on a day of the year (phenology)."""
    if cover == FOREST:
        return 0.83 + 0.12 * _bump(doy, 190.0, 90.0)
    if cover == GRASS:
        return 0.35 + 0.3 * _bump(doy, 150.0, 60.0)
    if cover in (BARE, TOWN, WATER):
        return 0.05
    crop = hash01(field, 1, 17)
    shift = 20.0 * (hash01(field, 2, 19) - 0.5)
    if crop < 0.45:  # summer crop (maize-like), peak in late July
        return 0.05 + 0.9 * _bump(doy, 205.0 + shift, 38.0)
    if crop < 0.75:  # winter cereal: green in spring, harvested at the start of July
        return 0.08 if doy > 185.0 + shift else 0.1 + 0.8 * _bump(doy, 130.0 + shift, 35.0)
    # alfalfa: regrows after a cut every ~35 days
    phase = ((doy + 60.0 * crop + shift) % 35.0) / 35.0
    return 0.25 + 0.6 * phase


@_jit
def surface(x, y, doy, relief, river, town, out):
    """Write the clear-sky surface reflectance (13 bands) at a point into ``out``.

    Returns (cover, vegetation fraction)."""
    cover, field = land_cover(x, y, relief, river, town)
    grain = hash01(np.int64(math.floor(x / 10.0)), np.int64(math.floor(y / 10.0)), 29) - 0.5
    if cover == WATER:
        depth = fbm(x, y, 800.0, 2, 31)
        for b in range(13):
            out[b] = WATER_SURFACE[b] * (0.8 + 0.4 * depth) * (1.0 + 0.03 * grain)
        return cover, 0.0
    if cover == TOWN:
        block = hash01(np.int64(math.floor(x / 40.0)), np.int64(math.floor(y / 40.0)), 41)
        trees = 0.25 if block < 0.2 else 0.0
        for b in range(13):
            built = TOWN_SURFACE[b] * (0.7 + 0.6 * block)
            out[b] = (trees * FOREST_CANOPY[b] + (1.0 - trees) * built) * (1.0 + 0.04 * grain)
        return cover, trees
    veg = vegetation_fraction(cover, field, doy)
    soil_brightness = 0.6 + 0.5 * (hash01(field, 3, 43) if field >= 0 else 0.5)
    soil_brightness *= 0.9 + 0.2 * value_noise(x, y, 120.0, 47)
    canopy = FOREST_CANOPY if cover == FOREST else GREEN_CANOPY
    vigour = 0.9 + 0.2 * value_noise(x, y, 60.0, 53)
    for b in range(13):
        out[b] = (veg * canopy[b] * vigour + (1.0 - veg) * SOIL[b] * soil_brightness) * (
            1.0 + 0.02 * grain
        )
    return cover, veg


@_jit
def cloud_opacity(noise, params):
    """Opacity (0-1) of the cumulus layer where its noise field is ``noise``."""
    excess = noise - params[P_CLOUD_THR]
    if excess <= 0.0:
        return 0.0
    return 1.0 - math.exp(-CLOUD_SHARPNESS * excess * 10.0)


@_jit
def cirrus_opacity(n, params):
    """Opacity of the thin, streaky cirrus layer where its noise is ``n`` (0 without cirrus)."""
    amount = params[P_CIRRUS]
    if amount <= 0.0:
        return 0.0
    # Sharp-ish edges: the truth (opacity > 0.05) and what a detector sees stay close.
    return amount * min(1.0, max(0.0, (n - 0.56) * 25.0))


@_jit
def land_surface_temperature(x, y, cover, ndvi, moisture, params):
    """10 m land surface temperature (K): cooler where greener, water cool, towns warm."""
    t = params[P_T_BASE] - 26.0 * ndvi
    if cover == WATER:
        t = params[P_T_BASE] - 24.0
    elif cover == TOWN:
        t += 3.0
    elif cover == BARE:
        t += 1.5
    # Moisture and exposure vary smoothly: about +-1.5 K at a few hundred metres.
    return (
        t
        + 3.0 * (moisture - 0.5)
        + 0.6 * (hash01(np.int64(math.floor(x / 30.0)), np.int64(math.floor(y / 30.0)), 89) - 0.5)
    )


@_jit
def cloud_class_share(xs, ys, params):
    """The share of the points ``(xs, ys)`` (1-D) that the scene classification calls cloud
    (SCL 8, 9 or 10: cloud over 0.3 or cirrus over 0.25), as :func:`render` computes those
    opacities (the same lattice interpolation) but without the ground, which the cloud classes
    do not need: a tile's cloud cover from thousands of points far apart, each with its own
    small lattice, instead of one lattice over the whole tile."""
    cloudy = 0
    for n in range(xs.shape[0]):
        x, y = xs[n], ys[n]
        lattice, i0, j0 = field_lattice(x, x, y, y, params)
        cloud = cloud_opacity(interpolate(lattice, i0, j0, F_CLOUD, x, y), params)
        cirrus = cirrus_opacity(interpolate(lattice, i0, j0, F_CIRRUS, x, y), params)
        if cloud > 0.3 or cirrus > 0.25:
            cloudy += 1
    return cloudy / max(xs.shape[0], 1)


@_jit
def _scene_classification(cover, ndvi, cloud, cirrus, shadow, toa_blue, noise):
    """A Sen2Cor-like SCL class, with its typical errors."""
    if cloud > 0.6:
        return 9.0  # cloud, high probability
    if cloud > 0.3 or (cover == TOWN and toa_blue > 2100 and noise < 0.25):
        return 8.0  # cloud, medium probability (and bright towns mistaken for cloud)
    if cirrus > 0.25:
        return 10.0
    if shadow > 0.5 and noise < 0.55:
        return 3.0  # shadows: about half are found
    if shadow > 0.5:
        return 2.0  # ... the rest become "dark area pixels"
    if cover == WATER:
        return 6.0
    if ndvi > 0.35:
        return 4.0
    return 5.0


@_jit
def render(xs, ys, step, k, params, mode, out):
    """Render one date into ``out`` (channels, H, W) at the points ``(xs, ys)`` (H, W).

    Each pixel averages k x k sub-samples ``step`` metres apart (k odd); categorical channels
    (SCL, truth masks, cover) come from the central sub-sample.
    """
    n_y, n_x = xs.shape
    doy = params[P_DOY]
    # One lattice covers every sample and every sample's shadow-casting point.
    reach = (k // 2) * step
    dx = params[P_SHADOW_DX]
    dy = params[P_SHADOW_DY]
    x_min = xs.min() - reach
    x_max = xs.max() + reach
    y_min = ys.min() - reach
    y_max = ys.max() + reach
    lattice, i0, j0 = field_lattice(
        min(x_min, x_min + dx),
        max(x_max, x_max + dx),
        min(y_min, y_min + dy),
        max(y_max, y_max + dy),
        params,
    )
    ground = np.empty(13)
    toa = np.empty(13)
    acc = np.empty(out.shape[0])
    centre = k // 2
    n_samples = k * k
    for r in range(n_y):
        for c in range(n_x):
            acc[:] = 0.0
            for si in range(k):
                for sj in range(k):
                    x = xs[r, c] + (sj - centre) * step
                    y = ys[r, c] - (si - centre) * step
                    is_centre = si == centre and sj == centre
                    cover, _ = surface(
                        x,
                        y,
                        doy,
                        interpolate(lattice, i0, j0, F_RELIEF, x, y),
                        interpolate(lattice, i0, j0, F_RIVER, x, y),
                        interpolate(lattice, i0, j0, F_TOWN, x, y),
                        ground,
                    )
                    ndvi = (ground[7] - ground[3]) / (ground[7] + ground[3])
                    # Shadow: is the sun blocked by a cloud up-sun at the cloud's height?
                    shadow = cloud_opacity(
                        interpolate(lattice, i0, j0, F_CLOUD, x + dx, y + dy), params
                    )
                    cloud = cloud_opacity(interpolate(lattice, i0, j0, F_CLOUD, x, y), params)
                    cirrus = cirrus_opacity(interpolate(lattice, i0, j0, F_CIRRUS, x, y), params)
                    if mode == MODE_TRUTH:
                        for b in range(12):
                            acc[b] += ground[b if b < 10 else b + 1]
                        if is_centre:
                            acc[12] = 1.0 if (cloud > 0.1 or cirrus > 0.05) else 0.0
                            acc[13] = 1.0 if (shadow > 0.15 and acc[12] == 0.0) else 0.0
                            acc[15] = cover
                        moisture = interpolate(lattice, i0, j0, F_MOISTURE, x, y)
                        acc[14] += land_surface_temperature(x, y, cover, ndvi, moisture, params)
                        continue
                    for b in range(13):
                        shaded = ground[b] * (1.0 - SHADOW_DEPTH[b] * shadow)
                        clear_toa = GAIN[b] * shaded + PATH[b]
                        toa[b] = (
                            clear_toa * (1.0 - cloud)
                            + CLOUD_TOA[b] * cloud
                            + CIRRUS_TOA[b] * cirrus
                        )
                    if mode == MODE_L1C:
                        for b in range(13):
                            acc[b] += toa[b]
                        continue
                    for b in range(12):
                        band = b if b < 10 else b + 1
                        acc[b] += (toa[band] - PATH[band]) / GAIN[band]
                    noise = hash01(
                        np.int64(math.floor(x / 20.0)),
                        np.int64(math.floor(y / 20.0)),
                        np.int64(params[P_DATE_SEED]),
                    )
                    if is_centre:
                        acc[12] = _scene_classification(
                            cover, ndvi, cloud, cirrus, shadow, toa[1], noise
                        )
                    # Sen2Cor-like probability: good on thick cloud, weak on thin, some false
                    # alarms over bright built-up areas.
                    probability = 100.0 * min(1.0, 1.15 * cloud + 0.5 * cirrus)
                    if cover == TOWN and toa[1] > 1900:
                        probability = max(probability, 25.0 * noise)
                    acc[13] += probability
            for ch in range(out.shape[0]):
                categorical = (mode == MODE_L2A and ch == 12) or (
                    mode == MODE_TRUTH and ch in (12, 13, 15)
                )
                out[ch, r, c] = acc[ch] if categorical else acc[ch] / n_samples
    return out
