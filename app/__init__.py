"""Composite Explorer's dashboard (Panel): ``from app import Dashboard; Dashboard()``.

Served with ``panel serve app/app.py``; in a notebook, run from the repository's root (or put
it on ``sys.path``) so that ``app`` and ``compositing`` import.
"""

import holoviews.plotting.bokeh  # noqa: F401  (the backend that the components' .opts need)
import panel as pn

# Notifications carry the errors; in a notebook the JavaScript is inlined so that a saved
# notebook still renders offline (the stack notes: CDN resources render blank offline).
_served = pn.state.curdoc is not None and pn.state.curdoc.session_context is not None
pn.extension(notifications=True, inline=not _served)

from .dashboard import Dashboard  # noqa: E402  (after the extension is loaded)

__all__ = ["Dashboard"]
