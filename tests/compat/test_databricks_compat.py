"""`dtflw.databricks` keeps every function dtflw 0.6.7 had, callable the 0.6.7 way."""

from __future__ import annotations

import inspect
import uuid
from typing import Any
from unittest.mock import MagicMock, patch

import pytest

import dtflw.databricks as db
from dtflw.errors import RuntimeNotAvailableError
from dtflw.testing import FakeDbutils

# Every public function of dtflw 0.6.7's dtflw/databricks.py, with arguments as 0.6.7 took them.
CALLS_0_6_7: dict[str, tuple[Any, ...]] = {
    "run_notebook": ("nb", 60, {"a": "1"}),
    "get_spark_session": (),
    "get_dbutils": (),
    "get_current_username": (),
    "get_this_notebook_abs_path": (),
    "get_this_notebook_abs_cwd": (),
    "get_notebook_abs_path": ("dir/nb",),
    "get_path_relative_to_project_dir": ("dir/nb",),
    "try_get_context_tag": ("jobType", "default"),
    "is_job_interactive": (),
    "set_runtime_config_property": ("key", "value"),
    "get_runtime_config_property": ("key",),
    "runtime_config_has": ("key",),
}


def fresh_key() -> str:
    return f"dtflw.test.compat.{uuid.uuid4().hex}"


class FakeConf:
    """`spark.conf` as pyspark has it: `get(key)` of a missing key raises."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str) -> str:
        if key not in self.values:
            raise RuntimeError(f"java.util.NoSuchElementException: {key}")
        return self.values[key]

    def set(self, key: str, value: str) -> None:
        self.values[key] = value


class FakeSpark:
    def __init__(self) -> None:
        self.conf = FakeConf()


@pytest.mark.parametrize("name", sorted(CALLS_0_6_7))
def test_every_0_6_7_function_exists_with_a_compatible_signature(name):
    function = getattr(db, name, None)
    assert callable(function), f"dtflw.databricks.{name} is missing"
    inspect.signature(function).bind(*CALLS_0_6_7[name])  # raises TypeError when incompatible


def test_runtime_config_has_without_spark():
    key = fresh_key()
    assert not db.runtime_config_has(key)
    assert db.get_runtime_config_property(key) is None  # 0.7: a default, where 0.6.7 raised
    db.set_runtime_config_property(key, "v")
    assert db.runtime_config_has(key)
    assert db.get_runtime_config_property(key) == "v"


def test_runtime_config_goes_through_spark_conf_when_spark_runs():
    spark = FakeSpark()
    key = fresh_key()
    with db.use_runtime(spark=spark):
        assert not db.runtime_config_has(key)
        assert db.get_runtime_config_property(key, "d") == "d"
        db.set_runtime_config_property(key, '{"a": 1}')
        assert spark.conf.values == {key: '{"a": 1}'}
        assert db.runtime_config_has(key)
        assert db.get_runtime_config_property(key) == '{"a": 1}'
    assert not db.runtime_config_has(key)  # spark gone: this process's store never had it


def test_the_0_6_7_shared_channel_pattern_works():
    """dtflw 0.6.7's com.py: `if runtime_config_has(k): json.loads(get_runtime_config_property(k))`."""
    key = fresh_key()
    bus = db.get_runtime_config_property(key) if db.runtime_config_has(key) else "{}"
    assert bus == "{}"
    db.set_runtime_config_property(key, '{"x": "1"}')
    assert db.runtime_config_has(key) and db.get_runtime_config_property(key) == '{"x": "1"}'


def test_context_functions_take_no_arguments_as_in_0_6_7():
    fake = FakeDbutils(user="me@x.com", notebook_path="/Repos/me@x.com/proj/dir/main")
    fake.notebook.register("/Repos/me@x.com/proj/dir/child", lambda args: "got " + args["a"])
    spark = FakeSpark()
    with db.use_runtime(spark=spark, dbutils=fake):
        assert db.get_dbutils() is fake
        assert db.get_spark_session() is spark
        assert db.get_current_username() == "me@x.com"
        assert db.get_this_notebook_abs_path() == "/Repos/me@x.com/proj/dir/main"
        assert db.get_this_notebook_abs_cwd() == "/Repos/me@x.com/proj/dir"
        assert db.get_notebook_abs_path("sub/nb") == "/Repos/me@x.com/proj/dir/sub/nb"
        assert db.get_path_relative_to_project_dir("sub/nb") == "proj/dir/sub/nb"
        assert db.try_get_context_tag("user") == "me@x.com"
        assert db.try_get_context_tag("jobId") is None
        assert db.try_get_context_tag("jobId", "none") == "none"
        assert db.is_job_interactive()
        assert db.run_notebook("child", 60, {"a": "1"}) == "got 1"


def test_is_job_interactive_is_false_in_a_job():
    job = FakeDbutils(job_tags={"jobType": "NORMAL", "jobId": "7"})
    with db.use_runtime(dbutils=job):
        assert not db.is_job_interactive()
        assert db.try_get_context_tag("jobId") == "7"


def test_try_get_context_tag_returns_the_default_when_the_context_is_unreachable():
    """Databricks Connect's dbutils has no `notebook.entry_point`; shared clusters may refuse the
    py4j call. 0.6.7 answered the default; so does 0.7."""
    no_context = MagicMock()
    no_context.notebook.entry_point.getDbutils.side_effect = RuntimeError("py4j.security.Py4JSecurityException")
    assert db.try_get_context_tag("jobType", "dflt", no_context) == "dflt"
    assert db.is_job_interactive(no_context)

    class ConnectDbutils:  # pyspark.dbutils.DBUtils of Databricks Connect: fs and secrets, no notebook
        fs = object()

    with db.use_runtime(dbutils=ConnectDbutils()):
        assert db.try_get_context_tag("jobType") is None
        assert db.is_job_interactive()


def test_try_get_context_tag_without_any_runtime_says_so():
    with pytest.raises(RuntimeNotAvailableError):
        db.try_get_context_tag("jobType")


# dtflw 0.6.7's own tests patched `dtflw.databricks.get_this_notebook_abs_path`; users copied that.
@pytest.mark.parametrize(
    "this_notebook,rel_path,expected",
    [
        ("/Users/a@b.c/main", "dir/nb", "dir/nb"),
        ("/Users/a@b.c/main", "nb", "nb"),
        ("/Users/a@b.c/project_c/main", "dir/nb", "project_c/dir/nb"),
        ("/Users/a@b.c/project_c/subproject/main", "nb", "project_c/subproject/nb"),
        ("/Repos/a@b.c/project_c/main", "dir/nb", "project_c/dir/nb"),
    ],
)
def test_0_6_7_style_patched_notebook_path(this_notebook, rel_path, expected):
    with patch("dtflw.databricks.get_this_notebook_abs_path") as mocked:
        mocked.return_value = this_notebook
        assert db.get_path_relative_to_project_dir(rel_path) == expected


def test_0_6_7_style_patched_cwd_and_abs_path():
    with patch("dtflw.databricks.get_this_notebook_abs_path") as mocked:
        mocked.return_value = "/Users/a@b.c/project_a/main"
        assert db.get_this_notebook_abs_cwd() == "/Users/a@b.c/project_a"
        assert db.get_notebook_abs_path("subdir/child") == "/Users/a@b.c/project_a/subdir/child"
