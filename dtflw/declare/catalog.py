"""The table catalogue: which declared notebook produces which table name.

Resolution is static: an input named X resolves to the output X (or alias X) of the latest
notebook declared before the consumer. The catalog records producers in declaration order.
"""

from __future__ import annotations

import attrs

from dtflw.model.specs import OutputSpec


@attrs.frozen
class Publication:
    """One producer of a table name: which notebook (declaration index, path) and where."""

    index: int
    notebook: str
    path: str


class TableCatalog:
    """Producers of every table name, in declaration order; answers static resolution."""

    def __init__(self) -> None:
        self._producers: dict[str, list[Publication]] = {}

    def declare(self, index: int, notebook: str, outputs: tuple[OutputSpec, ...]) -> None:
        """Register the outputs of the notebook declared at `index`."""
        for out in outputs:
            self._producers.setdefault(out.alias, []).append(Publication(index, notebook, out.path))

    def resolve(self, name: str, before: int | None = None) -> Publication | None:
        """Latest producer of `name` declared before index `before` (any, when None)."""
        pubs = self._producers.get(name)
        if not pubs:
            return None
        if before is None:
            return pubs[-1]
        for pub in reversed(pubs):
            if pub.index < before:
                return pub
        return None

    def names(self) -> list[str]:
        return list(self._producers)

    def producers(self, name: str) -> list[Publication]:
        return list(self._producers.get(name, ()))
