"""Entry point of ``panel serve app/app.py``: the dashboard in a Panel template.

``panel serve app/app.py --args --hosted`` (or ``COMPOSITE_EXPLORER_HOSTED=1``) serves it with
hosted mode's caps (:mod:`app.limits`). When a session ends, its dashboard is closed, and the
server logs how many dashboards are still in memory and what the shared cache holds ("sessions
alive: N dashboards; shared cache M MB"): a closed session must leave no dashboard behind, and
the cache (bounded) stays for the next sessions.
"""

import sys
from pathlib import Path

# `panel serve` runs this file with its own folder first on sys.path, where `import app` would
# find this very file (also called app). Put the repository first so that `app` is the package.
REPOSITORY = str(Path(__file__).resolve().parents[1])
if sys.path[0] != REPOSITORY:
    sys.path.insert(0, REPOSITORY)

import logging  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
import weakref  # noqa: E402

import panel as pn  # noqa: E402
from bokeh.settings import settings  # noqa: E402
from panel.io.resources import LOCAL_DIST  # noqa: E402  (Panel's path to its own resources)
from panel.links import Callback  # noqa: E402

from app import Dashboard  # noqa: E402
from app.dashboard import (  # noqa: E402
    closed_dashboards_alive,
    count_when_quiet,
    dashboards_alive,
)
from app.holders import holder_chains as chains_up  # noqa: E402
from app.limits import limits_from  # noqa: E402

# `panel serve` runs this file once per session, but `import app` (which loads the extension)
# only once per process: without this call, only the first session got a notification area.
pn.extension(notifications=True)

# The dashboard logs each refresh ("refresh 3: median in 0.31 s") and every error it reports.
# APP_LOG_LEVEL=DEBUG also logs the map's view changes.
log = logging.getLogger("app")
log.setLevel(os.environ.get("APP_LOG_LEVEL", "INFO"))


def _serve_stylesheets_locally(document) -> None:
    """Give the session's document the address of this server's Panel resources now, before
    any of its models is built.

    Panel (1.9.4) patches its models' stylesheets from its CDN to this server only when the
    page's HTML is made, and patches a model built before then to the CDN. Models built for
    one session can take stylesheets from the cache of another session that is still being
    built (under load: 3 of 4 pages asked cdn.holoviz.org for 8-12 stylesheets, and an
    offline classroom's pages rendered partly unstyled). With the address set from the start
    every stylesheet points here, whichever session built it. Not with ``--resources cdn``.
    """
    if settings.resources(default="server") != "server":
        return
    rel_path = pn.state.rel_path
    local = f"{rel_path}/{LOCAL_DIST}" if rel_path else LOCAL_DIST
    document._template_variables["dist_url"] = local


#: Panel's caches keyed (weakly) by a session's document that Panel does not clear when the
#: session ends (panel 1.9: its session cleanup clears the periodic callbacks, locations,
#: notifications and templates only). Their values hold models of the document (stylesheets)
#: or callbacks into the page (onload, change callbacks), and so the document itself: the
#: weak key never dies, and the closed session's document, plots and dashboard stayed in memory.
PANEL_DOCUMENT_CACHES = ("_stylesheets", "_onload", "_change_callbacks", "_session_outputs")
#: Seconds after the last of the sessions ending together before the dashboards still in
#: memory are counted.
COUNT_DELAY_S = 1.0
#: Counts again while closed dashboards are still in memory, each a second later than the last
#: (the last about 45 s after the sessions ended: a loaded CI machine once showed one closed
#: dashboard still held 20 s after).
COUNT_RETRIES = 8
#: The retry (about 10 s after the sessions ended) at which a dashboard still held is explained.
EXPLAIN_AT_RETRY = 3


def _release_unrendered_links(registry=Callback.registry) -> None:
    """Forget the JavaScript links (``jslink``, e.g. each ``EditableFloatSlider``'s slider and
    box) of widgets shown on no page any more.

    Panel keeps them in ``panel.links.Callback.registry``, a WeakKeyDictionary keyed by the
    source widget whose values (the links) hold that widget's own composite: the weak key never
    dies, and through the controls' watchers the closed session's whole dashboard stayed in
    memory. A widget on no page has no Bokeh models left (Panel's session cleanup removed
    them). Safe in a served process: sessions are built on the event loop that runs this, so
    no session is halfway between building its widgets and rendering them.

    Parameters
    ----------
    registry
        Panel's registry of links, by source widget.
    """
    for source in list(registry.keys()):
        if getattr(source, "_models", None) == {}:
            registry.pop(source, None)


def _closer(dashboard: Dashboard):
    """The session-destroyed callback: it holds the dashboard weakly (a callback holding it
    would keep it alive), closes it, lets go of Panel's caches of the session's document, and
    logs what is left."""
    reference = weakref.ref(dashboard)
    # Bound now: Bokeh clears this script's module namespace when the session ends.
    alive, info, warn = dashboards_alive, log.info, log.warning
    state, caches = pn.state, PANEL_DOCUMENT_CACHES
    # The process's shared computations, not the session's: what stays for the next sessions.
    computations = dashboard.computations
    count_later, delay, release_links = count_when_quiet, COUNT_DELAY_S, _release_unrendered_links
    lingering, most_retries, holder_chains = closed_dashboards_alive, COUNT_RETRIES, chains_up
    weakly, clock = weakref.ref, time.perf_counter
    explain_at = COUNT_RETRIES - EXPLAIN_AT_RETRY

    def count(retries: int = most_retries) -> None:
        release_links()  # now: Panel's own cleanup of the session ran after this callback
        cache_mb = computations.nbytes / 2**20
        info("sessions alive: %d dashboards; shared cache %d MB", alive(), cache_mb)
        # A closed session's dashboard can outlive the first count: a job still finishing in a
        # worker holds it, or a collection frees what the next release of links lets go. Count
        # again, a little later each time, until none is left or the retries run out.
        held = lingering()
        if held and retries == explain_at:
            # Still held about 10 s on: say what holds it, once (the search takes seconds with
            # a class in memory; a leak seen once on a loaded machine then says where it is).
            first = weakly(held[0])
            del held  # this frame's own reference would be the first holder found
            started = clock()
            chains = holder_chains(first())
            for chain in chains or ["nothing the collector tracks (a C extension?)"]:
                warn("a closed dashboard is still held: %s", chain)
            info("holders searched in %.1f s", clock() - started)
            held = lingering()
        if held and retries:
            count_later(delay * (most_retries - retries + 2), lambda: count(retries - 1))
        del held

    def closed(session_context) -> None:
        board = reference()
        if board is not None:
            board.close()
        del board
        document = session_context._document
        for name in caches:
            cache = getattr(state, name, None)
            if cache is not None:
                cache.pop(document, None)
        # Counted a moment later (the server lets go of the session after this callback), once
        # for closes that come together.
        count_later(delay, count)

    return closed


_serve_stylesheets_locally(pn.state.curdoc)
dashboard = Dashboard(limits=limits_from(sys.argv))
pn.state.on_session_destroyed(_closer(dashboard))
dashboard.template().servable()
del dashboard  # the module namespace must not hold it either
