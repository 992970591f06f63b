"""The app's errors, and what to tell the user about any exception: a level and a sentence."""

from __future__ import annotations

import logging

from compositing import CatalogResponseError, CatalogUnreachableError, NoScenesError

from .limits import LimitError
from .options import SOURCE_LABELS
from .settings import SettingsError
from .view import ViewError

log = logging.getLogger("app")


class NoDataError(ValueError):
    """Nothing to show: no images on the dates, every pixel masked, a layer the source lacks."""


def describe(error: BaseException, source: str | None = None) -> tuple[str, str]:
    """(level, message) for a notification; unexpected errors are logged with their traceback,
    network errors with their details (the user gets the cause in words).

    Parameters
    ----------
    error
        What went wrong.
    source
        The engine's name of the source being read (named in the message), if known.
    """
    where = SOURCE_LABELS.get(source, source) if source else "the source"
    if isinstance(error, CatalogResponseError):
        return "error", f"{where} answered with an error: {error}"
    if isinstance(error, (CatalogUnreachableError, ConnectionError, TimeoutError)) or (
        isinstance(error, OSError) and not isinstance(error, FileNotFoundError)
    ):
        log.warning("%s cannot be reached: %s", where, error)
        return "error", (
            f"{where} cannot be reached: {network_cause(error)}. Check the network connection, "
            "or choose the demo source, which works offline"
        )
    if isinstance(error, NoScenesError):
        return "warning", f"No scenes found: {error}"
    if isinstance(error, (NoDataError, ViewError, LimitError)):
        return "warning", str(error)
    if isinstance(error, (SettingsError, ValueError)):
        return "error", str(error)
    log.exception("unexpected error", exc_info=error)
    return "error", f"Unexpected error ({type(error).__name__}): {error}"


#: Words for the usual network failures, by what their exception chain says.
_NETWORK_CAUSES = (
    (
        ("proxyerror", "unable to connect to proxy", "tunnel connection failed"),
        "the network's proxy refused the connection",
    ),
    (("timeout", "timed out"), "it did not answer in time"),
    (
        ("name or service not known", "failed to resolve", "nodename nor servname",
         "temporary failure in name resolution", "gaierror", "getaddrinfo"),
        "its address could not be looked up (no network?)",
    ),
    (("connection refused", "refused"), "the connection was refused"),
    (("ssl", "certificate"), "the secure connection failed (SSL)"),
)  # fmt: skip


def network_cause(error: BaseException) -> str:
    """The cause of a network error in a few words, from its exception chain."""
    text = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text.append(f"{type(current).__name__} {current}".lower())
        current = current.__cause__ or current.__context__
    chain = " ".join(text)
    for needles, words in _NETWORK_CAUSES:
        if any(needle in chain for needle in needles):
            return words
    return "the network connection failed"
