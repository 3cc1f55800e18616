"""The pipeline catalogue: `Catalog(storage)` over a storage's run history (notebooks, tables,
runs, lineage across flows), and `write_dashboard` (a static HTML page)."""

from dtflw.catalog.catalog import Catalog, Change, NotebookInfo, RunInfo, TableInfo
from dtflw.catalog.dashboard import dashboard_html, write_dashboard

__all__ = ["Catalog", "Change", "NotebookInfo", "RunInfo", "TableInfo", "dashboard_html", "write_dashboard"]
