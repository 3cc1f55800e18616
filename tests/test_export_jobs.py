"""Export of a declared flow to a Jobs API 2.1 job and an Asset Bundle (issue #4, fast, no Spark)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from databricks.sdk.service.jobs import JobSettings, RunIf, Source

from dtflw import init_flow
from dtflw.errors import FlowDefinitionError, InvalidArgumentError
from dtflw.export import bundle_yaml, job_settings, to_yaml
from dtflw.model.specs import NotebookSpec
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils

CLUSTER = {"spark_version": "15.4.x-scala2.12", "node_type_id": "Standard_DS3_v2", "num_workers": 2}

NASTY = [
    "",
    " ",
    "plain",
    "it's",
    'say "hi"',
    "back\\slash",
    "C:\\path\\x",
    "key: value",
    "a #comment",
    "#start",
    "- dash",
    "? q",
    "[1, 2]",
    "{a: b}",
    "*alias",
    "&anchor",
    "!tag",
    "%percent",
    "@at",
    "`tick",
    "|",
    ">",
    "'",
    '"',
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "true",
    "False",
    "null",
    "~",
    "NULL",
    "0",
    "-1",
    "0x1F",
    "0o17",
    "1e3",
    "1_000",
    ".5",
    ".inf",
    "-.nan",
    "12:30:00",
    "2024-01-01",
    "line1\nline2",
    "trailing\n",
    "\r\n",
    "tab\there",
    "nul\x00byte",
    "bell\x07",
    "esc\x1b[0m",
    "del\x7f",
    "\x85next",
    "\u2028ls",
    "\u2029ps",
    "\ufeffbom",
    "\xa0nbsp",
    "café",
    "日本語",
    "emoji 🎉",
    "${var.env}",
    "{{job.run_id}}",
    "abfss://c@acct.dfs.core.windows.net/p/x",
    "/Users/me@x.com/proj: x #1",
    "   lead",
    "trail   ",
    "---",
    "...",
    "<<",
    "=",
]


# ---- fixtures --------------------------------------------------------------------------------
def _flow(tmp_path: Path) -> Any:
    return init_flow(
        LocalStorage(tmp_path), dbutils=FakeDbutils(user="me@x.com", notebook_path="/Users/me@x.com/proj/main")
    )


@pytest.fixture
def specs(tmp_path: Path) -> tuple[NotebookSpec, ...]:
    """ingest -> clean -> (a, b) -> report: a chain, a fan-out and a fan-in."""
    flow = _flow(tmp_path)
    (
        flow.notebook("ingest")
        .args({"year": "2022"})
        .input("Raw", file_path="raw/*.csv")
        .output("Orders")
        .retries(2, backoff_seconds=30)
        .timeout(3600)
        .add()
    )
    flow.notebook("clean").input("Orders").output("Clean").add()
    flow.notebook("a").input("Clean").output("A").add()
    flow.notebook("b").input("Clean").output("B").add()
    flow.notebook("report").input("A").input("B").add()
    return flow.specs


def _tasks(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["notebook_task"]["notebook_path"].rsplit("/", 1)[-1]: t for t in doc["tasks"]}


def _deps(task: dict[str, Any]) -> set[str]:
    return {d["task_key"] for d in task.get("depends_on", [])}


def _sdk_round_trip(doc: dict[str, Any]) -> dict[str, Any]:
    """What the SDK keeps of `doc` (as_dict drops unknown fields, so loss shows as a difference)."""
    settings = JobSettings.from_dict(doc)
    again = settings.as_dict()
    assert JobSettings.from_dict(again).as_dict() == again  # stable once normalised
    return again


# ---- tasks and DAG ---------------------------------------------------------------------------
def test_one_task_per_notebook_with_unique_keys_in_execution_order(specs: tuple[NotebookSpec, ...]) -> None:
    doc = job_settings(specs, "demo")
    keys = [t["task_key"] for t in doc["tasks"]]
    assert keys == ["proj__ingest", "proj__clean", "proj__a", "proj__b", "proj__report"]
    assert len(set(keys)) == len(keys) == len(specs)
    seen: set[str] = set()
    for task in doc["tasks"]:  # every dependency is declared before the task using it
        assert _deps(task) <= seen
        seen.add(task["task_key"])


def test_depends_on_follows_the_dag_fan_out_and_fan_in(specs: tuple[NotebookSpec, ...]) -> None:
    tasks = _tasks(job_settings(specs, "demo"))
    assert "depends_on" not in tasks["ingest"]
    assert _deps(tasks["clean"]) == {"proj__ingest"}
    assert _deps(tasks["a"]) == _deps(tasks["b"]) == {"proj__clean"}
    assert _deps(tasks["report"]) == {"proj__a", "proj__b"}
    assert tasks["report"]["run_if"] == "ALL_SUCCESS"


def test_producers_outside_the_exported_specs_are_not_waited_for(specs: tuple[NotebookSpec, ...]) -> None:
    tasks = _tasks(job_settings(specs[1:], "rest"))  # ingest already ran
    assert set(tasks) == {"clean", "a", "b", "report"}
    assert "depends_on" not in tasks["clean"]
    assert tasks["clean"]["notebook_task"]["base_parameters"]["Orders_in"] == specs[0].outputs[0].path


def test_same_notebook_declared_twice_gets_distinct_keys(tmp_path: Path) -> None:
    flow = _flow(tmp_path)
    flow.notebook("load").args({"part": "1"}).output("One").add()
    flow.notebook("load").args({"part": "2"}).output("Two").add()
    keys = [t["task_key"] for t in job_settings(flow.specs, "twice")["tasks"]]
    assert keys == ["proj__load", "proj__load_2"]


def test_base_parameters_are_the_widget_values(specs: tuple[NotebookSpec, ...]) -> None:
    tasks = _tasks(job_settings(specs, "demo"))
    ingest, clean = specs[0], specs[1]
    assert tasks["ingest"]["notebook_task"]["base_parameters"] == ingest.widget_values()
    params = tasks["clean"]["notebook_task"]["base_parameters"]
    assert params == {"Orders_in": ingest.outputs[0].path, "Clean_out": clean.outputs[0].path}
    assert tasks["ingest"]["notebook_task"]["base_parameters"]["year"] == "2022"
    assert tasks["ingest"]["notebook_task"]["base_parameters"]["Raw_in"].endswith("raw/*.csv")


def test_notebook_paths_are_absolute_and_optionally_prefixed(specs: tuple[NotebookSpec, ...]) -> None:
    plain = _tasks(job_settings(specs, "demo"))["ingest"]["notebook_task"]
    assert plain == {**plain, "notebook_path": "/Users/me@x.com/proj/ingest", "source": "WORKSPACE"}
    for prefix in ("/Workspace", "/Workspace/"):
        task = _tasks(job_settings(specs, "demo", notebook_path_prefix=prefix))["ingest"]
        assert task["notebook_task"]["notebook_path"] == "/Workspace/Users/me@x.com/proj/ingest"


def test_prefix_is_not_added_twice(tmp_path: Path) -> None:
    flow = init_flow(
        LocalStorage(tmp_path),
        dbutils=FakeDbutils(user="me@x.com", notebook_path="/Workspace/Users/me@x.com/proj/main"),
    )
    flow.notebook("ingest").add()
    task = job_settings(flow.specs, "demo", notebook_path_prefix="/Workspace")["tasks"][0]
    assert task["notebook_task"]["notebook_path"] == "/Workspace/Users/me@x.com/proj/ingest"


def test_retries_and_timeouts_map_to_task_fields(specs: tuple[NotebookSpec, ...]) -> None:
    tasks = _tasks(job_settings(specs, "demo"))
    ingest = tasks["ingest"]
    assert ingest["max_retries"] == 2
    assert ingest["min_retry_interval_millis"] == 30_000
    assert ingest["retry_on_timeout"] is True
    assert ingest["timeout_seconds"] == 3600
    clean = tasks["clean"]
    assert clean["max_retries"] == 0 and clean["timeout_seconds"] == 0
    assert "min_retry_interval_millis" not in clean and "retry_on_timeout" not in clean


def test_fractional_backoff_becomes_whole_milliseconds(tmp_path: Path) -> None:
    flow = _flow(tmp_path)
    flow.notebook("x").retries(1, backoff_seconds=1.5).add()
    assert job_settings(flow.specs, "j")["tasks"][0]["min_retry_interval_millis"] == 1500


# ---- compute ---------------------------------------------------------------------------------
def test_cluster_becomes_a_shared_job_cluster(specs: tuple[NotebookSpec, ...]) -> None:
    doc = job_settings(specs, "demo", cluster=CLUSTER, job_cluster_key="shared")
    assert doc["job_clusters"] == [{"job_cluster_key": "shared", "new_cluster": CLUSTER}]
    assert all(t["job_cluster_key"] == "shared" for t in doc["tasks"])
    assert not any("existing_cluster_id" in t for t in doc["tasks"])


def test_cluster_is_copied_not_shared(specs: tuple[NotebookSpec, ...]) -> None:
    cluster = {"spark_version": "15.4.x-scala2.12", "spark_conf": {"a": "1"}}
    doc = job_settings(specs, "demo", cluster=cluster)
    doc["job_clusters"][0]["new_cluster"]["spark_conf"]["a"] = "changed"
    assert cluster["spark_conf"]["a"] == "1"


def test_existing_cluster_is_set_on_every_task(specs: tuple[NotebookSpec, ...]) -> None:
    doc = job_settings(specs, "demo", existing_cluster_id="0101-123456-abcdef")
    assert "job_clusters" not in doc
    assert all(t["existing_cluster_id"] == "0101-123456-abcdef" for t in doc["tasks"])


def test_no_compute_means_serverless(specs: tuple[NotebookSpec, ...]) -> None:
    doc = job_settings(specs, "demo")
    assert "job_clusters" not in doc
    compute = {"job_cluster_key", "existing_cluster_id", "new_cluster", "environment_key"}
    assert not any(compute & set(t) for t in doc["tasks"])


def test_cluster_and_existing_cluster_together_is_an_error(specs: tuple[NotebookSpec, ...]) -> None:
    with pytest.raises(InvalidArgumentError, match="either cluster= .* or existing_cluster_id=, not both"):
        job_settings(specs, "demo", cluster=CLUSTER, existing_cluster_id="0101-123456-abcdef")


@pytest.mark.parametrize(
    "cluster, message",
    [
        ({}, "non-empty dict"),
        ("15.4.x-scala2.12", "non-empty dict"),
        ({"num_workers": 2}, "spark_version"),
        ({"spark_version": "15.4", "x": None}, r"cluster\.x: NoneType"),
        ({"spark_version": "15.4", "x": float("nan")}, "not a finite number"),
        ({"spark_version": "15.4", 3: "x"}, "keys must be strings"),
    ],
)
def test_bad_cluster_is_rejected(specs: tuple[NotebookSpec, ...], cluster: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        job_settings(specs, "demo", cluster=cluster)


def test_cluster_with_policy_needs_no_spark_version(specs: tuple[NotebookSpec, ...]) -> None:
    doc = job_settings(specs, "demo", cluster={"policy_id": "ABC", "apply_policy_default_values": True})
    assert doc["job_clusters"][0]["new_cluster"]["policy_id"] == "ABC"


# ---- validation ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["", "   ", None, 3])
def test_job_name_must_be_non_empty(specs: tuple[NotebookSpec, ...], name: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="Job name must be a non-empty string"):
        job_settings(specs, name)


def test_empty_flow_is_an_error() -> None:
    with pytest.raises(FlowDefinitionError, match="declares no notebooks"):
        job_settings([], "demo")
    with pytest.raises(FlowDefinitionError, match="declares no notebooks"):
        bundle_yaml((), "demo")


def test_specs_must_be_notebook_specs() -> None:
    with pytest.raises(InvalidArgumentError, match="NotebookSpec"):
        job_settings(["ingest"], "demo")  # type: ignore[list-item]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"existing_cluster_id": ""}, "existing_cluster_id must be a non-empty string"),
        ({"cluster": CLUSTER, "job_cluster_key": ""}, "job_cluster_key must be a non-empty string"),
        ({"max_concurrent_runs": -1}, "max_concurrent_runs"),
        ({"max_concurrent_runs": True}, "max_concurrent_runs"),
        ({"email_on_failure": "team@x.com"}, "not a single string"),
        ({"tags": {"team": 1}}, "tags must be a dict"),
        ({"tags": {f"t{i}": "v" for i in range(26)}}, "at most 25 tags"),
        ({"parameters": {"env": 1}}, "parameters must map"),
        ({"notebook_path_prefix": "Workspace"}, "notebook_path_prefix"),
    ],
)
def test_bad_options_are_rejected(specs: tuple[NotebookSpec, ...], kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        job_settings(specs, "demo", **kwargs)


def test_too_long_task_key_is_an_error(tmp_path: Path) -> None:
    flow = _flow(tmp_path)
    flow.notebook("/".join(["folder"] * 20) + "/nb").add()
    with pytest.raises(FlowDefinitionError, match="longer than the Jobs API allows"):
        job_settings(flow.specs, "demo")


# ---- job-level options -----------------------------------------------------------------------
def test_job_level_options(specs: tuple[NotebookSpec, ...]) -> None:
    doc = job_settings(
        specs,
        "demo",
        parameters={"env": "dev"},
        max_concurrent_runs=3,
        tags={"team": "data"},
        email_on_failure=["team@x.com"],
    )
    assert doc["name"] == "demo"
    assert doc["parameters"] == [{"name": "env", "default": "dev"}]
    assert doc["max_concurrent_runs"] == 3
    assert doc["tags"] == {"team": "data"}
    assert doc["email_notifications"] == {"on_failure": ["team@x.com"]}


def test_defaults_leave_optional_job_fields_out(specs: tuple[NotebookSpec, ...]) -> None:
    doc = job_settings(specs, "demo")
    assert set(doc) == {"name", "max_concurrent_runs", "tasks"}
    assert doc["max_concurrent_runs"] == 1


# ---- secrets ---------------------------------------------------------------------------------
def test_secret_looking_args_are_not_exported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    flow = _flow(tmp_path)
    flow.notebook("load").args({"api_token": "s3cr3t-value", "db_password": "hunter2", "year": "2022"}).add()
    with caplog.at_level(logging.WARNING, logger="dtflw"):
        doc = job_settings(flow.specs, "demo", parameters={"client_secret": "shh"})
        text = bundle_yaml(flow.specs, "demo", parameters={"client_secret": "shh"})
    params = doc["tasks"][0]["notebook_task"]["base_parameters"]
    assert params == {"api_token": "[REDACTED]", "db_password": "[REDACTED]", "year": "2022"}
    assert doc["parameters"] == [{"name": "client_secret", "default": "[REDACTED]"}]
    for secret in ("s3cr3t-value", "hunter2", "shh"):
        assert secret not in json.dumps(doc) and secret not in text
    assert "api_token" in caplog.text and "dbutils.secrets.get" in caplog.text
    assert "s3cr3t-value" not in caplog.text


# ---- databricks-sdk round trip ---------------------------------------------------------------
@pytest.mark.parametrize(
    "compute",
    [
        {},
        {
            "cluster": {
                **CLUSTER,
                "spark_conf": {"spark.x": "1"},
                "custom_tags": {"a": "b"},
                "autoscale": {"min_workers": 1, "max_workers": 4},
            }
        },
        {"existing_cluster_id": "0101-123456-abcdef"},
    ],
)
def test_job_settings_load_into_the_sdk_without_loss(specs: tuple[NotebookSpec, ...], compute: dict[str, Any]) -> None:
    doc = job_settings(
        specs,
        "demo",
        parameters={"env": "dev"},
        tags={"team": "data"},
        email_on_failure=["team@x.com"],
        notebook_path_prefix="/Workspace",
        **compute,
    )
    assert _sdk_round_trip(doc) == doc
    assert json.loads(json.dumps(doc)) == doc  # plain JSON, ready for POST /api/2.1/jobs/create


def test_sdk_objects_carry_the_typed_values(specs: tuple[NotebookSpec, ...]) -> None:
    settings = JobSettings.from_dict(job_settings(specs, "demo", cluster=CLUSTER))
    ingest, clean = settings.tasks[0], settings.tasks[1]
    assert ingest.notebook_task.source == Source.WORKSPACE
    assert ingest.notebook_task.base_parameters["Orders_out"] == specs[0].outputs[0].path
    assert ingest.max_retries == 2 and ingest.min_retry_interval_millis == 30_000
    assert clean.depends_on[0].task_key == "proj__ingest" and clean.run_if == RunIf.ALL_SUCCESS
    assert settings.job_clusters[0].new_cluster.spark_version == CLUSTER["spark_version"]
    assert settings.job_clusters[0].new_cluster.num_workers == 2


# ---- bundle YAML -----------------------------------------------------------------------------
@pytest.mark.parametrize("compute", [{}, {"cluster": CLUSTER}, {"existing_cluster_id": "0101-1"}])
def test_bundle_yaml_holds_the_same_job(specs: tuple[NotebookSpec, ...], compute: dict[str, Any]) -> None:
    options = dict(parameters={"env": "dev"}, tags={"team": "data"}, email_on_failure=["team@x.com"], **compute)
    loaded = yaml.safe_load(bundle_yaml(specs, "dtflw demo", **options))
    assert set(loaded) == {"resources"}
    job = loaded["resources"]["jobs"]["dtflw_demo"]
    expected = job_settings(specs, "dtflw demo", **options)
    assert job == expected
    assert _sdk_round_trip(job) == expected


def test_bundle_yaml_keys_and_bundle_section(specs: tuple[NotebookSpec, ...]) -> None:
    loaded = yaml.safe_load(bundle_yaml(specs, "9 lives: daily", include_bundle=True))
    assert loaded["bundle"] == {"name": "job_9_lives_daily"}
    assert list(loaded["resources"]["jobs"]) == ["job_9_lives_daily"]
    loaded = yaml.safe_load(
        bundle_yaml(specs, "x", resource_key="sales_daily", include_bundle=True, bundle_name="sales")
    )
    assert loaded["bundle"] == {"name": "sales"}
    assert loaded["resources"]["jobs"]["sales_daily"]["name"] == "x"


@pytest.mark.parametrize("key", ["", "1abc", "a b", "a.b", 3])
def test_bad_resource_key_is_rejected(specs: tuple[NotebookSpec, ...], key: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="resource_key"):
        bundle_yaml(specs, "x", resource_key=key)


def test_bundle_yaml_with_nasty_argument_values(tmp_path: Path) -> None:
    flow = _flow(tmp_path)
    args = {f"arg{i}": value for i, value in enumerate(NASTY)}
    args.update({"on": "yes", "null": "~", "Yes": "no", "key:colon": "x", "#hash": "#"})
    flow.notebook("odd@name:1#x").args(args).output("Out").add()
    options = dict(tags={"t: x": "# y", "ünï": "çødé"}, parameters={"p": 'multi\n"line"'})
    text = bundle_yaml(flow.specs, 'job "quoted": #1 ✓', include_bundle=True, **options)
    job = yaml.safe_load(text)["resources"]["jobs"]["job_quoted_1"]
    expected = job_settings(flow.specs, 'job "quoted": #1 ✓', **options)
    assert job == expected
    assert job["tasks"][0]["notebook_task"]["base_parameters"] == flow.specs[0].widget_values()
    assert _sdk_round_trip(job) == expected


@pytest.mark.parametrize("value", NASTY)
def test_yaml_emitter_round_trips_nasty_strings(value: str) -> None:
    doc = {"value": value, value or "empty": [value, {value or "k": value}], "list": [[value], []]}
    text = to_yaml(doc)
    assert yaml.safe_load(text) == doc
    assert to_yaml({"value": value}).count("\n") == 1  # a string is always one double-quoted line


@pytest.mark.parametrize("value", [0, -7, 10**20, 0.5, 1e20, -1.5e-7, 3.0, True, False, None, {}, []])
def test_yaml_emitter_keeps_scalar_types(value: Any) -> None:
    doc = {"v": value, "in_list": [value]}
    assert yaml.safe_load(to_yaml(doc)) == doc
    loaded = yaml.safe_load(to_yaml(doc))["v"]
    assert type(loaded) is type(value)


def test_yaml_emitter_rejects_what_it_cannot_write() -> None:
    with pytest.raises(InvalidArgumentError, match="keys must be strings"):
        to_yaml({1: "x"})
    with pytest.raises(InvalidArgumentError, match="Cannot write"):
        to_yaml({"x": object()})
    with pytest.raises(InvalidArgumentError, match="finite"):
        to_yaml({"x": float("inf")})
    assert to_yaml({}) == "{}\n"
