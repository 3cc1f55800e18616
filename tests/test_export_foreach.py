"""Jobs export of for-each notebooks, schedules, triggers and job parameters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from databricks.sdk.service.jobs import JobSettings

from dtflw import Logger, init_flow
from dtflw.errors import InvalidArgumentError
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils

DAYS = ["2024-01-01", "2024-01-02"]


@pytest.fixture
def flow(tmp_path: Path) -> Any:
    flow = init_flow(
        LocalStorage(tmp_path / "t"), dbutils=FakeDbutils(fs_root=tmp_path / "dbfs"), logger=Logger("silent"), name="d"
    )
    flow.notebook("ingest").args({"date": "x", "env": "dev"}).for_each(date=DAYS, concurrency=3).input(
        "Raw", file_path="raw/date={date}/orders.csv"
    ).output("Orders").add()
    flow.notebook("clean").for_each(date=DAYS).input("Orders").output("Clean", file_path="clean/{date}").add()
    flow.notebook("report").args({"env": "dev"}).input("Clean").add()
    return flow


def test_a_group_is_one_for_each_task(flow: Any, tmp_path: Path) -> None:
    doc = flow.to_job("daily", job_parameters={"env": "prod"})
    assert JobSettings.from_dict(doc).as_dict() == doc  # every field is one the Jobs API knows
    base = str(tmp_path / "t")
    ingest, clean, report = doc["tasks"]
    assert ingest["task_key"] == "project__ingest" and "notebook_task" not in ingest
    each = ingest["for_each_task"]
    assert json.loads(each["inputs"]) == [{"date": d} for d in DAYS] and each["concurrency"] == 3
    assert each["task"]["task_key"] == "project__ingest_iteration"
    assert each["task"]["notebook_task"]["base_parameters"] == {
        "date": "{{input.date}}",
        "env": "{{job.parameters.env}}",
        "Raw_in": f"{base}/raw/date={{{{input.date}}}}/orders.csv",
        "Orders_out": f"{base}/project/ingest/Orders.parquet/date={{{{input.date}}}}",
    }
    assert clean["depends_on"] == [{"task_key": "project__ingest"}]
    assert clean["for_each_task"]["concurrency"] == 100  # no limit given: the Jobs API maximum
    assert clean["for_each_task"]["task"]["notebook_task"]["base_parameters"] == {
        "date": "{{input.date}}",
        "Orders_in": f"{base}/project/ingest/Orders.parquet/date={{{{input.date}}}}",
        "Clean_out": f"{base}/clean/{{{{input.date}}}}",
    }
    assert report["depends_on"] == [{"task_key": "project__clean"}]
    assert report["notebook_task"]["base_parameters"] == {
        "env": "{{job.parameters.env}}",
        "Clean_in": f"{base}/clean/*",
    }
    assert doc["parameters"] == [{"name": "env", "default": "prod"}]


def test_schedule_and_triggers(flow: Any) -> None:
    doc = flow.to_job("daily", schedule="0 0 2 * * ?", timezone="Europe/Berlin")
    assert doc["schedule"] == {
        "quartz_cron_expression": "0 0 2 * * ?",
        "timezone_id": "Europe/Berlin",
        "pause_status": "UNPAUSED",
    }
    assert JobSettings.from_dict(doc).as_dict() == doc
    for trigger in (
        {"file_arrival": {"url": "abfss://raw@acct.dfs.core.windows.net/orders/"}},
        {"table_update": {"table_names": ["main.raw.orders"]}},
    ):
        doc = flow.to_job("daily", trigger=trigger)
        assert doc["trigger"] == {**trigger, "pause_status": "UNPAUSED"}
        assert JobSettings.from_dict(doc).as_dict() == doc
    for kwargs, message in [
        ({"schedule": "0 2 * * *"}, "Quartz cron expression"),
        ({"schedule": "0 0 2 * * ?", "timezone": ""}, "time zone id"),
        ({"schedule": "0 0 2 * * ?", "trigger": {"periodic": {"interval": 1, "unit": "DAYS"}}}, "not both"),
        ({"trigger": {"cron": {}}}, "trigger must be one of"),
        ({"trigger": {"file_arrival": {}}}, "needs its settings"),
        ({"trigger": {"file_arrival": {"url": " "}}}, "needs 'url'"),
        ({"trigger": {"table_update": {"table_names": "t"}}}, "needs 'table_names'"),
    ]:
        with pytest.raises(InvalidArgumentError, match=message):
            flow.to_job("daily", **kwargs)


def test_bundle_yaml_holds_the_for_each_task(flow: Any) -> None:
    text = flow.to_bundle_yaml("daily", bundle_root="/Users/user@example.com", schedule="0 0 2 * * ?")
    job = yaml.safe_load(text)["resources"]["jobs"]["daily"]
    nested = job["tasks"][0]["for_each_task"]["task"]["notebook_task"]
    assert nested["notebook_path"] == "./project/ingest.py"
    assert job["schedule"]["quartz_cron_expression"] == "0 0 2 * * ?"
