"""Checks of the command line's options, made before anything runs: each failure is an
`InvalidArgumentError` naming the option, the value and what was expected."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from dtflw.errors import InvalidArgumentError


def folder_problem(folder: Path) -> str | None:
    """Why files cannot be created in `folder` (an existing folder), or None when they can."""
    if not folder.is_dir():
        return "it does not exist" if not folder.exists() else "it is not a folder"
    try:
        with tempfile.TemporaryFile(dir=folder):
            return None
    except OSError as error:
        return error.strerror or type(error).__name__


def check_local_root(option: str, value: str | None) -> None:
    """A local folder option (`--dbfs-root`...) names a folder, or a path one can be created at."""
    if value is None:
        return
    if not value.strip():
        raise InvalidArgumentError(f"{option} expects a folder, got an empty path")
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise InvalidArgumentError(f"{option} expects a folder, but {value!r} is a file")
    existing = next((p for p in (path.absolute(), *path.absolute().parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise InvalidArgumentError(f"{option} {value!r}: {str(existing)!r} is a file, not a folder")


def check_output_file(option: str, value: str) -> None:
    """An output file option (`-o`) names a file whose folder exists and is writable."""
    if not value.strip():
        raise InvalidArgumentError(f"{option} expects a file path, got an empty path")
    target = Path(value)
    if target.is_dir():
        raise InvalidArgumentError(f"{option} expects a file path, but {value!r} is a folder")
    problem = folder_problem(target.absolute().parent)
    if problem is not None:
        raise InvalidArgumentError(
            f"{option} {value!r}: cannot write in folder {str(target.absolute().parent)!r}: {problem}"
        )


def prepare_report_folder(value: str) -> None:
    """Create the `--report` folder now, so a bad one fails before the notebook runs."""
    folder = Path(value)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = "it is a file" if isinstance(error, FileExistsError) else error.strerror or type(error).__name__
        raise InvalidArgumentError(f"--report {value!r}: cannot create the report folder: {reason}") from None
    problem = folder_problem(folder)
    if problem is not None:
        raise InvalidArgumentError(f"--report {value!r}: cannot write in the report folder: {problem}")


def check_notebook_file(option: str, value: str) -> None:
    """The notebook / driver argument is not a folder (a missing file is reported by the runtime)."""
    if Path(value).is_dir():
        raise InvalidArgumentError(f"{option} {value!r} is a folder; expected a notebook file (.py or .ipynb)")


def check_runtime_options(args: argparse.Namespace) -> None:
    """Options of `run`, `plan`, `graph` and `export` that LocalRuntime would reject later or obscurely."""
    if not args.user.strip() or "/" in args.user:
        raise InvalidArgumentError(f"--user expects a non-empty name without '/', got {args.user!r}")
    if args.workspace_dir is not None and not args.workspace_dir.startswith("/"):
        raise InvalidArgumentError(
            f"--workspace-dir expects an absolute workspace path like '/Users/{args.user}/project', "
            f"got {args.workspace_dir!r}"
        )
    if args.secrets_file is not None and not Path(args.secrets_file).is_file():
        found = "a folder" if Path(args.secrets_file).is_dir() else "no such file"
        raise InvalidArgumentError(
            f"--secrets-file expects a JSON file {{scope: {{key: value}}}}, got {args.secrets_file!r} ({found})"
        )
    for option, value in (
        ("--dbfs-root", args.dbfs_root),
        ("--volumes-root", args.volumes_root),
        ("--cloud-root", args.cloud_root),
    ):
        check_local_root(option, value)


def cluster_option(text: str | None) -> dict[str, Any] | None:
    """`--cluster` parsed: a JSON object (a Jobs API new_cluster spec)."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as error:
        raise InvalidArgumentError(f"--cluster expects a JSON object, got {text!r} ({error})") from None
    if not isinstance(value, dict):
        raise InvalidArgumentError(f"--cluster expects a JSON object, got {type(value).__name__} {text!r}")
    return value


def write_output(option: str, target: str, text: str) -> None:
    try:
        Path(target).write_text(text, encoding="utf-8")
    except OSError as error:
        raise InvalidArgumentError(f"{option} {target!r}: could not write the file: {os_reason(error)}") from None


def os_reason(error: OSError) -> str:
    return error.strerror or str(error) or type(error).__name__


# ---- commands --------------------------------------------------------------------------------


def widget_params(params_file: str | None, given: dict[str, str]) -> dict[str, str]:
    """Widget values: those in `params_file` (a JSON or YAML mapping of names to scalars,
    like papermill's `-f`), then `-p` values over them."""
    if params_file is None:
        return given
    path = Path(params_file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidArgumentError(f"-f {params_file!r}: cannot be read ({type(error).__name__}).") from None
    data = _parse_params(params_file, text, yaml_first=path.suffix.lower() in (".yaml", ".yml"))
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, (str, int, float, bool))) for k, v in data.items()
    ):
        raise InvalidArgumentError(
            f"-f {params_file!r}: expected a mapping of widget names to text, numbers or booleans."
        )
    loaded = {k: "" if v is None else (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in data.items()}
    return {**loaded, **given}


def _parse_params(name: str, text: str, yaml_first: bool) -> Any:
    if not yaml_first:
        try:
            return json.loads(text)
        except ValueError as error:
            if Path(name).suffix.lower() == ".json":
                raise InvalidArgumentError(
                    f"-f {name!r}: not valid JSON (line {getattr(error, 'lineno', '?')})."
                ) from None
    try:
        import yaml  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        raise InvalidArgumentError(
            f"-f {name!r}: YAML needs PyYAML (pip install pyyaml), or give a .json file."
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise InvalidArgumentError(f"-f {name!r}: not valid YAML{where}.") from None


_SELECTION = (("lazy", "--lazy"), ("only", "--only"), ("tags", "--tags"), ("from_", "--from"), ("to", "--to"),
              ("force", "--force"), ("resume", "--resume"))  # fmt: skip


def unused_selection(args: argparse.Namespace, flows: list[Any]) -> str | None:
    """A warning when selection options were given but the driver ran no `flow.run()` to take
    them (eager `.run()` calls do not), else None."""
    given = [option for name, option in _SELECTION if getattr(args, name, None) not in (None, [], ())]
    if not given or any(getattr(flow, "_ran", None) for flow in flows):
        return None
    return (
        f"dtflw run: {', '.join(given)} apply to flow.run() in the driver, and it ran none: its eager "
        ".run() calls do not take them (use -p widgets, or declare with .add() and call flow.run())."
    )
