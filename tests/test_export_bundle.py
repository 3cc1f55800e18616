"""Asset Bundle export: notebook paths relative to the bundle root, the deploying user's folder,
a whole databricks.yml (bundle + targets) or only resources; Jobs API field names kept (no Spark)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from databricks.sdk.service.jobs import JobSettings

from dtflw import init_flow
from dtflw.errors import InvalidArgumentError
from dtflw.export import bundle_yaml, job_settings
from dtflw.export.bundle import USER_VARIABLE
from dtflw.model.specs import NotebookSpec
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils

ME = "me@x.com"


def make_flow(tmp_path: Path) -> Any:
    """ingest -> sub/clean -> /Shared/lib/report -> /Users/other@x.com/audit, declared as me@x.com."""
    dbutils = FakeDbutils(user=ME, notebook_path=f"/Users/{ME}/proj/main")
    flow = init_flow(LocalStorage(tmp_path), dbutils=dbutils)
    flow.notebook("ingest").args({"day": "2024-01-01"}).output("Raw").add()
    flow.notebook("sub/clean").input("Raw").output("Clean").retries(2).add()
    flow.notebook("/Shared/lib/report").input("Clean").output("Report").add()
    flow.notebook("/Users/other@x.com/audit").input("Report").add()
    flow.notebook(f"/Users/{ME}/tools/check").input("Report").add()
    return flow


@pytest.fixture
def specs(tmp_path: Path) -> tuple[NotebookSpec, ...]:
    return make_flow(tmp_path).specs  # type: ignore[no-any-return]


def paths(text: str, key: str = "nightly") -> list[str]:
    job = yaml.safe_load(text)["resources"]["jobs"][key]
    return [t["notebook_task"]["notebook_path"] for t in job["tasks"]]


def sdk_round_trip(job: dict[str, Any]) -> dict[str, Any]:
    again = JobSettings.from_dict(job).as_dict()  # unknown fields would be dropped: loss shows up
    assert JobSettings.from_dict(again).as_dict() == again
    return again


def test_paths_relative_to_the_bundle_root_and_the_deploying_users_folder(specs: tuple[NotebookSpec, ...]) -> None:
    text = bundle_yaml(specs, "nightly", bundle_root=f"/Users/{ME}/proj", user=ME)
    assert paths(text) == [
        "./ingest.py",
        "./sub/clean.py",
        "/Shared/lib/report",
        "/Users/other@x.com/audit",  # another user's notebook stays where it is
        f"/Users/{USER_VARIABLE}/tools/check",
    ]
    assert "me@x.com" not in text
    job = yaml.safe_load(text)["resources"]["jobs"]["nightly"]
    expected = job_settings(specs, "nightly")
    for task, want in zip(job["tasks"], expected["tasks"]):
        want["notebook_task"]["notebook_path"] = task["notebook_task"]["notebook_path"]
    assert job == expected  # only the notebook paths differ from the Jobs API settings
    assert sdk_round_trip(job) == expected


def test_user_alone_keeps_absolute_paths_in_the_deploying_users_folder(specs: tuple[NotebookSpec, ...]) -> None:
    assert paths(bundle_yaml(specs, "nightly", user=ME))[:2] == [
        f"/Users/{USER_VARIABLE}/proj/ingest",
        f"/Users/{USER_VARIABLE}/proj/sub/clean",
    ]
    prefixed = paths(bundle_yaml(specs, "nightly", user=ME, notebook_path_prefix="/Workspace"))
    assert prefixed[0] == f"/Workspace/Users/{USER_VARIABLE}/proj/ingest"
    assert prefixed[2] == "/Workspace/Shared/lib/report"
    assert paths(bundle_yaml(specs, "nightly")) == [s.abs_path for s in specs]  # defaults: unchanged


def test_notebook_files_give_each_notebooks_source_file(specs: tuple[NotebookSpec, ...]) -> None:
    files = {f"/Users/{ME}/proj/ingest": "notebooks/ingest.ipynb", "/Shared/lib/report": "lib/report.py"}
    text = bundle_yaml(
        specs,
        "nightly",
        notebook_files=files,
        bundle_root=f"/Workspace/Users/{ME}/proj",  # /Workspace or not: the same folder
        notebook_suffix=".sql",
        notebook_path_prefix="/Workspace",
    )
    assert paths(text)[:3] == ["./notebooks/ingest.ipynb", "./sub/clean.sql", "./lib/report.py"]


def test_whole_databricks_yml_or_only_resources(specs: tuple[NotebookSpec, ...]) -> None:
    only = yaml.safe_load(bundle_yaml(specs, "nightly"))
    assert list(only) == ["resources"]
    whole = yaml.safe_load(bundle_yaml(specs, "nightly", include_bundle=True, bundle_root=f"/Users/{ME}/proj"))
    assert list(whole) == ["bundle", "resources", "targets"]
    assert whole["bundle"] == {"name": "nightly"}
    assert whole["targets"] == {"dev": {"mode": "development", "default": True}}
    targets = {
        "dev": {"mode": "development", "default": True},
        "prod": {"mode": "production", "workspace": {"host": "https://adb-1.2.azuredatabricks.net"}},
    }
    custom = bundle_yaml(specs, "nightly", include_bundle=True, bundle_name="sales", targets=targets)
    loaded = yaml.safe_load(custom)
    assert loaded["bundle"] == {"name": "sales"} and loaded["targets"] == targets
    assert sdk_round_trip(loaded["resources"]["jobs"]["nightly"])["name"] == "nightly"


def test_flow_to_bundle_yaml_passes_the_options(tmp_path: Path) -> None:
    flow = make_flow(tmp_path)
    text = flow.to_bundle_yaml("nightly", bundle_root=f"/Users/{ME}/proj", user=ME, include_bundle=True)
    assert paths(text)[:2] == ["./ingest.py", "./sub/clean.py"] and "targets" in yaml.safe_load(text)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bundle_root": "proj"}, "bundle_root"),
        ({"bundle_root": 3}, "bundle_root"),
        ({"notebook_suffix": "py"}, "notebook_suffix"),
        ({"notebook_files": {"/Users/a/nb": "../nb.py"}}, "notebook_files"),
        ({"notebook_files": {"/Users/a/nb": "/abs/nb.py"}}, "notebook_files"),
        ({"notebook_files": {"/Users/a/nb": "nb"}}, "notebook_files"),
        ({"notebook_files": {"nb": "nb.py"}}, "notebook_files"),
        ({"notebook_files": ["x"]}, "notebook_files"),
        ({"user": "a/b"}, "user"),
        ({"user": ""}, "user"),
        ({"targets": {"dev": {}}}, "include_bundle"),
        ({"bundle_name": "x"}, "include_bundle"),
        ({"include_bundle": True, "targets": {}}, "targets"),
        ({"include_bundle": True, "targets": {"a b": {}}}, "targets"),
        ({"include_bundle": True, "targets": {"dev": "x"}}, "targets"),
    ],
)
def test_bad_bundle_options_are_rejected(specs: tuple[NotebookSpec, ...], kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        bundle_yaml(specs, "nightly", **kwargs)
