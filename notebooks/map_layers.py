"""Legends for the teaching notebooks' maps; the maps themselves are the package's
(:mod:`compositing.mapping`: ``Map``, ``add_layer``, ``layer_map``).

:func:`class_legend` draws a colour key for categorical layers (scene classes, dates), which an
RGB image cannot carry itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import panel as pn

from compositing import visualisation as vis

__all__ = ["class_legend", "scl_legend"]


def class_legend(entries: Iterable[tuple[str, str]], title: str = "") -> pn.pane.HTML:
    """A colour key: one ``(colour, text)`` row per class, e.g. ``("#00a000", "4 Vegetation")``."""
    rows = "".join(
        f'<div style="display:flex;align-items:center;gap:6px;margin:1px 0">'
        f'<span style="display:inline-block;width:14px;height:14px;background:{colour};'
        f'border:1px solid #888"></span><span>{text}</span></div>'
        for colour, text in entries
    )
    heading = f"<b>{title}</b>" if title else ""
    return pn.pane.HTML(f'<div style="font-size:12px">{heading}{rows}</div>', width=240)


def scl_legend(values: Sequence[int] | None = None) -> pn.pane.HTML:
    """The Scene Classification Layer's classes (those in ``values``, default 1-11)."""
    wanted = set(range(1, 12) if values is None else (int(v) for v in values))
    entries = [(c.colour, f"{c.value} {c.name}") for c in vis.SCL_CLASSES if c.value in wanted]
    return class_legend(entries, "SCL classes")
