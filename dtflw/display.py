"""How a flow shows text to the notebook user (`flow.show()`, `notebook.show()`).

Keeps dtflw 0.6.x's `dtflw.display.DisplayBase` / `DefaultDisplay`: replace `flow.ctx.display`
with your own `DisplayBase` to send that text elsewhere.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class DisplayBase(ABC):
    """Shows content to the notebook user."""

    @abstractmethod
    def show(self, content: object) -> None:
        """Show `content`."""


class DefaultDisplay(DisplayBase):
    """Prints content to stdout."""

    def show(self, content: object) -> None:
        print(content)


__all__ = ["DisplayBase", "DefaultDisplay"]
