"""Run unmodified Databricks notebooks on a local machine."""
