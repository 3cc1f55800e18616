"""Tests of the emulated dbutils building blocks in ``dtflw.emulated``."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from dtflw.emulated import (
    EmulatedFs,
    EntryPoint,
    ExecutionError,
    FileInfo,
    InputWidgetNotDefined,
    NoSuchElementException,
    NotebookContext,
    NotebookExit,
    Option,
    PathMap,
    Redactor,
    SecretMetadata,
    SecretNotFoundError,
    Secrets,
    SecretScope,
    Tags,
    TaskValues,
    Widgets,
    join_uri,
    resolve_workspace_path,
)
from dtflw.errors import InvalidArgumentError

# --------------------------------------------------------------------------------------------
# errors


def test_error_texts_match_databricks() -> None:
    assert str(InputWidgetNotDefined("x")) == "InputWidgetNotDefined: No input widget named x is defined"
    assert "java.io.FileNotFoundException: File /a does not exist." in str(ExecutionError.file_not_found("ls", "/a"))
    assert str(SecretNotFoundError("sc", "k")) == (
        "java.lang.IllegalArgumentException: Secret does not exist with scope: sc and key: k"
    )
    assert "java.util.NoSuchElementException: None.get" in str(NoSuchElementException("None.get"))


def test_notebook_exit_is_not_an_exception() -> None:
    error = NotebookExit("done")
    assert error.value == "done"
    assert not isinstance(error, Exception)
    with pytest.raises(NotebookExit):
        try:
            raise error
        except Exception:  # must not catch it
            pytest.fail("NotebookExit was swallowed by except Exception")


# --------------------------------------------------------------------------------------------
# widgets


def test_widget_default_used_without_argument() -> None:
    widgets = Widgets()
    widgets.text("env", "dev", "Environment")
    assert widgets.get("env") == "dev"


def test_argument_wins_over_default() -> None:
    widgets = Widgets({"env": "prod"})
    widgets.text("env", "dev")
    assert widgets.get("env") == "prod"


def test_redeclaring_keeps_value() -> None:
    widgets = Widgets()
    widgets.text("x", "first")
    widgets.text("x", "second")
    widgets.dropdown("x", "b", ["a", "b"])
    assert widgets.get("x") == "first"


def test_undeclared_argument_is_readable() -> None:
    assert Widgets({"extra": "1"}).get("extra") == "1"


def test_get_missing_raises_input_widget_not_defined() -> None:
    with pytest.raises(InputWidgetNotDefined) as info:
        Widgets().get("nope")
    assert "InputWidgetNotDefined: No input widget named nope is defined" in str(info.value)
    assert isinstance(info.value, Exception)


def test_dropdown_requires_default_in_choices() -> None:
    widgets = Widgets()
    with pytest.raises(ValueError, match="not one of the choices"):
        widgets.dropdown("d", "z", ["a", "b"])
    widgets.dropdown(name="d", defaultValue="a", choices=["a", "b"], label="D")
    assert widgets.get("d") == "a"
    assert widgets.spec("d").choices == ("a", "b")


def test_combobox_accepts_free_default() -> None:
    widgets = Widgets()
    widgets.combobox("c", "free", ["a"])
    assert widgets.get("c") == "free"


def test_multiselect_value_is_comma_joined() -> None:
    widgets = Widgets()
    widgets.multiselect("m", "a", ["a", "b", "c"])
    widgets.multiselect("n", "a,c", ["a", "b", "c"])
    assert widgets.get("m") == "a"
    assert widgets.get("n") == "a,c"
    with pytest.raises(ValueError):
        widgets.multiselect("o", "a,z", ["a", "b"])


def test_widget_values_must_be_strings() -> None:
    with pytest.raises(TypeError, match="must be a str"):
        Widgets({"n": 1})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="must be a str"):
        Widgets().text("n", 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Widgets().dropdown("d", "a", "abc")  # a bare str is not a list of choices


def test_get_all_get_argument_remove() -> None:
    widgets = Widgets({"a": "1"})
    widgets.text("b", "2")
    assert widgets.getAll() == {"a": "1", "b": "2"}
    assert widgets.getArgument("a") == "1"
    assert widgets.getArgument("zz", "fallback") == "fallback"
    assert widgets.getArgument("zz") is None
    widgets.remove("b")
    with pytest.raises(InputWidgetNotDefined):
        widgets.get("b")
    with pytest.raises(InputWidgetNotDefined):
        widgets.remove("b")
    widgets.removeAll()
    assert widgets.getAll() == {}
    widgets.text("a", "default")
    assert widgets.get("a") == "1"  # passed argument still wins after remove


def test_widgets_are_thread_safe() -> None:
    widgets = Widgets()

    def declare(i: int) -> None:
        for j in range(50):
            widgets.text(f"w{i}_{j}", str(j))

    threads = [threading.Thread(target=declare, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    values = widgets.getAll()
    assert len(values) == 200
    assert values["w3_49"] == "49"


# --------------------------------------------------------------------------------------------
# paths


@pytest.fixture
def path_map(tmp_path: Path) -> PathMap:
    return PathMap(tmp_path / "dbfs")


def test_dbfs_and_schemeless_paths(path_map: PathMap, tmp_path: Path) -> None:
    assert path_map.to_local("dbfs:/a/b.csv") == tmp_path / "dbfs" / "a" / "b.csv"
    assert path_map.to_local("/a/b.csv") == tmp_path / "dbfs" / "a" / "b.csv"
    assert path_map.to_local("dbfs:///a//./b/") == tmp_path / "dbfs" / "a" / "b"
    assert path_map.to_local("dbfs:/") == tmp_path / "dbfs"
    assert path_map.qualify("/tmp/x") == "dbfs:/tmp/x"


def test_dbfs_fuse_prefix_is_a_plain_dbfs_folder_for_dbutils(path_map: PathMap, tmp_path: Path) -> None:
    assert path_map.to_local("/dbfs/x") == tmp_path / "dbfs" / "dbfs" / "x"


def test_volumes(path_map: PathMap, tmp_path: Path) -> None:
    expected = tmp_path / "dbfs" / "Volumes" / "c" / "s" / "v" / "f.txt"
    assert path_map.to_local("/Volumes/c/s/v/f.txt") == expected
    assert path_map.to_local("dbfs:/Volumes/c/s/v/f.txt") == expected
    custom = PathMap(tmp_path / "d", volumes_root=tmp_path / "vol")
    assert custom.to_local("/Volumes/c/s/v/x") == tmp_path / "vol" / "c" / "s" / "v" / "x"


def test_cloud_urls(tmp_path: Path) -> None:
    path_map = PathMap(tmp_path / "d", cloud_root=tmp_path / "cloud")
    abfss = "abfss://raw@acct.dfs.core.windows.net/dir/f.parquet"
    wasbs = "wasbs://raw@acct.blob.core.windows.net/dir/f.parquet"
    expected = tmp_path / "cloud" / "acct" / "raw" / "dir" / "f.parquet"
    assert path_map.to_local(abfss) == expected
    assert path_map.to_local(wasbs) == expected
    assert path_map.qualify(abfss) == abfss
    assert PathMap(tmp_path / "d").cloud_root == tmp_path / "d" / ".cloud"


@pytest.mark.parametrize(
    "url",
    [
        "abfss://acct.dfs.core.windows.net/x",  # no container
        "abfss://c@acct.blob.core.windows.net/x",  # wrong endpoint
        "wasbs://c@.blob.core.windows.net/x",  # no account
        "abfss:c@acct.dfs.core.windows.net/x",  # no authority
    ],
)
def test_malformed_cloud_url(path_map: PathMap, url: str) -> None:
    with pytest.raises(InvalidArgumentError, match="Malformed"):
        path_map.to_local(url)


def test_file_scheme_and_unknown_scheme(path_map: PathMap) -> None:
    assert path_map.to_local("file:/etc/hosts") == Path("/etc/hosts")
    assert path_map.to_local("file:///etc/hosts") == Path("/etc/hosts")
    with pytest.raises(InvalidArgumentError, match="Unsupported URI scheme 's3'"):
        path_map.to_local("s3://bucket/key")


@pytest.mark.parametrize("uri", ["/..", "dbfs:/a/../../b", "/Volumes/../../x"])
def test_dotdot_cannot_escape_root(path_map: PathMap, uri: str) -> None:
    with pytest.raises(InvalidArgumentError, match="escapes its root"):
        path_map.to_local(uri)


def test_dotdot_inside_root_is_resolved(path_map: PathMap, tmp_path: Path) -> None:
    assert path_map.to_local("/a/../b") == tmp_path / "dbfs" / "b"


def test_local_file_api_path(path_map: PathMap, tmp_path: Path) -> None:
    assert path_map.local_file_api_path("/dbfs/x/y.csv") == tmp_path / "dbfs" / "x" / "y.csv"
    assert path_map.local_file_api_path("/dbfs") == tmp_path / "dbfs"
    assert path_map.local_file_api_path("/Volumes/c/s/v/f") == tmp_path / "dbfs" / "Volumes" / "c" / "s" / "v" / "f"
    assert path_map.local_file_api_path("/etc/hosts") == Path("/etc/hosts")
    assert path_map.local_file_api_path("rel/x") == Path("rel/x")


def test_join_uri() -> None:
    assert join_uri("dbfs:/a", "b") == "dbfs:/a/b"
    assert join_uri("dbfs:/a/", "/b") == "dbfs:/a/b"
    assert join_uri("abfss://c@a.dfs.core.windows.net", "x/y") == "abfss://c@a.dfs.core.windows.net/x/y"


def test_resolve_workspace_path() -> None:
    caller = "/Users/u/project/main"
    assert resolve_workspace_path("child", caller) == "/Users/u/project/child"
    assert resolve_workspace_path("./child", caller) == "/Users/u/project/child"
    assert resolve_workspace_path("../lib/child", caller) == "/Users/u/lib/child"
    assert resolve_workspace_path("/Workspace/Shared/x", caller) == "/Shared/x"
    with pytest.raises(InvalidArgumentError):
        resolve_workspace_path("", caller)


# --------------------------------------------------------------------------------------------
# fs


@pytest.fixture
def fs(path_map: PathMap) -> EmulatedFs:
    path_map.dbfs_root.mkdir(parents=True)
    return EmulatedFs(path_map)


def test_put_head_ls(fs: EmulatedFs, path_map: PathMap, capsys: pytest.CaptureFixture[str]) -> None:
    assert fs.put("/FileStore/x/data.csv", "a,b\nä") is True
    assert capsys.readouterr().out == "Wrote 6 bytes.\n"
    assert (path_map.dbfs_root / "FileStore" / "x" / "data.csv").read_text("utf-8") == "a,b\nä"
    assert fs.head("dbfs:/FileStore/x/data.csv") == "a,b\nä"
    assert fs.head("/FileStore/x/data.csv", 3) == "a,b"
    assert fs.head("/FileStore/x/data.csv", maxBytes=1) == "a"
    assert fs.head(file="/FileStore/x/data.csv", max_bytes=2) == "a,"


def test_ls_fileinfo_shape(fs: EmulatedFs) -> None:
    fs.put("dbfs:/FileStore/x/b.txt", "hello")
    fs.mkdirs("dbfs:/FileStore/x/a_dir")
    entries = fs.ls("dbfs:/FileStore/x/")
    assert [e.name for e in entries] == ["a_dir/", "b.txt"]
    directory, file = entries
    assert directory.path == "dbfs:/FileStore/x/a_dir/"
    assert directory.size == 0 and directory.isDir() and not directory.isFile()
    assert file.path == "dbfs:/FileStore/x/b.txt"
    assert file.size == 5 and file.isFile()
    assert isinstance(file.modificationTime, int) and file.modificationTime > 1_600_000_000_000
    assert repr(file).startswith("FileInfo(path='dbfs:/FileStore/x/b.txt', name='b.txt', size=5, ")
    assert isinstance(file, tuple) and file._fields == ("path", "name", "size", "modificationTime")


def test_ls_schemeless_and_file(fs: EmulatedFs) -> None:
    fs.put("/tmp/x/f.txt", "1")
    assert fs.ls("/tmp/x")[0].path == "dbfs:/tmp/x/f.txt"
    assert fs.ls(dir="/tmp/x/f.txt") == [FileInfo("dbfs:/tmp/x/f.txt", "f.txt", 1, fs.ls("/tmp/x")[0].modificationTime)]
    assert fs.ls("/tmp")[0].path == "dbfs:/tmp/x/"


def test_ls_volumes_and_cloud_keep_scheme_form(fs: EmulatedFs) -> None:
    fs.put("/Volumes/c/s/v/f.txt", "1")
    fs.put("abfss://raw@acct.dfs.core.windows.net/d/f.txt", "1")
    assert fs.ls("/Volumes/c/s/v")[0].path == "dbfs:/Volumes/c/s/v/f.txt"
    assert fs.ls("abfss://raw@acct.dfs.core.windows.net/d")[0].path == ("abfss://raw@acct.dfs.core.windows.net/d/f.txt")


def test_missing_path_raises_file_not_found(fs: EmulatedFs) -> None:
    for call in (lambda: fs.ls("dbfs:/nope"), lambda: fs.head("/nope"), lambda: fs.cp("/nope", "/x")):
        with pytest.raises(ExecutionError) as info:
            call()
        assert "java.io.FileNotFoundException: File /nope does not exist." in str(info.value)
    with pytest.raises(ExecutionError, match="File file:/definitely/not/here does not exist"):
        fs.ls("file:/definitely/not/here")


def test_exists_idiom(fs: EmulatedFs) -> None:
    def exists(path: str) -> bool:
        try:
            fs.ls(path)
            return True
        except Exception as error:
            if "java.io.FileNotFoundException" in str(error):
                return False
            raise

    fs.mkdirs("/here")
    assert exists("/here") is True
    assert exists("/not-here") is False
    assert not hasattr(fs, "exists")


def test_put_overwrite_rules(fs: EmulatedFs) -> None:
    fs.put("/f.txt", "one")
    with pytest.raises(ExecutionError, match="FileAlreadyExistsException"):
        fs.put("/f.txt", "two")
    fs.put("/f.txt", "two", overwrite=True)
    assert fs.head("/f.txt") == "two"


def test_runtime_type_checks(fs: EmulatedFs) -> None:
    with pytest.raises(TypeError) as info:
        fs.ls(1)  # type: ignore[arg-type]
    assert str(info.value) == "1 has the wrong type - <class 'str'> is expected."
    with pytest.raises(TypeError, match="has the wrong type"):
        fs.put("/f", "x", overwrite="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="has the wrong type"):
        fs.rm("/f", recurse=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="has the wrong type"):
        fs.head("/f", "10")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="either"):
        fs.ls("/a", dir="/b")  # type: ignore[arg-type]


def test_mkdirs_and_rm(fs: EmulatedFs) -> None:
    assert fs.mkdirs("/d/e") is True
    assert fs.mkdirs("/d/e") is True
    fs.put("/d/e/f.txt", "x")
    with pytest.raises(ExecutionError, match="Cannot delete non-empty directory /d.*recurse=True"):
        fs.rm("/d")
    assert fs.rm("/d/e/f.txt") is True
    assert fs.rm("/d/e") is True
    fs.put("/d/g.txt", "x")
    assert fs.rm("/d", recurse=True) is True
    assert fs.rm("/d") is False
    with pytest.raises(ExecutionError, match="root"):
        fs.rm("dbfs:/", recurse=True)


def test_mkdirs_on_file_fails(fs: EmulatedFs) -> None:
    fs.put("/f", "x")
    with pytest.raises(ExecutionError):
        fs.mkdirs("/f")


def test_cp_file_and_directory(fs: EmulatedFs) -> None:
    fs.put("/src/a.txt", "A")
    fs.put("/src/sub/b.txt", "B")
    assert fs.cp("/src/a.txt", "/copy.txt") is True
    assert fs.head("/copy.txt") == "A"
    fs.mkdirs("/into")
    fs.cp(from_="/src/a.txt", to="/into")
    assert fs.head("/into/a.txt") == "A"
    with pytest.raises(ExecutionError, match="recurse=True"):
        fs.cp("/src", "/dst")
    fs.cp(source="/src", dest="/dst", recurse=True)
    assert [e.name for e in fs.ls("/dst")] == ["a.txt", "sub/"]
    assert fs.head("/dst/sub/b.txt") == "B"
    with pytest.raises(ExecutionError, match="into itself"):
        fs.cp("/src", "/src/sub/deeper", recurse=True)


def test_mv_file_and_directory(fs: EmulatedFs) -> None:
    fs.put("/m/a.txt", "A")
    assert fs.mv("/m/a.txt", "/n/a.txt") is True
    assert fs.rm("/m/a.txt") is False
    assert fs.head("/n/a.txt") == "A"
    fs.mv("/n", "/o", recurse=True)
    assert fs.head("/o/a.txt") == "A"
    with pytest.raises(ExecutionError, match="FileNotFoundException"):
        fs.ls("/n")
    with pytest.raises(ExecutionError, match="recurse=True"):
        fs.mv("/o", "/p")


# --------------------------------------------------------------------------------------------
# secrets and redaction


def test_secrets_get_list_scopes() -> None:
    secrets = Secrets({"kv": {"b": "2", "a": "1"}, "other": {}})
    assert secrets.get("kv", "a") == "1"
    assert secrets.getBytes("kv", "b") == b"2"
    assert secrets.list("kv") == [SecretMetadata("a"), SecretMetadata("b")]
    assert secrets.list("kv")[0].key == "a"
    scopes = secrets.listScopes()
    assert scopes == [SecretScope("kv"), SecretScope("other")]
    assert scopes[0].getName() == "kv"


def test_missing_secret_message() -> None:
    secrets = Secrets({"kv": {"a": "1"}})
    with pytest.raises(SecretNotFoundError) as info:
        secrets.get("kv", "zz")
    assert "java.lang.IllegalArgumentException: Secret does not exist with scope: kv and key: zz" in str(info.value)
    with pytest.raises(SecretNotFoundError, match="scope: nope and key: a"):
        secrets.get("nope", "a")
    with pytest.raises(SecretNotFoundError, match="nope"):
        secrets.list("nope")


def test_secret_values_never_in_repr() -> None:
    secrets = Secrets({"kv": {"a": "s3cr3t-value"}})
    secrets.get("kv", "a")
    assert "s3cr3t-value" not in repr(secrets)
    assert "s3cr3t-value" not in repr(secrets.redactor)
    assert "s3cr3t-value" not in repr(secrets.list("kv"))


def test_redactor_replaces_fetched_values_only() -> None:
    redactor = Redactor()
    secrets = Secrets({"kv": {"a": "hunter2", "b": "unused"}}, redactor=redactor)
    assert secrets.get("kv", "a") == "hunter2"
    assert redactor.redact("pw=hunter2 and unused") == "pw=[REDACTED] and unused"


def test_redactor_longest_first_and_ignores_empty() -> None:
    redactor = Redactor()
    for value in ("abc", "abcdef", "", "RED"):
        redactor.register(value)
    assert len(redactor) == 3
    assert redactor.redact("xabcdefx abc") == "x[REDACTED]x [REDACTED]"
    assert redactor.redact("RED") == "[REDACTED]"  # no re-redaction inside the marker
    assert redactor.redact("") == ""
    assert Redactor().redact("anything") == "anything"


# --------------------------------------------------------------------------------------------
# task values


def test_task_values_outside_job() -> None:
    values = TaskValues()
    values.set("k", {"a": 1})
    assert values.get("upstream", "k", debugValue=42) == 42
    with pytest.raises(TypeError) as info:
        values.get("upstream", "k")
    assert str(info.value) == (
        "Must pass debugValue when calling get outside of a job context. debugValue cannot be None."
    )


def test_task_values_in_job_shared_store() -> None:
    store: dict = {}
    upstream = TaskValues(in_job=True, store=store, task_key="ingest")
    downstream = TaskValues(in_job=True, store=store, task_key="report")
    upstream.set("rows", [1, 2])
    got = downstream.get("ingest", "rows")
    assert got == [1, 2]
    got.append(3)
    assert downstream.get(taskKey="ingest", key="rows") == [1, 2]  # JSON round trip: a copy
    assert downstream.get("ingest", "missing", default="d") == "d"
    with pytest.raises(ValueError, match="No task value 'missing' was set by task 'ingest'"):
        downstream.get("ingest", "missing")


def test_task_values_limits() -> None:
    values = TaskValues(in_job=True)
    values.set("ok", "x" * (48 * 1024 - 2))  # 48 KiB exactly with the JSON quotes
    with pytest.raises(ValueError, match="48 KiB"):
        values.set("big", "x" * (48 * 1024))
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        values.set("obj", object())
    with pytest.raises(TypeError):
        values.set(1, "x")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# context chain


def test_option() -> None:
    some, none = Option("v"), Option.empty()
    assert some.isDefined() and not some.isEmpty() and some.get() == "v"
    assert none.isEmpty() and not none.isDefined()
    with pytest.raises(NoSuchElementException) as info:
        none.get()
    assert "java.util.NoSuchElementException: None.get" in str(info.value)
    assert none.getOrElse("d") == "d"
    assert none.getOrElse(lambda: "lazy") == "lazy"
    assert some.getOrElse("d") == "v"
    assert repr(some) == "Some('v')" and repr(none) == "None"


def test_tags() -> None:
    tags = Tags({"jobId": "7"})
    assert tags.apply("jobId") == "7"
    assert tags.get("jobId").get() == "7"
    assert tags.get("nope").isEmpty()
    assert tags.contains("jobId") and "jobId" in tags and not tags.contains("nope")
    assert dict(tags) == {"jobId": "7"}
    with pytest.raises(NoSuchElementException) as info:
        tags.apply("nope")
    assert "java.util.NoSuchElementException: key not found: nope" in str(info.value)


def test_notebook_context() -> None:
    ctx = NotebookContext("/Users/me/p/nb", "me", tags={"jobId": "1", "jobType": "NORMAL"})
    assert ctx.notebookPath().get() == "/Users/me/p/nb"
    assert ctx.userName().get() == "me"
    assert ctx.tags().apply("user") == "me"
    assert ctx.tags().get("jobType").get() == "NORMAL"
    assert ctx.jobId().get() == "1"
    assert ctx.extraContext().get("notebook_path").get() == "/Users/me/p/nb"
    assert ctx.currentRunId().isEmpty()
    data = json.loads(ctx.toJson())
    assert data == {
        "tags": {"jobId": "1", "jobType": "NORMAL", "user": "me"},
        "extraContext": {"notebook_path": "/Users/me/p/nb"},
        "currentRunId": None,
    }
    interactive = NotebookContext("/a", "me", current_run_id="5")
    assert interactive.tags().get("jobType").isEmpty()
    assert json.loads(interactive.toJson())["currentRunId"] == {"id": "5"}
    with pytest.raises(ValueError):
        NotebookContext("relative/path", "me")


def test_entry_point_calls_getter_each_time() -> None:
    current = {"path": "/a"}
    entry_point = EntryPoint(lambda: NotebookContext(current["path"], "me"))
    chain = entry_point.getDbutils().notebook()
    assert chain.getContext().notebookPath().get() == "/a"
    current["path"] = "/b"
    assert entry_point.getDbutils().notebook().getContext().notebookPath().get() == "/b"
