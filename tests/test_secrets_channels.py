"""No fetched secret value, in any common encoding, reaches an output channel.

Channels: stdout/stderr, logging, the exception chain (`__cause__`/`__context__`, formatted
tracebacks), run history files, the local runtime's report (.ipynb + index.html), the CLI, and
job exports (JSON and bundle YAML). Encodings: raw, repr, JSON, URL-quoted and base64.
"""

from __future__ import annotations

import base64
import json
import logging
import textwrap
import traceback
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dtflw import init_flow
from dtflw.cli import main as cli_main
from dtflw.errors import FlowRunError, NotebookRunError
from dtflw.export import bundle_yaml, job_settings
from dtflw.local.report import write_report
from dtflw.local.runtime import LocalRuntime
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils
from dtflw.testing.secrets import leaked_forms

SECRET = "Kv9'pa\"ss/w0rd+é&x"
ARG_SECRETS = ("argpw-7731", "argkey-8842", "acc-key-9953")  # passed under secret-looking names / shapes

ENCODE: dict[str, Callable[[str], str]] = {
    "raw": lambda s: s,
    "repr": repr,
    "json": json.dumps,
    "url": lambda s: urllib.parse.quote(s, safe=""),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
}
# The same encodings as Python source, for notebooks run by the local runtime.
ENCODE_SRC = {
    "raw": "pw",
    "repr": "repr(pw)",
    "json": "json.dumps(pw)",
    "url": "urllib.parse.quote(pw, safe='')",
    "base64": "base64.b64encode(pw.encode()).decode()",
}
ENCODINGS = list(ENCODE)


def leaked(text: str) -> list[str]:
    """Forms of SECRET (or the argument secrets) found in `text` (computed independently of dtflw)."""
    return leaked_forms(SECRET, text) + [arg for arg in ARG_SECRETS if arg in text]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def file_text(path: Path) -> str:
    """A file's text plus, for JSON files, every string inside it unescaped."""
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".json", ".ipynb"):
        text += "\n".join(_strings(json.loads(text)))
    return text


def chain_text(error: BaseException) -> str:
    """Everything the exception chain shows: formatted tracebacks, str/repr/args of every link."""
    parts = ["".join(traceback.format_exception(error))]
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        # FlowRunError.result holds the run's real results (exit values), as flow.run() returns them
        attributes = {k: v for k, v in vars(current).items() if k != "result"}
        parts += [str(current), repr(current), repr(current.args), repr(attributes)]
        todo += [current.__cause__, current.__context__]
    return "\n".join(parts)


# ---- FakeDbutils flows: exception chain, stdout/stderr, logging, history -----------------------
@pytest.fixture
def dbutils(tmp_path: Path) -> FakeDbutils:
    return FakeDbutils(fs_root=tmp_path / "dbfs", secrets={"kv": {"pw": SECRET}})


def _leaky_handler(dbutils: FakeDbutils, encoding: str) -> Callable[[dict[str, str]], str]:
    def leaky(args: dict[str, str]) -> str:
        value = dbutils.secrets.get("kv", "pw")
        try:
            raise KeyError(value)  # repr-quoted in its message; becomes the __context__
        except KeyError:
            raise RuntimeError(f"login failed with {ENCODE[encoding](value)}")  # noqa: B904

    return leaky


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_eager_run_error_chain_output_and_logs(
    encoding: str, dbutils: FakeDbutils, tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    dbutils.notebook.register("leaky", _leaky_handler(dbutils, encoding))
    flow = init_flow(LocalStorage(tmp_path / "tables"), dbutils=dbutils)
    flow.ctx.logger.verbosity = "verbose"
    with pytest.raises(NotebookRunError) as info:
        flow.notebook("leaky").args({"year": "2022", "password": ARG_SECRETS[0], "key": ARG_SECRETS[1]}).run()
    error = info.value
    assert error.reason.startswith("RuntimeError: login failed with ") and "[REDACTED]" in error.reason
    assert isinstance(error.__cause__, NotebookRunError)  # FakeDbutils' error, itself caused by the handler's
    assert isinstance(error.__cause__.__cause__, RuntimeError)
    assert isinstance(error.__cause__.__cause__.__context__, KeyError)
    assert leaked(chain_text(error)) == []
    out, err = capfd.readouterr()
    assert leaked(out + err + caplog.text) == []


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_fake_dbutils_run_error_chain(encoding: str, dbutils: FakeDbutils) -> None:
    dbutils.notebook.register("leaky", _leaky_handler(dbutils, encoding))
    with pytest.raises(NotebookRunError) as info:
        dbutils.notebook.run("leaky", 0, {"password": ARG_SECRETS[0], "storage_key": ARG_SECRETS[1]})
    assert info.value.__context__ is None  # not the unredacted handler exception
    assert info.value.arguments == {"password": "[REDACTED]", "storage_key": "[REDACTED]"}
    assert leaked(chain_text(info.value)) == []


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_dag_run_history_error_chain_output_and_logs(
    encoding: str, dbutils: FakeDbutils, tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    storage = LocalStorage(tmp_path / "tables")
    dbutils.notebook.register("leaky", _leaky_handler(dbutils, encoding))
    dbutils.notebook.register("exits", lambda args: ENCODE[encoding](dbutils.secrets.get("kv", "pw")))
    fetched = dbutils.secrets.get("kv", "pw")  # a driver handing a secret on under an innocent name
    flow = init_flow(storage, dbutils=dbutils, name="secrets")
    flow.notebook("exits").args({"note": ENCODE[encoding](fetched)}).add()
    flow.notebook("leaky").args({"private_key": ARG_SECRETS[0], "conn": f"AccountKey={ARG_SECRETS[2]};"}).add()
    with pytest.raises(FlowRunError) as info:
        flow.run()
    assert leaked(chain_text(info.value)) == []
    assert leaked(repr(info.value.result) + str(info.value.result.rows())) == []  # results get printed
    (run_file,) = (Path(storage.base_path) / "_dtflw" / "history" / flow.history()[0].run_id).glob("*.jsonl")
    files = list((Path(storage.base_path) / "_dtflw").rglob("*.json*"))
    lines = [json.loads(line) for line in run_file.read_text().splitlines()]
    docs = {doc["notebook"].rsplit("/", 1)[-1]: doc for doc in lines}
    assert len(docs) == 2
    assert "[REDACTED]" in docs["exits"]["exit_value"] and "[REDACTED]" in docs["exits"]["args"]["note"]
    assert docs["leaky"]["args"] == {"private_key": "[REDACTED]", "conn": "[REDACTED]"}
    assert "[REDACTED]" in docs["leaky"]["error"]
    assert [leaked(file_text(f)) for f in files] == [[]] * len(files)
    assert leaked("\n".join(str(r.to_dict()) for r in flow.history())) == []
    out, err = capfd.readouterr()
    assert leaked(out + err + caplog.text) == []


# ---- local runtime: report, console, CLI ---------------------------------------------------------
HEADER = "# Databricks notebook source\n"
SEP = "\n# COMMAND ----------\n"


def _notebook(folder: Path, rel: str, *cells: str) -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + SEP.join(textwrap.dedent(c).strip() + "\n" for c in cells))
    return path


def _project(folder: Path, encoding: str, child_fails: bool) -> Path:
    _notebook(
        folder,
        "child.py",
        """
        note = dbutils.widgets.get("note")
        print("child got", note)
        """,
        'raise RuntimeError("child saw " + note)' if child_fails else "dbutils.notebook.exit(note)",
    )
    return _notebook(
        folder,
        "main.py",
        f"""
        import base64, json, sys, urllib.parse
        pw = dbutils.secrets.get("kv", "pw")
        shown = {ENCODE_SRC[encoding]}
        """,
        """
        print("stdout:", shown)
        print("stderr:", shown, file=sys.stderr)
        display(shown)
        display({"value": shown})
        displayHTML(f"<b>{shown}</b>")
        """,
        """
        value = dbutils.notebook.run("child", 0, {"note": shown, "password": dbutils.widgets.get("password")})
        """,
        "dbutils.notebook.exit(value)",
    )


def _report_text(report: Path) -> str:
    files = sorted(report.iterdir())
    assert any(f.suffix == ".ipynb" for f in files) and (report / "index.html") in files
    return "\n".join(file_text(f) for f in files)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_local_runtime_report_and_error_chain(
    encoding: str, tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    main = _project(tmp_path / "proj", encoding, child_fails=True)
    runtime = LocalRuntime(dbfs_root=tmp_path / "dbfs", secrets={"kv": {"pw": SECRET}})
    with pytest.raises(NotebookRunError) as info:
        runtime.run_notebook(main, {"password": ARG_SECRETS[0], "api_key": ARG_SECRETS[1], "year": "2022"})
    assert leaked(chain_text(info.value)) == []
    write_report(runtime.records, tmp_path / "report")
    text = _report_text(tmp_path / "report")
    assert "RuntimeError: child saw " in text and "year" in text
    assert leaked(text) == []
    out, err = capfd.readouterr()
    assert "[REDACTED]" in out
    assert leaked(out + err + caplog.text) == []


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("child_fails", [False, True], ids=["exit-value", "failure"])
def test_cli_run_output_and_report(
    encoding: str, child_fails: bool, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    main = _project(tmp_path / "proj", encoding, child_fails=child_fails)
    secrets_file = tmp_path / "secrets.json"
    secrets_file.write_text(json.dumps({"kv": {"pw": SECRET}}))
    report = tmp_path / "report"
    argv = ["run", str(main), "--dbfs-root", str(tmp_path / "dbfs"), "--report", str(report)]
    argv += ["-p", f"password={ARG_SECRETS[0]}", "-p", f"api_key={ARG_SECRETS[1]}"]
    argv += ["-p", f"target=DefaultEndpointsProtocol=https;AccountKey={ARG_SECRETS[2]}"]
    status = cli_main([*argv, "--secrets-file", str(secrets_file)])
    out, err = capfd.readouterr()
    assert status == (1 if child_fails else 0)
    if child_fails:
        assert "dtflw run failed" in err and "[REDACTED]" in err
    else:
        assert "[REDACTED]" in out.rstrip().splitlines()[-1]  # the exit value line
    assert leaked(out + err) == []
    assert leaked(_report_text(report)) == []


# ---- job exports -------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_job_export_json_and_yaml(
    encoding: str, dbutils: FakeDbutils, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fetched = dbutils.secrets.get("kv", "pw")
    flow = init_flow(LocalStorage(tmp_path / "tables"), dbutils=dbutils, name="export")
    args = {
        "note": ENCODE[encoding](fetched),  # a fetched secret under an innocent name
        "key": ARG_SECRETS[0],
        "target": f"DefaultEndpointsProtocol=https;AccountKey={ARG_SECRETS[2]};",
        "sas_url": f"https://a.blob.core.windows.net/c?sv=2022-11-02&sig={ARG_SECRETS[1]}",
        "year": "2022",
    }
    flow.notebook("load").args(args).add()
    options: dict[str, Any] = {"parameters": {"p": ENCODE[encoding](fetched)}, "redact": flow.ctx.redact_text}
    with caplog.at_level(logging.WARNING, logger="dtflw"):
        doc = job_settings(flow.specs, "demo", **options)
        text = json.dumps(doc) + "\n" + bundle_yaml(flow.specs, "demo", **options)
    params = doc["tasks"][0]["notebook_task"]["base_parameters"]
    assert params == {**{k: "[REDACTED]" for k in args}, "year": "2022"}
    assert doc["parameters"] == [{"name": "p", "default": "[REDACTED]"}]
    assert leaked(text) == [] and leaked(caplog.text) == []
    assert "'note' looks secret (its value holds a secret)" in caplog.text


def test_flow_to_job_redacts_fetched_secrets(dbutils: FakeDbutils, tmp_path: Path) -> None:
    fetched = dbutils.secrets.get("kv", "pw")
    flow = init_flow(LocalStorage(tmp_path / "tables"), dbutils=dbutils, name="export")
    flow.notebook("load").args({"note": fetched}).add()
    assert leaked(json.dumps(flow.to_job("demo")) + flow.to_bundle_yaml("demo")) == []


# ---- values given under secret-looking argument names ------------------------------------------
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_secret_argument_values_echoed_by_the_callee_are_masked_everywhere(
    encoding: str, tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    storage = LocalStorage(tmp_path / "tables")

    def echoes(args: dict[str, str]) -> str:
        raise RuntimeError(f"login as {ENCODE[encoding](args['api_token'])} / {ENCODE[encoding](args['db_pwd'])}")

    dbutils.notebook.register("echoes", echoes)
    dbutils.notebook.register("returns", lambda args: f"done with {ENCODE[encoding](args['clientSecret'])}")
    flow = init_flow(storage, dbutils=dbutils, name="argsecrets")
    with pytest.raises(NotebookRunError) as eager:
        flow.notebook("echoes").args({"api_token": ARG_SECRETS[0], "db_pwd": ARG_SECRETS[1]}).run()
    assert leaked(chain_text(eager.value)) == []
    flow.notebook("returns").args({"clientSecret": ARG_SECRETS[2]}).add()
    flow.notebook("echoes").args({"api_token": ARG_SECRETS[0], "db_pwd": ARG_SECRETS[1]}).add()
    with pytest.raises(FlowRunError) as info:
        flow.run()
    assert leaked(chain_text(info.value)) == []
    assert leaked(repr(info.value.result) + str(info.value.result.rows())) == []
    history = "\n".join(repr(r) for r in flow.history())
    assert "[REDACTED]" in history and leaked(history) == []
    files = [p for p in (Path(storage.base_path) / "_dtflw").rglob("*") if p.is_file()]
    assert files and all(leaked(file_text(p)) == [] for p in files)
    out, err = capfd.readouterr()
    assert leaked(out + err + caplog.text) == []


def test_a_secret_argument_value_is_not_hashed_into_the_fingerprint(tmp_path: Path) -> None:
    from dtflw.run.recording import spec_fingerprint

    flow = init_flow(LocalStorage(tmp_path / "tables"), dbutils=FakeDbutils(fs_root=tmp_path / "dbfs"))
    prints = set()
    for password in ("4711", "4712"):
        builder = flow.notebook("load").args({"db_password": password, "day": "2024-01-01"})
        prints.add(spec_fingerprint(flow.ctx, builder.build(0))[0])
    assert len(prints) == 1  # a record's other fields could otherwise be used to guess it
    day = flow.notebook("load").args({"db_password": "4711", "day": "2024-01-02"})
    assert spec_fingerprint(flow.ctx, day.build(0))[0] not in prints  # other arguments still count


@pytest.mark.parametrize("value", [b"Hunter2-Bytes", 98765432])
def test_a_wrongly_typed_secret_argument_is_not_echoed(value: Any, tmp_path: Path) -> None:
    from dtflw.errors import FlowDefinitionError

    flow = init_flow(LocalStorage(tmp_path / "tables"), dbutils=FakeDbutils(fs_root=tmp_path / "dbfs"))
    with pytest.raises(FlowDefinitionError) as info:
        flow.notebook("a").args({"password": value})
    assert "must be a string" in str(info.value) and str(value) not in str(info.value)
    assert "Hunter2" not in str(info.value)
    with pytest.raises(FlowDefinitionError, match="got int 2022"):  # an innocent name keeps its value
        flow.notebook("a").args({"year": 2022})


def test_fake_dbutils_masks_a_secret_argument_value_the_callee_echoes(dbutils: FakeDbutils) -> None:
    def echoes(args: dict[str, str]) -> str:
        print(f"token is {args['api_token']}")
        raise ValueError(f"child failed with {args['api_token']!r}")

    dbutils.notebook.register("echoes", echoes)
    with pytest.raises(NotebookRunError) as info:
        dbutils.notebook.run("echoes", 0, {"api_token": ARG_SECRETS[0]})
    assert leaked(chain_text(info.value)) == []
    assert dbutils.redactor.redact(f"x {ARG_SECRETS[0]} y") == "x [REDACTED] y"
