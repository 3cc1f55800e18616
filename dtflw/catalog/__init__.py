"""The pipeline catalogue: `Catalog(storage)` over a storage's run history (notebooks, tables,
runs, lineage across flows), and `write_dashboard` (a static HTML page)."""

from dtflw.catalog.catalog import Catalog, Change, NotebookInfo, RunInfo, TableInfo

__all__ = ["Catalog", "Change", "NotebookInfo", "RunInfo", "TableInfo"]
