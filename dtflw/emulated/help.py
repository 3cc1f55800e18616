"""``help()`` of the emulated ``dbutils`` modules: method listings with one-line descriptions.

Like Databricks, ``help()`` prints and returns ``None``; ``help("name")`` prints one method.
Methods the local emulation does not implement (or only in part) are marked. The texts are
dtflw's own; signatures follow the Python ``dbutils`` of the Databricks runtime.
"""

from __future__ import annotations

from typing import NamedTuple

from dtflw.errors import InvalidTypeError

NOT_EMULATED = "not available locally"


class Method(NamedTuple):
    """One help line: signature, what it does, and a note on the local emulation (if any)."""

    name: str
    signature: str
    summary: str
    note: str = ""


class Topic(NamedTuple):
    """The help page of one module: title, a short intro and its methods (in sections)."""

    title: str
    intro: str
    sections: tuple[tuple[str, tuple[Method, ...]], ...]

    def methods(self) -> list[Method]:
        return [method for _, methods in self.sections for method in methods]


def _line(method: Method, indent: str) -> str:
    """``signature`` then, indented below it, the description and the local note."""
    note = f" [{method.note}]" if method.note else ""
    return f"{method.signature}\n{indent}    {method.summary}{note}"


def print_help(topic: Topic, method_name: str = "") -> None:
    """Print ``topic`` (or only ``method_name`` of it); returns ``None`` like Databricks."""
    if not isinstance(method_name, str):
        raise InvalidTypeError(f"{method_name!r} has the wrong type - {str} is expected.")
    if method_name:
        found = [m for m in topic.methods() if m.name == method_name]
        if not found:
            names = ", ".join(sorted({m.name for m in topic.methods()}))
            print(f"{topic.title} has no method named {method_name!r}. Methods: {names}")
            return None
        for method in found:
            print(f"{topic.title}.{_line(method, '')}")
        return None
    lines = [topic.title, "", topic.intro, ""]
    for heading, methods in topic.sections:
        if heading:
            lines.append(f"{heading}:")
        lines.extend(f"  {_line(m, '  ')}" for m in methods)
        lines.append("")
    print("\n".join(lines).rstrip())
    return None


DBUTILS = Topic(
    "dbutils",
    "Databricks utilities, emulated by dtflw on this machine. Call dbutils.<module>.help() for details.",
    (
        (
            "modules",
            (
                Method("fs", "fs: FsHandler", "file system access (DBFS, volumes, cloud URLs) and legacy mounts"),
                Method("jobs", "jobs: JobsHandler", "job utilities; taskValues passes small values between tasks"),
                Method("notebook", "notebook: NotebookHandler", "run other notebooks and end this one with a value"),
                Method("secrets", "secrets: SecretsHandler", "read secrets (values are redacted in output)"),
                Method("widgets", "widgets: WidgetsHandler", "notebook parameters"),
                Method("credentials", "credentials", "credential passthrough helpers", NOT_EMULATED),
                Method("data", "data", "data profiling / summarize", NOT_EMULATED),
                Method(
                    "library",
                    "library: LibraryHandler",
                    "restartPython() after %pip install (the local process is not restarted)",
                ),
                Method("meta", "meta", "JVM meta-programming helpers", NOT_EMULATED),
                Method("preview", "preview", "preview features", NOT_EMULATED),
            ),
        ),
    ),
)

FS = Topic(
    "dbutils.fs",
    "Works with files in DBFS (dbfs:/ and scheme-less paths), /Volumes, file:/ and Azure URLs,\n"
    "all mapped to local folders. Python file APIs reach DBFS through /dbfs/... in local runs.",
    (
        (
            "files",
            (
                Method(
                    "cp",
                    "cp(source: str, dest: str, recurse: bool = False) -> bool",
                    "copy a file, or a folder with recurse=True",
                ),
                Method("head", "head(file: str, max_bytes: int = 65536) -> str", "first bytes of a file as UTF-8 text"),
                Method("ls", "ls(path: str) -> list[FileInfo]", "list a folder (folders end with '/')"),
                Method("mkdirs", "mkdirs(dir: str) -> bool", "create a folder and its parents"),
                Method(
                    "mv",
                    "mv(source: str, dest: str, recurse: bool = False) -> bool",
                    "move a file, or a folder with recurse=True",
                ),
                Method(
                    "put",
                    "put(file: str, contents: str, overwrite: bool = False) -> bool",
                    "write a string to a file as UTF-8",
                ),
                Method(
                    "rm", "rm(dir: str, recurse: bool = False) -> bool", "delete a file, or a folder with recurse=True"
                ),
            ),
        ),
        (
            "mounts",
            (
                Method(
                    "mount",
                    "mount(source: str, mount_point: str, encryption_type: str = '', owner: str = None, "
                    "extra_configs: dict = None) -> bool",
                    "mount a storage URL at /mnt/<name>",
                    "local: a link to the source's local folder; extra_configs and owner are ignored",
                ),
                Method("mounts", "mounts() -> list[MountInfo]", "list mount points with their sources"),
                Method("refreshMounts", "refreshMounts() -> bool", "make this machine see the current mount table"),
                Method("unmount", "unmount(mount_point: str) -> bool", "remove a mount point (the data stays)"),
                Method(
                    "updateMount",
                    "updateMount(source: str, mount_point: str, encryption_type: str = '', owner: str = None, "
                    "extra_configs: dict = None) -> bool",
                    "point an existing mount at another source",
                    "local: extra_configs and owner are ignored",
                ),
            ),
        ),
    ),
)

NOTEBOOK = Topic(
    "dbutils.notebook",
    "Runs notebooks (found beside the entry notebook on disk in a local run) and ends them.",
    (
        (
            "",
            (
                Method("exit", "exit(value: str) -> None", "end this notebook, returning value to its caller"),
                Method(
                    "getContext",
                    "getContext() -> NotebookContext",
                    "the running notebook's context (path, user, tags)",
                ),
                Method(
                    "run",
                    "run(path: str, timeout_seconds: int, arguments: dict = {}) -> str",
                    "run a notebook with widget arguments and return its exit value",
                    "local: runs in this process and Spark session",
                ),
            ),
        ),
    ),
)

WIDGETS = Topic(
    "dbutils.widgets",
    "Notebook parameters; values are always strings, passed arguments win over defaults.",
    (
        (
            "",
            (
                Method(
                    "combobox",
                    "combobox(name: str, defaultValue: str, choices: list, label: str = None) -> None",
                    "declare a free-text widget with suggestions",
                ),
                Method(
                    "dropdown",
                    "dropdown(name: str, defaultValue: str, choices: list, label: str = None) -> None",
                    "declare a widget with a fixed list of choices",
                ),
                Method("get", "get(name: str) -> str", "current value of a widget"),
                Method("getAll", "getAll() -> dict", "all widget values by name"),
                Method(
                    "getArgument",
                    "getArgument(name: str, defaultValue: str = None) -> str",
                    "value of a widget, or defaultValue (deprecated)",
                ),
                Method(
                    "multiselect",
                    "multiselect(name: str, defaultValue: str, choices: list, label: str = None) -> None",
                    "declare a widget that takes several choices",
                ),
                Method("remove", "remove(name: str) -> None", "remove a widget"),
                Method("removeAll", "removeAll() -> None", "remove every widget"),
                Method(
                    "text",
                    "text(name: str, defaultValue: str, label: str = None) -> None",
                    "declare a free-text widget",
                ),
            ),
        ),
    ),
)

SECRETS = Topic(
    "dbutils.secrets",
    "Reads secrets from the scopes given to the local runtime (environment, secrets file, arguments).",
    (
        (
            "",
            (
                Method("get", "get(scope: str, key: str) -> str", "a secret's value as text"),
                Method("getBytes", "getBytes(scope: str, key: str) -> bytes", "a secret's value as bytes"),
                Method("list", "list(scope: str) -> list[SecretMetadata]", "the keys of a scope"),
                Method("listScopes", "listScopes() -> list[SecretScope]", "all scopes"),
            ),
        ),
    ),
)

LIBRARY = Topic(
    "dbutils.library",
    "Notebook-scoped libraries. Install them with %pip (locally: into the runtime's virtualenv).",
    (
        (
            "",
            (
                Method(
                    "restartPython",
                    "restartPython() -> None",
                    "restart the notebook's Python process",
                    "local: a no-op; the process keeps its state, newly installed packages are importable",
                ),
                Method(
                    "installPyPI",
                    "installPyPI(project: str, version: str = '', repo: str = '', extras: str = '') -> bool",
                    "removed in Databricks Runtime 11; use %pip install",
                    "raises, as on current runtimes",
                ),
            ),
        ),
    ),
)

JOBS = Topic(
    "dbutils.jobs",
    "Utilities for notebooks running as job tasks.",
    (("", (Method("taskValues", "taskValues: TaskValuesHandler", "pass small JSON values between tasks of a run"),)),),
)

TASK_VALUES = Topic(
    "dbutils.jobs.taskValues",
    "Small JSON values (at most 48 KiB) shared between the tasks of one job run.",
    (
        (
            "",
            (
                Method(
                    "get",
                    "get(taskKey: str, key: str, default=None, debugValue=None) -> Any",
                    "a value set by another task; debugValue outside a job",
                ),
                Method("set", "set(key: str, value: Any) -> None", "set a value for later tasks"),
            ),
        ),
    ),
)
