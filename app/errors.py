"""What to tell the user about an exception: a level and a sentence."""

from __future__ import annotations

import logging

from compositing import CatalogResponseError, CatalogUnreachableError, NoScenesError

from .options import SOURCE_LABELS
from .pipeline import NoDataError
from .settings import SettingsError
from .view import ViewError

log = logging.getLogger("app")


def describe(error: BaseException, source: str | None = None) -> tuple[str, str]:
    """(level, message) for a notification; unexpected errors are logged with their traceback."""
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
