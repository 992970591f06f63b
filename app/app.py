"""Entry point of ``panel serve app/app.py``: the dashboard in a Panel template."""

import sys
from pathlib import Path

# `panel serve` runs this file with its own folder first on sys.path, where `import app` would
# find this very file (also called app). Put the repository first so that `app` is the package.
REPOSITORY = str(Path(__file__).resolve().parents[1])
if sys.path[0] != REPOSITORY:
    sys.path.insert(0, REPOSITORY)

import logging  # noqa: E402
import os  # noqa: E402

import panel as pn  # noqa: E402

from app import Dashboard  # noqa: E402

# `panel serve` runs this file once per session, but `import app` (which loads the extension)
# only once per process: without this, only the first session got a notification area.
pn.extension(notifications=True)

# The dashboard logs each refresh ("refresh 3: median in 0.31 s") and every error it reports.
# APP_LOG_LEVEL=DEBUG also logs the map's view changes.
logging.getLogger("app").setLevel(os.environ.get("APP_LOG_LEVEL", "INFO"))
Dashboard().template().servable()
