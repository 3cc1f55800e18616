"""The model layer: frozen specs, the DAG built from them, results and the run vocabulary.

It imports nothing from the declare, run, lineage or export layers; they all build on it.
"""

from dtflw.model.dag import Dag, build_dag, task_keys
from dtflw.model.results import FlowRunResult, NotebookResult
from dtflw.model.schema import Schema, to_schema
from dtflw.model.specs import InputSpec, NotebookSpec, OutputSpec
from dtflw.model.status import FlowEventName, LazyMode, PlanAction, RunStatus

__all__ = [
    "Dag",
    "build_dag",
    "task_keys",
    "FlowRunResult",
    "NotebookResult",
    "Schema",
    "to_schema",
    "InputSpec",
    "NotebookSpec",
    "OutputSpec",
    "FlowEventName",
    "LazyMode",
    "PlanAction",
    "RunStatus",
]
