"""The fluent notebook builder: collects one notebook's declarations into a NotebookSpec.

The builder only collects declarations (validated as they come); `.run()` declares the spec on
its flow and executes it at once (dtflw 0.6.x semantics), `.add()` declares it for a later
`flow.run()`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol

from dtflw.declare.backfill import refuse_secrets
from dtflw.declare.catalog import TableCatalog
from dtflw.declare.context import FlowContext
from dtflw.errors import FlowDefinitionError, InvalidArgumentError, MissingInputError
from dtflw.model.foreach import PLACEHOLDER, param_sets
from dtflw.model.schema import to_schema
from dtflw.model.specs import InputSpec, NotebookSpec, OutputSpec, check_name, check_notebook_path
from dtflw.redaction import is_secret_name
from dtflw.storage.base import Storage

MAX_TIMEOUT_SECONDS = 2**31 - 1  # dbutils.notebook.run's timeout is a Java int
MAX_RETRIES = 10_000
MAX_BACKOFF_SECONDS = 86_400  # the wait before retry n is n times this


class Declarations(Protocol):
    """What a builder needs of its flow: the context, the catalogue, declaring and running a spec."""

    @property
    def ctx(self) -> FlowContext: ...

    @property
    def table_catalog(self) -> TableCatalog: ...

    def _declare(self, builder: NotebookBuilder) -> NotebookSpec: ...

    def _run_spec(self, spec: NotebookSpec, is_lazy: bool = False, strict: bool = False) -> str | None: ...


class NotebookBuilder:
    """Fluent declaration of one notebook: `.args().input().output()` then `.run()` or `.add()`."""

    def __init__(self, flow: Declarations, path: str) -> None:
        check_notebook_path(path)
        self._flow = flow
        self._path = path
        self._abs_path_found: str | None = None  # resolved on first use (needs the driver's context)
        self._args: dict[str, str] = {}
        self._inputs: dict[str, InputSpec] = {}
        self._outputs: dict[str, OutputSpec] = {}
        self._timeout = 0
        self._retries = 0
        self._backoff = 0.0
        self._tags: frozenset[str] = frozenset()
        self._last_result: str | None = None
        self._for_each: list[dict[str, str]] = []
        self._concurrency = 0

    # ---- identity -------------------------------------------------------------------------
    @property
    def rel_path(self) -> str:
        """The notebook path as declared."""
        return self._path

    @property
    def ctx(self) -> FlowContext:
        """The flow's context (storage, spark, dbutils, logger, ...), as on a 0.6.x LazyNotebook."""
        return self._flow.ctx

    @property
    def abs_path(self) -> str:
        """The notebook's absolute workspace path."""
        if self._abs_path_found is None:
            self._abs_path_found = self._flow.ctx.notebook_abs_path(self._path)
        return self._abs_path_found

    # ---- declarations ---------------------------------------------------------------------
    def args(self, args: Mapping[str, str]) -> NotebookBuilder:
        """Widget arguments for the callee; names and values must be strings."""
        if not isinstance(args, Mapping):
            raise FlowDefinitionError(
                f"Notebook '{self._path}': args must be a dict of str to str, got {type(args).__name__}."
            )
        for name, value in args.items():
            check_name("Argument", name, self._path)
            if not isinstance(value, str):
                shown = "" if is_secret_name(name) or isinstance(value, (bytes, bytearray)) else f" {value!r}"
                raise FlowDefinitionError(
                    f"Notebook '{self._path}': argument '{name}' must be a string (Databricks passes "
                    f"widget values as strings), got {type(value).__name__}{shown}."
                )
        self._args = dict(args)
        self._flow.ctx.remember_secrets(self._args)  # masked from now on: errors, output, history
        return self

    def timeout(self, seconds: int) -> NotebookBuilder:
        """Seconds the callee may run; 0 means no limit."""
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= MAX_TIMEOUT_SECONDS:
            raise FlowDefinitionError(
                f"Notebook '{self._path}': timeout must be a whole number of seconds from 0 to "
                f"{MAX_TIMEOUT_SECONDS} (dbutils.notebook.run takes a 32-bit int), got {seconds!r}."
            )
        self._timeout = seconds
        return self

    def retries(self, count: int, backoff_seconds: float = 0.0) -> NotebookBuilder:
        """Retry a failed run up to `count` times, waiting `backoff_seconds` * attempt between."""
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_RETRIES:
            raise FlowDefinitionError(
                f"Notebook '{self._path}': retries must be an int from 0 to {MAX_RETRIES:,}, got {count!r}."
            )
        if (
            isinstance(backoff_seconds, bool)
            or not isinstance(backoff_seconds, (int, float))
            or not math.isfinite(backoff_seconds)
            or not 0 <= backoff_seconds <= MAX_BACKOFF_SECONDS
        ):
            raise FlowDefinitionError(
                f"Notebook '{self._path}': backoff_seconds must be from 0 to {MAX_BACKOFF_SECONDS:,} "
                f"(a day), got {backoff_seconds!r}."
            )
        self._retries, self._backoff = count, float(backoff_seconds)
        return self

    def for_each(self, *sets: Any, concurrency: int = 0, **grid: Any) -> NotebookBuilder:
        """Run the notebook once per parameter set: `for_each(date=dates, country=["DE", "FR"])`
        (every combination) or `for_each([{"date": "2024-01-01"}, ...])`.

        Each iteration gets the values as widget arguments and its outputs below the declared
        path, partitioned by them (`.../Orders/date=2024-01-01`), or where a `{date}` template in
        the output's `file_path` puts them. An input from a for-each producer reads the iteration
        with the same values (when this notebook sets them too), else all iterations (their
        parent folder). `concurrency`: at most this many iterations run at once (0: no limit).
        Declared with `.add()`, run by `flow.run()`.
        """
        where = f"Notebook '{self._path}'"
        if len(sets) == 1 and isinstance(sets[0], (list, tuple)):
            sets = tuple(sets[0])
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 0:
            raise FlowDefinitionError(f"{where}: for_each concurrency must be an int >= 0, got {concurrency!r}.")
        chosen = param_sets(sets, grid, where)
        refuse_secrets(self._flow.ctx.redact_text, chosen, where)
        self._for_each = chosen
        self._concurrency = concurrency
        return self

    @property
    def for_each_sets(self) -> list[dict[str, str]]:
        """The parameter sets given to `for_each` (empty: one plain run)."""
        return [dict(s) for s in self._for_each]

    @property
    def for_each_concurrency(self) -> int:
        return self._concurrency

    def tags(self, *tags: str) -> NotebookBuilder:
        """Labels used to select notebooks in `flow.run(tags=...)`."""
        for tag in tags:
            check_name("Tag", tag, self._path)
        self._tags = self._tags | frozenset(tags)
        return self

    def input(
        self, name: str, file_path: str | None = None, source_table: str | None = None, is_optional: bool = False
    ) -> NotebookBuilder:
        """Declare a table the notebook reads.

        Without `file_path` the table resolves to the latest notebook declared before this one
        that outputs `source_table` (or `name`). A relative `file_path` is relative to the
        storage base; glob patterns are allowed.
        """
        check_name("Input", name, self._path)
        if name in self._inputs:
            raise FlowDefinitionError(f"Notebook '{self._path}': input '{name}' is declared twice.")
        if source_table is not None and source_table != "":
            check_name("Source table", source_table, self._path)
        ctx = self._flow.ctx
        if file_path == "":
            file_path = None  # as dtflw 0.6.x: an empty file_path means "resolve it"
        if file_path is not None:
            if not isinstance(file_path, str) or not file_path.strip():
                raise FlowDefinitionError(
                    f"Notebook '{self._path}': input '{name}' file_path must be a non-empty string, got {file_path!r}."
                )
            spec = InputSpec(
                name, _abs_on(ctx.storage, file_path, self._path), source_table or None, bool(is_optional), None, True
            )
        else:
            wanted = source_table or name
            pub = self._flow.table_catalog.resolve(wanted)
            published = ctx.resolve_table(wanted, self._path) if pub is None else None
            if published is not None:  # published on the context (ctx.publish_tables), not declared here
                self._inputs[name] = InputSpec(name, published, source_table or None, bool(is_optional), None, True)
                return self
            if pub is None and not is_optional:
                known = ", ".join(sorted(self._flow.table_catalog.names())) or "none"
                raise MissingInputError(
                    self._path,
                    name,
                    f"cannot be resolved: no notebook declared before it outputs a table named "
                    f"'{wanted}' (tables declared so far: {known}). Declare its producer first or "
                    f"pass file_path=.",
                )
            spec = InputSpec(
                name,
                pub.path if pub else "",
                source_table or None,
                bool(is_optional),
                pub.index if pub else None,
                False,
            )
        self._inputs[name] = spec
        return self

    def output(
        self, name: str, cols: Any = None, file_path: str | None = None, alias: str | None = None
    ) -> NotebookBuilder:
        """Declare a table the notebook writes; its path derives from the notebook's path.

        `cols`: expected columns ([(name, type|None)], a DDL string or a StructType), checked
        after the run. `alias`: the name downstream inputs resolve it by.
        """
        check_name("Output", name, self._path)
        if name in self._outputs:
            raise FlowDefinitionError(f"Notebook '{self._path}': output '{name}' is declared twice.")
        if alias is not None and alias != "":
            check_name("Alias", alias, self._path)
        ctx = self._flow.ctx
        if file_path is None:
            path = ctx.storage.derive_table_path(ctx.project_path(self.abs_path), name)
        elif isinstance(file_path, str) and file_path.strip():
            path = _abs_on(ctx.storage, file_path, self._path)
        else:
            raise FlowDefinitionError(
                f"Notebook '{self._path}': output '{name}' file_path must be a non-empty string, got {file_path!r}."
            )
        if ctx.storage.is_pattern(path):
            raise FlowDefinitionError(f"Notebook '{self._path}': output '{name}' path {path!r} must not be a pattern.")
        try:
            schema = to_schema(cols)
        except InvalidArgumentError as error:
            raise FlowDefinitionError(f"Notebook '{self._path}': output '{name}' cols: {error}") from None
        self._outputs[name] = OutputSpec(name, path, alias or name, schema)
        return self

    # ---- introspection --------------------------------------------------------------------
    def get_args(self) -> dict[str, str]:
        return dict(self._args)

    def get_inputs(self) -> dict[str, InputSpec]:
        return dict(self._inputs)

    def get_outputs(self) -> dict[str, OutputSpec]:
        return dict(self._outputs)

    def build(self, index: int) -> NotebookSpec:
        """The frozen spec of what was declared so far, for declaration slot `index`."""
        self._check_widget_clashes()
        return NotebookSpec(
            index=index,
            path=self._path,
            abs_path=self.abs_path,
            project_path=self._flow.ctx.project_path(self.abs_path),
            args=self._args,
            inputs=tuple(self._inputs.values()),
            outputs=tuple(self._outputs.values()),
            timeout=self._timeout,
            retries=self._retries,
            retry_backoff_seconds=self._backoff,
            tags=self._tags,
        )

    def _check_widget_clashes(self) -> None:
        seen: dict[str, str] = {}
        for kind, names in (
            ("argument", self._args),
            ("input", [i.widget for i in self._inputs.values()]),
            ("output", [o.widget for o in self._outputs.values()]),
        ):
            for widget in names:
                if widget in seen:
                    raise FlowDefinitionError(
                        f"Notebook '{self._path}': widget '{widget}' would be set by both an {seen[widget]} "
                        f"and an {kind}; rename one of them."
                    )
                seen[widget] = kind

    # ---- actions --------------------------------------------------------------------------
    def add(self) -> None:
        """Declare the notebook for a later `flow.run()` without running it.

        Returns None, so a notebook cell ending in `.add()` shows nothing."""
        self._flow._declare(self)

    def run(self, is_lazy: bool = False, strict_validation: bool = False) -> str | None:
        """Declare and run the notebook now; returns the callee's exit value.

        `is_lazy`: skip the call when every output already exists (outputs are still validated
        and published). `strict_validation`: outputs must have exactly the declared columns.
        """
        if not isinstance(is_lazy, bool) or not isinstance(strict_validation, bool):
            raise InvalidArgumentError(f"Notebook '{self._path}': is_lazy and strict_validation must be True or False.")
        if self._for_each:
            raise FlowDefinitionError(
                f"Notebook '{self._path}': a for_each notebook is declared with .add() and run by flow.run() "
                "(its iterations run as a DAG, with their own laziness, retries and history)."
            )
        spec = self._flow._declare(self)
        self._last_result = self._flow._run_spec(spec, is_lazy=is_lazy, strict=strict_validation)
        return self._last_result

    def share_arguments(self) -> NotebookBuilder:
        """Make this notebook's widget values visible to it when it is opened by hand."""
        self._flow.ctx.share_arguments(self.abs_path, self.build(-1).widget_values())
        return self

    def show(self) -> None:
        """Print the notebook's args, inputs and outputs."""
        lines = [f"Notebook: '{self._path}'", "Args:"]
        lines += [f"\t'{k}': '{v}'" for k, v in self._flow.ctx.redact(self._args).items()]
        lines.append("Inputs:")
        lines += [f"\t'{i.name}': '{i.path}'" for i in self._inputs.values()]
        lines.append("Outputs:")
        lines += [f"\t'{name}': '{o.path}'" for name, o in self._outputs.items()]
        self._flow.ctx.display.show("\n".join(lines))


def _abs_on(storage: Storage, file_path: str, notebook: str = "") -> str:
    """An absolute path on `storage`: kept when it already is one (a 0.6.x storage's own
    `get_abs_path` may prefix the base path unconditionally), else made absolute. A relative
    path must stay below the storage's base: `..` segments are refused."""
    if not file_path.isprintable():
        raise FlowDefinitionError(
            f"Notebook '{notebook}': file_path {file_path!r} must not contain control characters (NUL, newline...)."
        )
    if "{" in file_path or "}" in file_path:
        stray = PLACEHOLDER.sub("", file_path)
        if "{" in stray or "}" in stray:
            raise FlowDefinitionError(
                f"Notebook '{notebook}': file_path {file_path!r} has a brace outside a `{{name}}` placeholder "
                "(a name is letters, digits and '_', not starting with a digit)."
            )
    if storage.is_abs_path(file_path):
        return file_path
    if ".." in file_path.replace("\\", "/").split("/"):
        raise FlowDefinitionError(
            f"Notebook '{notebook}': file_path {file_path!r} leaves the storage with '..'; give a path below "
            f"the storage base or an absolute path starting with {storage.base_path!r}."
        )
    return storage.get_abs_path(file_path)
