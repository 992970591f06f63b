"""The map's legend: one entry per visible layer, as HTML (colour bars, class swatches), and
for each layer ticked but not shown, why."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from .render import Legend

_SWATCH = (
    "display:inline-block;width:14px;height:14px;margin-right:6px;vertical-align:middle;"
    "border:1px solid #999;"
)


def legend_html(legends: Iterable[Legend], problems: Sequence[tuple[str, str]] = ()) -> str:
    """HTML for the legends of the visible layers, top layer first.

    Parameters
    ----------
    legends
        The shown layers' legends, top layer first.
    problems
        (label, why) of each layer ticked but not shown: the legend says why, so that a blank
        map is never left unexplained.
    """
    entries = [_entry(legend) for legend in legends]
    missing = [
        f"<div style='color:#8a1c1c;margin-top:6px'><strong>{html.escape(label)} not shown:"
        f"</strong> {html.escape(why)}</div>"
        for label, why in problems
    ]
    if not entries and not missing:
        return "<div class='ce-legend'><em>No layer shown: tick one under Layers.</em></div>"
    if not entries:
        entries = ["<div><em>No layer shown.</em></div>"]
    return "<div class='ce-legend'>" + "".join(entries + missing) + "</div>"


def _entry(legend: Legend) -> str:
    title = f"<div style='font-weight:600;margin-top:6px'>{html.escape(legend.title)}</div>"
    if legend.kind == "rgb":
        gamma = f", gamma {legend.gamma:g}" if legend.gamma != 1 else ""
        body = (
            f"<div>R, G, B = {html.escape(legend.units)}: "
            f"{_number(legend.minimum)} to {_number(legend.maximum)}{gamma}</div>"
        )
    elif legend.kind == "ramp":
        gradient = ", ".join(legend.palette)
        body = (
            "<div style='display:flex;align-items:center;gap:6px'>"
            f"<span>{_number(legend.minimum)}</span>"
            f"<span style='flex:1;max-width:220px;height:12px;border:1px solid #999;"
            f"background:linear-gradient(to right, {gradient})'></span>"
            f"<span>{_number(legend.maximum)} {html.escape(legend.units)}</span></div>"
        )
    elif legend.kind == "classes":
        body = "".join(
            f"<div><span style='{_SWATCH}background:{colour}'></span>{html.escape(name)}</div>"
            for colour, name in legend.classes
        )
    else:
        colour = legend.palette[0] if legend.palette else "#ffa500"
        body = (
            f"<div><span style='{_SWATCH}background:{colour};opacity:{legend.opacity}'></span>"
            "masked (dropped) pixels</div>"
        )
    return title + body


def _number(value: float) -> str:
    if value and (abs(value) >= 1e6 or abs(value) < 1e-2):
        return f"{value:.0e}"
    return f"{value:g}"
