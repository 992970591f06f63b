"""The command line: ``composite-explorer export`` writes a composite to a Cloud-Optimized
GeoTIFF, for batch jobs.

::

    composite-explorer export --source demo --bbox -122.40 37.43 -122.35 37.47 \\
        --dates 2021-07-01 2021-08-01 --method median --mask scl --out median.tif

``--scheduler tcp://host:8786`` (or ``$DASK_SCHEDULER_ADDRESS``) computes the tiles on a
``dask.distributed`` cluster (the file is the same). A bad argument exits with status 2 and a
message that says what to pass.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import clouds
from .errors import CatalogResponseError, CatalogUnreachableError, NoScenesError
from .export import write_cog
from .reducers import METHODS, STATISTICS, composite
from .sources import SOURCES, load

__all__ = ["main"]

#: The environment variable that names a dask scheduler, as for the dashboard.
SCHEDULER_VARIABLE = "DASK_SCHEDULER_ADDRESS"
#: Bands written by default: what a true-colour and an NDVI view need.
DEFAULT_BANDS = ("B02", "B03", "B04", "B08")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.method == "percentile" and args.percentile is None:
        parser.error("--method percentile needs --percentile P (0 to 100)")
    if args.method == "quality_mosaic" and not args.quality_band:
        parser.error("--method quality_mosaic needs --quality-band NAME (e.g. B08)")
    try:
        return _export(args)
    except (ValueError, TypeError, KeyError) as error:
        parser.exit(2, f"composite-explorer export: {error}\n")
    except (NoScenesError, CatalogUnreachableError, CatalogResponseError, OSError) as error:
        parser.exit(1, f"composite-explorer export: {error}\n")
    return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="composite-explorer", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="export")
    export = commands.add_parser(
        "export",
        help="write a composite to a Cloud-Optimized GeoTIFF",
        description="Load a Sentinel-2 collection, mask clouds, composite it, and write the "
        "result as a Cloud-Optimized GeoTIFF (float32, band names, nodata NaN, overviews), "
        "tile by tile.",
    )
    export.add_argument(
        "--source",
        default=["demo"],
        help=f"{', '.join(SOURCES)}, or band files (repeat --source or give a glob's files)",
        nargs="+",
    )
    export.add_argument(
        "--bbox",
        nargs=4,
        type=float,
        metavar=("WEST", "SOUTH", "EAST", "NORTH"),
        required=True,
        help="the area in degrees (lon/lat)",
    )
    export.add_argument(
        "--dates", nargs=2, metavar=("START", "END"), help="YYYY-MM-DD YYYY-MM-DD (end excluded)"
    )
    export.add_argument(
        "--method", default="median", choices=METHODS + STATISTICS, help="the composite"
    )
    export.add_argument("--percentile", type=float, help="for --method percentile: 0 to 100")
    export.add_argument("--quality-band", help="for --method quality_mosaic: the band to maximise")
    export.add_argument(
        "--mask", default="none", choices=clouds.MASK_METHODS, help="the cloud mask (default none)"
    )
    export.add_argument(
        "--bands",
        nargs="+",
        default=list(DEFAULT_BANDS),
        help=f"bands to write (default {' '.join(DEFAULT_BANDS)})",
    )
    export.add_argument("--resolution", type=float, default=10.0, help="metres (default 10)")
    export.add_argument("--crs", help="output CRS, e.g. EPSG:32610 (default the UTM zone)")
    export.add_argument("--out", required=True, help="the .tif to write (overwritten)")
    export.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a dask.distributed scheduler, tcp://host:8786 (default $DASK_SCHEDULER_ADDRESS)",
    )
    export.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _export(args: argparse.Namespace) -> int:
    source = args.source[0] if len(args.source) == 1 else list(args.source)
    wanted = list(dict.fromkeys(args.bands + ([args.quality_band] if args.quality_band else [])))
    bands = list(dict.fromkeys([*wanted, *clouds.MASK_BANDS[args.mask]]))
    area = {"bbox": tuple(args.bbox), "dates": tuple(args.dates) if args.dates else None}
    grid = {"resolution": args.resolution, "crs": args.crs}
    collection = load(source, bands=bands, **area, **grid)
    params = {}
    if args.mask == "s2cloudless":
        params["l1c"] = load(source, bands=clouds.S2CLOUDLESS_BANDS, product="L1C", **area, **grid)
    masked = clouds.mask_clouds(collection, args.mask, **params).sel(band=wanted)
    extra = {"quality_band": args.quality_band} if args.method == "quality_mosaic" else {}
    if args.method == "percentile":
        extra["percentile"] = args.percentile
    result = composite(masked, args.method, **extra).sel(band=args.bands)
    client = _client(args.scheduler or os.environ.get(SCHEDULER_VARIABLE, "").strip())
    try:
        tags = {"method": args.method, "mask": args.mask, "source": str(args.source)}
        path = write_cog(result, args.out, tags=tags, progress=not args.quiet)
    finally:
        if client is not None:
            client.close()
    print(f"wrote {path} ({result.sizes['band']} bands, {result.sizes['x']} x {result.sizes['y']})")
    return 0


def _client(address: str | None):
    """A ``distributed.Client`` for ``address`` (the default scheduler while it is open)."""
    if not address:
        return None
    try:
        from distributed import Client
    except ImportError as error:
        raise OSError(
            "--scheduler needs the 'distributed' package: pip install distributed"
        ) from error
    return Client(address, timeout="10s", set_as_default=True)


if __name__ == "__main__":
    sys.exit(main())
