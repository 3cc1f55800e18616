"""Reusable building blocks of an emulated Databricks ``dbutils`` (pure Python, no Spark).

Shared by the file-executing ``LocalDbutils`` and the test double ``FakeDbutils``.
"""

from __future__ import annotations

from dtflw.emulated.context import EntryPoint, NotebookContext, Option, Tags
from dtflw.emulated.errors import (
    ExecutionError,
    InputWidgetNotDefined,
    NoSuchElementException,
    NotebookExit,
    SecretNotFoundError,
)
from dtflw.emulated.fs import EmulatedFs, FileInfo
from dtflw.emulated.mounts import MountInfo
from dtflw.emulated.paths import Location, PathMap, join_uri, resolve_workspace_path
from dtflw.emulated.secrets import REDACTED, Redactor, SecretMetadata, Secrets, SecretScope
from dtflw.emulated.task_values import MAX_VALUE_BYTES, TaskValues
from dtflw.emulated.widgets import Widgets, WidgetSpec

__all__ = [
    "EmulatedFs",
    "EntryPoint",
    "ExecutionError",
    "FileInfo",
    "InputWidgetNotDefined",
    "Location",
    "MAX_VALUE_BYTES",
    "MountInfo",
    "NoSuchElementException",
    "NotebookContext",
    "NotebookExit",
    "Option",
    "PathMap",
    "REDACTED",
    "Redactor",
    "SecretMetadata",
    "SecretNotFoundError",
    "SecretScope",
    "Secrets",
    "Tags",
    "TaskValues",
    "WidgetSpec",
    "Widgets",
    "join_uri",
    "resolve_workspace_path",
]
