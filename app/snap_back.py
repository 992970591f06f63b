"""Widgets that snap back: a value the server rejects is replaced, in the page, by the server's.

A browser can send any value for a widget (a crafted websocket message, a stale page): a Select
option that does not exist, a number outside its bounds. Panel refuses it (the parameter keeps
its value) but leaves the page showing what was sent, so the page and the server disagree about
what is computed. These widgets put the parameter's value back into the page's model instead.
"""

from __future__ import annotations

import logging
from typing import Any

import panel as pn

log = logging.getLogger("app")


class SnapBack:
    """Mixin for a Panel widget: a rejected change from the page is undone in the page."""

    def _process_events(self, events: dict[str, Any]) -> None:
        try:
            super()._process_events(events)  # type: ignore[misc]
        except Exception as error:
            log.warning("rejected %s from the page (%s): showing the server's value", events, error)
            self.show_server_values(list(events))

    def show_server_values(self, properties: list[str]) -> None:
        """Put the widget's values of these Bokeh ``properties`` back into this page's model."""
        widget: Any = self
        mapping = widget._property_mapping
        names = [name for name in widget.param if (mapping.get(name) or name) in properties]
        values = widget._process_param_change({name: getattr(widget, name) for name in names})
        document = pn.state.curdoc
        for model, _ in widget._models.values():
            # Only this page's model: another session's document is not ours to change.
            if document is None or model.document is document:
                model.update(**values)


class SnapBackSelect(SnapBack, pn.widgets.Select):
    """A Select that snaps back (see :class:`SnapBack`)."""


class SnapBackFloatInput(SnapBack, pn.widgets.FloatInput):
    """A FloatInput that snaps back (see :class:`SnapBack`)."""


class SnapBackCheckBoxGroup(SnapBack, pn.widgets.CheckBoxGroup):
    """A CheckBoxGroup that snaps back (see :class:`SnapBack`)."""


class SnapBackRangeSlider(SnapBack, pn.widgets.RangeSlider):
    """A RangeSlider that snaps back (see :class:`SnapBack`)."""


class SnapBackDateRangePicker(SnapBack, pn.widgets.DateRangePicker):
    """A DateRangePicker that snaps back (see :class:`SnapBack`)."""
