"""Messages for the user: Panel's notifications (toasts) when there is a page, and a history.

Everything the user should know (errors, warnings, "computed in 0.4 s") goes through one
:class:`Notifier`, so that tests read :attr:`Notifier.history` instead of a browser, and the
dashboard keeps working after any error.

Each dashboard has its own notifier, and in ``panel serve`` the notifier keeps the notification
area of the session it was made in: a message sent from a callback that runs outside the
session's context (a job resumed on the server's loop) still reaches that session's page, and
never another's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import panel as pn

log = logging.getLogger("app")

#: How long a toast stays (ms); errors stay until closed.
DURATIONS = {"info": 3000, "success": 3000, "warning": 8000, "error": 0}


@dataclass(frozen=True)
class Message:
    level: str  # "info", "success", "warning" or "error"
    text: str


class Notifier:
    """Shows messages as Panel notifications and keeps them in :attr:`history`.

    Made inside a ``panel serve`` session, it sends to that session's notification area; else
    to whatever area Panel has where the message is sent (a notebook's), if any.
    """

    def __init__(self) -> None:
        self.history: list[Message] = []
        document = pn.state.curdoc
        in_session = document is not None and document.session_context is not None
        self._area = pn.state.notifications if in_session else None
        self._closed = False

    def notify(self, level: str, text: str) -> None:
        if level not in DURATIONS:
            raise ValueError(f"unknown level {level!r}; levels: {', '.join(DURATIONS)}")
        self.history.append(Message(level, text))
        getattr(log, "error" if level == "error" else "info")(text)
        if self._closed:
            return
        notifications = self._area if self._area is not None else pn.state.notifications
        if notifications is not None:
            getattr(notifications, level)(text, duration=DURATIONS[level])

    def close(self) -> None:
        """The session has ended: its notification area is let go (the history stays)."""
        self._closed = True
        self._area = None

    def error(self, text: str) -> None:
        self.notify("error", text)

    def warning(self, text: str) -> None:
        self.notify("warning", text)

    def info(self, text: str) -> None:
        self.notify("info", text)

    def messages(self, level: str) -> list[str]:
        """The texts of every message of a level, oldest first."""
        return [message.text for message in self.history if message.level == level]
