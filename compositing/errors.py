"""The engine's own error types, in one module: what a real catalog can raise (no matching
scene, no network, an error answer).

One home so that the search (:mod:`compositing.sources.stac`) and the pixel reads
(the catalog source's asset reader) raise the same types; the package root re-exports them.
Bad arguments raise the built-in ``ValueError`` / ``TypeError`` with a message that says the fix.
"""

from __future__ import annotations

__all__ = ["CatalogResponseError", "CatalogUnreachableError", "NoScenesError"]


class NoScenesError(ValueError):
    """A search found no scenes; the message names the query and what to change."""


class CatalogUnreachableError(ConnectionError):
    """The catalog (or the data behind it) could not be reached over the network."""


class CatalogResponseError(RuntimeError):
    """The catalog answered, but with an error or with something that is not a STAC API."""
