"""Exceptions that mimic what Databricks' ``dbutils`` raises.

User code often matches on message text (``"InputWidgetNotDefined" in str(e)``,
``"java.io.FileNotFoundException" in str(e)``), so the messages keep the Databricks phrases.
"""

from __future__ import annotations


class InputWidgetNotDefined(Exception):
    """``dbutils.widgets.get``/``remove`` on a name that is neither declared nor passed."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"InputWidgetNotDefined: No input widget named {name} is defined")


class ExecutionError(Exception):
    """A ``dbutils.fs`` failure; the message carries the Java exception text Databricks shows."""

    def __init__(self, operation: str, java_error: str) -> None:
        self.operation = operation
        self.java_error = java_error
        super().__init__(f"An error occurred while calling fs.{operation}.\n: {java_error}")

    @classmethod
    def file_not_found(cls, operation: str, path: str) -> ExecutionError:
        """The error for a missing path, with Hadoop's ``FileNotFoundException`` wording."""
        return cls(operation, f"java.io.FileNotFoundException: File {path} does not exist.")

    @classmethod
    def already_exists(cls, operation: str, path: str) -> ExecutionError:
        """The error for writing over an existing file without ``overwrite=True``."""
        return cls(
            operation,
            f"org.apache.hadoop.fs.FileAlreadyExistsException: File already exists: {path}",
        )

    @classmethod
    def io_error(cls, operation: str, message: str) -> ExecutionError:
        """Any other file system failure, as a ``java.io.IOException``."""
        return cls(operation, f"java.io.IOException: {message}")


class SecretNotFoundError(Exception):
    """``dbutils.secrets`` lookup of an unknown scope or key."""

    def __init__(self, scope: str, key: str | None = None) -> None:
        self.scope = scope
        self.key = key
        if key is None:
            detail = f"Secret scope {scope} does not exist."
        else:
            detail = f"Secret does not exist with scope: {scope} and key: {key}"
        super().__init__(f"java.lang.IllegalArgumentException: {detail}")


class NoSuchElementException(LookupError):
    """Scala's ``NoSuchElementException`` from ``Option.get`` / ``Map.apply`` in the context chain."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"java.util.NoSuchElementException: {detail}")


class NotebookExit(BaseException):
    """Raised by ``dbutils.notebook.exit(value)`` to end a notebook successfully.

    A ``BaseException`` so that a broad ``except Exception`` in user code cannot swallow it.
    """

    def __init__(self, value: str) -> None:
        self.value = value
        super().__init__(value)
