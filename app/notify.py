"""Messages for the user: Panel's notifications (toasts) when there is a page, and a history.

Everything the user should know (errors, warnings, "computed in 0.4 s") goes through one
:class:`Notifier`, so that tests read :attr:`Notifier.history` instead of a browser, and the
dashboard keeps working after any error.
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
    """Shows messages as Panel notifications and keeps them in :attr:`history`."""

    def __init__(self) -> None:
        self.history: list[Message] = []

    def notify(self, level: str, text: str) -> None:
        if level not in DURATIONS:
            raise ValueError(f"unknown level {level!r}; levels: {', '.join(DURATIONS)}")
        self.history.append(Message(level, text))
        getattr(log, "error" if level == "error" else "info")(text)
        notifications = pn.state.notifications
        if notifications is not None:
            getattr(notifications, level)(text, duration=DURATIONS[level])

    def error(self, text: str) -> None:
        self.notify("error", text)

    def warning(self, text: str) -> None:
        self.notify("warning", text)

    def info(self, text: str) -> None:
        self.notify("info", text)

    def messages(self, level: str) -> list[str]:
        """The texts of every message of a level, oldest first."""
        return [message.text for message in self.history if message.level == level]
