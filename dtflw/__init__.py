"""dtflw: explicit, testable Databricks notebook pipelines.

Driver notebooks declare which notebook reads and writes which table (`init_flow`); callee
notebooks read what they were given (`init_args`, `init_inputs`, `init_outputs`).
"""

from dtflw.callee import init_args, init_inputs, init_outputs
from dtflw.errors import (
    DtflwError,
    FlowDefinitionError,
    InvalidArgumentError,
    MissingInputError,
    MissingOutputError,
    NotebookRunError,
    NotebookTimeoutError,
    RuntimeNotAvailableError,
    SchemaMismatchError,
    StorageError,
)
from dtflw.flow import Flow, FlowContext, init_flow
from dtflw.logger import Logger
from dtflw.notebook import NotebookBuilder, NotebookSpec

__version__ = "0.7.0"

__all__ = [
    "__version__", "init_flow", "init_args", "init_inputs", "init_outputs", "Flow", "FlowContext",
    "Logger", "NotebookBuilder", "NotebookSpec", "DtflwError", "FlowDefinitionError",
    "InvalidArgumentError", "MissingInputError", "MissingOutputError", "NotebookRunError",
    "NotebookTimeoutError", "RuntimeNotAvailableError", "SchemaMismatchError", "StorageError",
]
