"""Panel's Fast design without its web font, so that the served page needs no internet.

The Fast design loads Open Sans from Google Fonts; offline that request fails and shows as a
console error. This subclass drops the font (the template falls back to system fonts). It keeps
the name ``Fast`` because Panel finds a design's bundled files by its class name.
"""

from panel.theme import fast


class Fast(fast.Fast):
    """The Fast design with no remote font."""

    _resources = {**fast.Fast._resources, "font": {}}
