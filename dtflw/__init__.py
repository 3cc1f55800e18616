"""dtflw: explicit, testable Databricks notebook pipelines.

Driver notebooks declare which notebook reads and writes which table (`init_flow`); callee
notebooks read what they were given (`init_args`, `init_inputs`, `init_outputs`).
"""

from dtflw.declare.builder import NotebookBuilder
from dtflw.declare.callee import init_args, init_inputs, init_outputs
from dtflw.declare.context import FlowContext
from dtflw.declare.flow import Flow, init_flow
from dtflw.errors import (
    ConcurrentWriteError,
    DtflwError,
    EngineUnsupportedError,
    FlowDefinitionError,
    FlowInterrupted,
    FlowRunError,
    HistoryError,
    HoldLostError,
    InvalidArgumentError,
    InvalidTypeError,
    MissingInputError,
    MissingOutputError,
    NotebookCancelledError,
    NotebookRunError,
    NotebookTimeoutError,
    RuntimeNotAvailableError,
    SchemaMismatchError,
    StorageError,
)
from dtflw.lineage.graph import LineageGraph
from dtflw.logger import DefaultLogger, Logger, LoggerBase
from dtflw.model.foreach import date_range
from dtflw.model.results import FlowRunResult, NotebookResult
from dtflw.model.specs import InputSpec, NotebookSpec, OutputSpec
from dtflw.model.status import PlanAction, RunStatus
from dtflw.run.context import NotebookRunner, RunContext
from dtflw.run.decide import Decision, Plan
from dtflw.run.events import FlowEvent
from dtflw.run.history import RunRecord
from dtflw.run.notify import WebhookNotifier
from dtflw.run.options import RunOptions
from dtflw.storage.fs import FileStorageBase

__version__ = "0.7.0"

__all__ = [
    "__version__",
    "init_flow",
    "date_range",
    "init_args",
    "init_inputs",
    "init_outputs",
    "Flow",
    "FlowContext",
    "Logger",
    "LoggerBase",
    "DefaultLogger",
    "RunContext",
    "FileStorageBase",
    "NotebookBuilder",
    "NotebookSpec",
    "InputSpec",
    "OutputSpec",
    "NotebookRunner",
    "RunOptions",
    "FlowRunResult",
    "NotebookResult",
    "RunStatus",
    "PlanAction",
    "Plan",
    "Decision",
    "FlowEvent",
    "RunRecord",
    "LineageGraph",
    "WebhookNotifier",
    "ConcurrentWriteError",
    "HoldLostError",
    "DtflwError",
    "EngineUnsupportedError",
    "FlowDefinitionError",
    "FlowInterrupted",
    "FlowRunError",
    "HistoryError",
    "InvalidArgumentError",
    "InvalidTypeError",
    "MissingInputError",
    "MissingOutputError",
    "NotebookCancelledError",
    "NotebookRunError",
    "NotebookTimeoutError",
    "RuntimeNotAvailableError",
    "SchemaMismatchError",
    "StorageError",
]
