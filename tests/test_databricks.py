"""The runtime seam: installed handles, context helpers, project-relative paths."""

from __future__ import annotations

import pytest

import dtflw.databricks as db
from dtflw.errors import InvalidArgumentError, RuntimeNotAvailableError
from dtflw.testing import FakeDbutils


def test_use_runtime_installs_and_restores():
    a, b = FakeDbutils(user="a@x.com"), FakeDbutils(user="b@x.com")
    with db.use_runtime(dbutils=a):
        assert db.get_dbutils() is a
        with db.use_runtime(dbutils=b):
            assert db.get_current_username() == "b@x.com"
        assert db.get_current_username() == "a@x.com"
    with pytest.raises(RuntimeNotAvailableError):
        db.get_dbutils()


def test_context_helpers():
    fake = FakeDbutils(user="me@x.com", notebook_path="/Repos/me@x.com/proj/dir/main")
    assert db.get_this_notebook_abs_path(fake) == "/Repos/me@x.com/proj/dir/main"
    assert db.get_this_notebook_abs_cwd(fake) == "/Repos/me@x.com/proj/dir"
    assert db.get_notebook_abs_path("../lib/nb", fake) == "/Repos/me@x.com/proj/lib/nb"
    assert db.get_path_relative_to_project_dir("ingest", fake) == "proj/dir/ingest"
    assert db.is_job_interactive(fake)
    assert db.try_get_context_tag("nope", "dflt", fake) == "dflt"
    job = FakeDbutils(job_tags={"jobType": "NORMAL", "jobId": "7"})
    assert not db.is_job_interactive(job)
    assert db.try_get_context_tag("jobId", None, job) == "7"
    fake.notebook.register("/Repos/me@x.com/proj/dir/x", lambda a: "ran " + a["k"])
    with db.use_runtime(dbutils=fake):
        assert db.run_notebook("x", 0, {"k": "v"}) == "ran v"


@pytest.mark.parametrize(
    "path,expected",
    [
        ("/Users/me@x.com/sales/main", "sales/main"),
        ("/Workspace/Users/me@x.com/sales/main", "sales/main"),
        ("/Repos/me@x.com/repo/nb", "repo/nb"),
        ("/Workspace/Shared/team/nb", "nb"),  # 0.6.x dropped the top two folders whatever they were
        ("/Shared/team/sales/nb", "sales/nb"),
        ("/Shared/nb", "Shared/nb"),
    ],
)
def test_project_relative_path(path, expected):
    assert db.project_relative_path(path) == expected


def test_resolve_notebook_path():
    assert db.resolve_notebook_path("/Users/u/p/main", "./a/b") == "/Users/u/p/a/b"
    assert db.resolve_notebook_path("/Users/u/p/main", "/Shared/x/../y") == "/Shared/y"
    with pytest.raises(InvalidArgumentError):
        db.resolve_notebook_path("/Users/u/p/main", "")


def test_runtime_config_store_falls_back_to_process_memory():
    db.set_runtime_config_property("dtflw.test.key", "v")
    assert db.get_runtime_config_property("dtflw.test.key") == "v"
    assert db.get_runtime_config_property("dtflw.test.none", "d") == "d"
