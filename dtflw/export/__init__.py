"""Export layer: a declared flow as a Databricks job (Jobs API settings, Asset Bundle YAML).

Reads specs and the DAG (`dtflw.model`) only.
"""

from dtflw.export.bundle import bundle_yaml
from dtflw.export.jobs import job_settings
from dtflw.export.yaml import to_yaml

__all__ = ["bundle_yaml", "job_settings", "to_yaml"]
