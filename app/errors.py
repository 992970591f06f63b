"""The app's errors, and what to tell the user about any exception: a level and a sentence."""

from __future__ import annotations

import logging

from compositing import CatalogResponseError, CatalogUnreachableError, NoScenesError

from .options import SOURCE_LABELS
from .settings import SettingsError
from .view import ViewError

log = logging.getLogger("app")


class NoDataError(ValueError):
    """Nothing to show: no images on the dates, every pixel masked, a layer the source lacks."""


def describe(error: BaseException, source: str | None = None) -> tuple[str, str]:
    """(level, message) for a notification; unexpected errors are logged with their traceback.

    Parameters
    ----------
    error
        What went wrong.
    source
        The engine's name of the source being read (named in the message), if known.
    """
    where = SOURCE_LABELS.get(source, source) if source else "the source"
    if isinstance(error, CatalogUnreachableError):
        return "error", f"{where} cannot be reached (no network?): {error}"
    if isinstance(error, CatalogResponseError):
        return "error", f"{where} answered with an error: {error}"
    if isinstance(error, NoScenesError):
        return "warning", f"No scenes found: {error}"
    if isinstance(error, (NoDataError, ViewError)):
        return "warning", str(error)
    if isinstance(error, (SettingsError, ValueError)):
        return "error", str(error)
    if isinstance(error, (ConnectionError, TimeoutError, OSError)):
        return "error", f"{where} cannot be reached (no network?): {error}"
    log.exception("unexpected error", exc_info=error)
    return "error", f"Unexpected error ({type(error).__name__}): {error}"
