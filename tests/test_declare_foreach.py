"""For-each notebooks, backfills and the partition sensor, on FakeDbutils (no Spark)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from dtflw import Logger, init_flow
from dtflw.cli import main as cli_main
from dtflw.errors import FlowDefinitionError, FlowRunError, InvalidArgumentError
from dtflw.model.foreach import date_range, param_sets, parse_backfill, values_in
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils, writes_outputs
from tests.concurrency_probe import Concurrency

DAYS = ["2024-01-01", "2024-01-02", "2024-01-03"]


class Calls:
    """Handlers that stub outputs, failing for the (notebook, date) pairs in `fail`; the calls
    made are FakeDbutils' own record (`dbutils.notebook.calls`)."""

    def __init__(self, dbutils: FakeDbutils, *names: str) -> None:
        self.fail: set[tuple[str, str]] = set()
        self._dbutils = dbutils
        stub = writes_outputs()
        for name in names:

            def handler(args: dict[str, str], name: str = name) -> Any:
                if (name, args.get("date", "")) in self.fail:
                    raise RuntimeError(f"{name} failed for {args.get('date')}")
                return stub(args)

            dbutils.notebook.register(name, handler)

    @property
    def calls(self) -> list[tuple[str, dict[str, str]]]:
        return [(c.path, c.arguments) for c in self._dbutils.notebook.calls]

    def clear(self) -> None:
        self._dbutils.notebook.calls.clear()

    def of(self, name: str) -> list[dict[str, str]]:
        return [args for n, args in self.calls if n == name]


@pytest.fixture
def dbutils(tmp_path: Path) -> FakeDbutils:
    return FakeDbutils(fs_root=tmp_path / "dbfs")


def new_flow(tmp_path: Path, dbutils: FakeDbutils) -> Any:
    return init_flow(LocalStorage(tmp_path / "t"), dbutils=dbutils, logger=Logger("silent"), name="daily")


# ---- parameter sets, dates, backfill text -------------------------------------------------------


def test_param_sets_grid_list_and_errors() -> None:
    grid = param_sets((), {"date": [dt.date(2024, 1, 1), "2024-01-02"], "country": ["DE", "FR"]}, "nb")
    assert grid == [
        {"date": "2024-01-01", "country": "DE"},
        {"date": "2024-01-01", "country": "FR"},
        {"date": "2024-01-02", "country": "DE"},
        {"date": "2024-01-02", "country": "FR"},
    ]
    assert param_sets(({"n": 1}, {"n": 2}), {}, "nb") == [{"n": "1"}, {"n": "2"}]
    for sets, grid_, message in [
        ((), {"date": []}, "has no values"),
        ((), {"date": "2024-01-01"}, "takes a list of values"),
        ((), {"date": ["a/b"]}, "cannot name a partition"),
        ((), {"date": [".."]}, "cannot name a partition"),
        ((), {"bad name": ["x"]}, "is invalid"),
        (({"a": "1"}, {"b": "2"}), {}, "must name the same parameters"),
        (({"a": "1"}, {"a": "1"}), {}, "is given twice"),
        (({"a": "1"},), {"b": ["2"]}, "not both"),
        ((), {"d": [None]}, "non-empty strings"),
    ]:
        with pytest.raises(FlowDefinitionError, match=message):
            param_sets(sets, grid_, "nb")


def test_date_range_and_backfill_text() -> None:
    assert date_range("2024-01-30", "2024-02-02") == ["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"]
    assert date_range("2024-01-01", "2024-01-20", "1w") == ["2024-01-01", "2024-01-08", "2024-01-15"]
    assert date_range("2024-01-31", "2024-04-30", "1mo") == ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"]
    assert parse_backfill("date=2024-01-01..2024-01-03") == {"date": DAYS}
    assert parse_backfill("country=DE, FR") == {"country": ["DE", "FR"]}
    for bad in ("date", "=x", "date=2024-01-05..2024-01-01", "date=2024-13-01..2024-12-31"):
        with pytest.raises(FlowDefinitionError):
            parse_backfill(bad)
    with pytest.raises(FlowDefinitionError, match="step must look like"):
        date_range("2024-01-01", "2024-01-02", "1y")
    assert values_in("/r/orders_{date}.csv", "date", "/r/orders_2024-01-01.csv") == "2024-01-01"
    assert values_in("/r/date={date}", "date", "/r/other") is None


# ---- for-each notebooks -------------------------------------------------------------------------


def test_for_each_iterations_paths_and_inputs(tmp_path: Path, dbutils: FakeDbutils) -> None:
    calls = Calls(dbutils, "ingest", "clean", "report")
    for country in ("DE", "FR"):
        for day in DAYS[:2]:
            (tmp_path / "t" / "raw" / country).mkdir(parents=True, exist_ok=True)
            (tmp_path / "t" / "raw" / country / f"{day}.csv").write_text("id\n1\n")
    flow = new_flow(tmp_path, dbutils)
    flow.notebook("ingest").args({"date": "ignored", "env": "dev"}).for_each(date=DAYS[:2], country=["DE", "FR"]).input(
        "Raw", file_path="raw/{country}/{date}.csv"
    ).output("Orders").add()
    flow.notebook("clean").for_each(date=DAYS[:2]).input("Orders").output("Clean", file_path="clean/{date}").add()
    flow.notebook("report").input("Clean").add()
    result = flow.run(max_workers=4)
    assert len(result) == 7 and result.ok
    base = str(tmp_path / "t")
    ingest = {(a["date"], a["country"]): a for a in calls.of("ingest")}
    assert ingest[("2024-01-02", "FR")] == {
        "date": "2024-01-02",
        "country": "FR",
        "env": "dev",
        "Raw_in": f"{base}/raw/FR/2024-01-02.csv",
        "Orders_out": f"{base}/project/ingest/Orders.parquet/date=2024-01-02/country=FR",
    }
    clean = {a["date"]: a for a in calls.of("clean")}
    assert clean["2024-01-01"]["Orders_in"] == f"{base}/project/ingest/Orders.parquet/date=2024-01-01"  # both countries
    assert clean["2024-01-01"]["Clean_out"] == f"{base}/clean/2024-01-01"
    assert calls.of("report") == [{"Clean_in": f"{base}/clean/*"}]
    order = [(n, a.get("date")) for n, a in calls.calls]
    assert order[-1] == ("report", None)
    for day in DAYS[:2]:  # a day's clean waits for that day's two ingests only
        assert order.index(("clean", day)) > max(i for i, item in enumerate(order) if item == ("ingest", day))
    labels = [r.notebook for r in result]
    assert "ingest[date=2024-01-01, country=DE]" in labels and "clean[date=2024-01-02]" in labels
    assert result["clean[date=2024-01-02]"].status.value == "succeeded"


def test_for_each_concurrency_limit(tmp_path: Path, dbutils: FakeDbutils) -> None:
    probe = Concurrency(pause=0.03)
    stub = writes_outputs()

    def slow(args: dict[str, str]) -> Any:
        with probe:
            pass
        return stub(args)

    dbutils.notebook.register("ingest", slow)
    flow = new_flow(tmp_path, dbutils)
    flow.notebook("ingest").for_each(n=list(range(10)), concurrency=2).output("T").add()
    assert flow.run(max_workers=8).ok
    assert probe.peak == 2


def test_for_each_is_declared_with_add(tmp_path: Path, dbutils: FakeDbutils) -> None:
    flow = new_flow(tmp_path, dbutils)
    with pytest.raises(FlowDefinitionError, match="declared with .add"):
        flow.notebook("ingest").for_each(date=DAYS).run()
    with pytest.raises(FlowDefinitionError, match="concurrency must be an int"):
        flow.notebook("ingest").for_each(date=DAYS, concurrency=-1)
    flow.notebook("x").output("T", file_path="t/{date}").add()
    with pytest.raises(FlowDefinitionError, match=r"has \{date\}, which nothing sets"):
        flow.run()


def test_iterations_are_lazy_retried_and_resumed_one_by_one(tmp_path: Path, dbutils: FakeDbutils) -> None:
    calls = Calls(dbutils, "ingest")
    calls.fail.add(("ingest", "2024-01-02"))
    with pytest.raises(FlowRunError) as caught:
        flow = new_flow(tmp_path, dbutils)
        flow.notebook("ingest").for_each(date=DAYS).output("Orders").add()
        flow.run()
    statuses = {r.notebook: r.status.value for r in caught.value.result}
    assert statuses["ingest[date=2024-01-02]"] == "failed" and statuses["ingest[date=2024-01-03]"] == "succeeded"
    calls.fail.clear()
    calls.clear()
    again = new_flow(tmp_path, dbutils)
    again.notebook("ingest").for_each(date=DAYS).output("Orders").add()
    assert again.run(resume="last").ok
    assert [a["date"] for a in calls.of("ingest")] == ["2024-01-02"]
    calls.clear()
    third = new_flow(tmp_path, dbutils)
    third.notebook("ingest").for_each(date=[*DAYS, "2024-01-04"]).output("Orders").add()
    assert third.run(lazy="auto").ok
    assert [a["date"] for a in calls.of("ingest")] == ["2024-01-04"]


# ---- backfills ----------------------------------------------------------------------------------


def declare_daily(flow: Any) -> None:
    flow.notebook("ingest").args({"date": "2024-01-01"}).input("Raw", file_path="raw/date={date}/orders.csv").output(
        "Orders"
    ).add()
    flow.notebook("clean").input("Orders").output("Clean").add()
    flow.notebook("report").input("Clean").add()


def land(tmp_path: Path, *days: str) -> None:
    for day in days:
        file = tmp_path / "t" / "raw" / f"date={day}" / "orders.csv"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text("id\n1\n")


def test_backfill_runs_each_value_and_skips_what_is_up_to_date(tmp_path: Path, dbutils: FakeDbutils) -> None:
    calls = Calls(dbutils, "ingest", "clean", "report")
    land(tmp_path, *DAYS)
    flow = new_flow(tmp_path, dbutils)
    declare_daily(flow)
    plan = flow.plan(params={"date": DAYS})
    assert len(plan) == 9 and len(plan.to_run) == 9
    result = flow.run(params={"date": date_range("2024-01-01", "2024-01-03")})
    assert result.ok and len(result) == 9
    base = str(tmp_path / "t")
    clean = {a["date"]: a for a in calls.of("clean")}
    assert clean["2024-01-02"] == {
        "date": "2024-01-02",
        "Orders_in": f"{base}/project/ingest/Orders.parquet/date=2024-01-02",
        "Clean_out": f"{base}/project/clean/Clean.parquet/date=2024-01-02",
    }
    assert {a["Raw_in"] for a in calls.of("ingest")} == {f"{base}/raw/date={d}/orders.csv" for d in DAYS}

    land(tmp_path, "2024-01-04")
    calls.clear()
    again = new_flow(tmp_path, dbutils)
    declare_daily(again)
    plan = again.plan(params={"date": [*DAYS, "2024-01-04"]})
    assert {d.notebook for d in plan.to_run} == {
        "ingest[date=2024-01-04]",
        "clean[date=2024-01-04]",
        "report[date=2024-01-04]",
    }
    again.run(params={"date": [*DAYS, "2024-01-04"]})
    assert sorted({a["date"] for _, a in calls.calls}) == ["2024-01-04"]


def test_partition_sensor_runs_only_new_values_in_order(tmp_path: Path, dbutils: FakeDbutils) -> None:
    calls = Calls(dbutils, "ingest", "clean", "report")
    land(tmp_path, "2024-01-02", "2024-01-01")
    flow = new_flow(tmp_path, dbutils)
    declare_daily(flow)
    assert flow.run(for_new_partitions_of="Raw", param="date", max_workers=1).ok
    assert [a["date"] for n, a in calls.calls if n == "ingest"] == ["2024-01-01", "2024-01-02"]

    calls.clear()
    nothing = new_flow(tmp_path, dbutils)
    declare_daily(nothing)
    assert len(nothing.run(for_new_partitions_of="Raw", param="date")) == 0 and calls.calls == []

    land(tmp_path, "2024-01-03")
    sensor = new_flow(tmp_path, dbutils)
    declare_daily(sensor)
    sensor.run(for_new_partitions_of="Raw", param="date")
    assert sorted({a["date"] for _, a in calls.calls}) == ["2024-01-03"]

    bad = new_flow(tmp_path, dbutils)
    declare_daily(bad)
    with pytest.raises(FlowDefinitionError, match="no notebook declares an input named 'Missing'"):
        bad.run(for_new_partitions_of="Missing", param="date")
    with pytest.raises(FlowDefinitionError, match=r"must hold the placeholder \{day\}"):
        bad.run(for_new_partitions_of="Raw", param="day")
    with pytest.raises(InvalidArgumentError, match="pass both"):
        bad.run(param="date")


def test_lineage_draws_a_group_as_one_node(tmp_path: Path, dbutils: FakeDbutils) -> None:
    Calls(dbutils, "ingest", "clean", "report")
    flow = new_flow(tmp_path, dbutils)
    flow.notebook("ingest").for_each(date=DAYS).output("Orders").add()
    flow.notebook("report").input("Orders").add()
    flow.run()
    graph = flow.graph()
    labels = sorted(n.label for n in graph.notebooks)
    assert labels == ["ingest ×3", "report"]
    assert [n.status for n in graph.notebooks] == ["succeeded", "succeeded"]
    assert len(graph.tables) == 1 and graph.tables[0].path.endswith("/Orders.parquet")


def test_cli_backfill_plan_and_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    driver = tmp_path / "proj" / "driver.py"
    driver.parent.mkdir()
    driver.write_text(
        "# Databricks notebook source\n"
        "from dtflw import init_flow\nfrom dtflw.storage.dbfs import init_storage\n"
        "flow = init_flow(init_storage(), name='d')\n"
        "flow.notebook('ingest').output('Orders').add()\n"
        "flow.run()\n"
    )
    dbfs = ["--dbfs-root", str(tmp_path / "dbfs")]
    assert cli_main(["plan", str(driver), "--backfill", "date=2024-01-01..2024-01-03", "--step", "2d", *dbfs]) == 0
    out = capsys.readouterr().out
    assert "ingest[date=2024-01-01]" in out and "ingest[date=2024-01-03]" in out and "2024-01-02" not in out
    assert cli_main(["run", str(driver), "--backfill", "date=2024-01-05..2024-01-01", *dbfs, "--report", ""]) == 2
    err = capsys.readouterr().err
    assert "--backfill 'date=2024-01-05..2024-01-01'" in err and "before start" in err and "Traceback" not in err


def test_cli_run_backfill_runs_each_value_then_only_new_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "driver.py").write_text(
        "# Databricks notebook source\n"
        "from dtflw import init_flow\nfrom dtflw.storage.dbfs import init_storage\n"
        "flow = init_flow(init_storage(), name='d')\n"
        "flow.notebook('day').args({'date': ''}).output('Orders').add()\n"
        "result = flow.run()\n"
        "dbutils.notebook.exit(','.join(r.notebook for r in result if r.status.value == 'succeeded'))\n"
    )
    (proj / "day.py").write_text(
        "# Databricks notebook source\n"
        "out = dbutils.widgets.get('Orders_out')\n"
        "dbutils.fs.put(out + '/part-0.csv', dbutils.widgets.get('date'), True)\n"
    )
    args = ["run", str(proj / "driver.py"), "--dbfs-root", str(tmp_path / "dbfs"), "--report", ""]
    assert cli_main([*args, "--backfill", "date=2024-01-01..2024-01-02"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "day[date=2024-01-01],day[date=2024-01-02]"
    assert cli_main([*args, "--backfill", "date=2024-01-01..2024-01-03"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "day[date=2024-01-03]"


# ---- hostile iteration values (second round of probing) --------------------------------------------
@pytest.fixture
def plain_flow(tmp_path: Path):
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs", secrets={"kv": {"pw": "Zq9SecretVal77"}})
    dbutils.notebook.register("ingest", writes_outputs())
    return init_flow(LocalStorage(tmp_path / "tables"), dbutils=dbutils, logger=Logger("silent")), dbutils


def test_secrets_are_never_iteration_values(plain_flow):
    flow, dbutils = plain_flow
    secret = dbutils.secrets.get("kv", "pw")
    for bad in ({"day": [secret, "x"]}, {"password": ["a", "b"]}, {"conn": ["AccountKey=abc;x"]}):
        with pytest.raises(FlowDefinitionError, match="holds a secret") as info:
            flow.notebook("ingest").output("O").for_each(**bad)
        assert secret not in str(info.value) and "abc" not in str(info.value)
    flow.notebook("ingest").output("O").add()
    with pytest.raises(FlowDefinitionError, match="holds a secret"):
        flow.run(params={"day": [secret]})
    assert dbutils.notebook.calls == []


@pytest.mark.parametrize("value", ["v*", "a?b", "[ab]", "{d}", "x}"])
def test_glob_and_template_characters_are_refused_as_values(plain_flow, value):
    flow, _ = plain_flow
    with pytest.raises(FlowDefinitionError, match="cannot name a partition"):
        flow.notebook("ingest").output("O").for_each(d=[value])


def test_a_huge_grid_is_refused_before_it_is_built(plain_flow):
    flow, _ = plain_flow
    with pytest.raises(FlowDefinitionError, match="8,000,000 iterations"):
        flow.notebook("ingest").output("O").for_each(a=range(200), b=range(200), c=range(200))
    with pytest.raises(FlowDefinitionError, match="too large"):
        flow.notebook("ingest").output("O").for_each(d=[10**5000])


def test_iteration_keys_never_collide(plain_flow):
    from dtflw.model.dag import task_keys

    flow, _ = plain_flow
    flow.notebook("ingest").output("O").for_each(city=["München", "Mänchen", "a b", "a_b", "a.b"]).add()
    flow.notebook("ingest__city_a_b").output("P").add()  # named like an iteration's key
    keys = list(task_keys(flow._specs).values())
    assert len(set(keys)) == len(keys)
    assert "project__ingest__city_a_b" in keys  # a value that loses nothing keeps its plain key


def test_parameters_may_not_set_an_input_or_output_widget(plain_flow):
    flow, _ = plain_flow
    with pytest.raises(FlowDefinitionError, match="parameter 'O_out' would set the widget"):
        flow.notebook("ingest").output("O").for_each(O_out=["x"]).add()
    flow.notebook("ingest").output("O").add()
    with pytest.raises(FlowDefinitionError, match="parameter 'O_out'"):
        flow.run(params={"O_out": ["x"]})


def test_the_partition_sensor_and_params_are_not_combined(plain_flow):
    flow, _ = plain_flow
    flow.notebook("ingest").output("O").add()
    with pytest.raises(InvalidArgumentError, match="not both"):
        flow.run(for_new_partitions_of="O", param="date", params={"date": ["2024-01-01"]})


def test_dates_run_up_to_the_end_of_the_calendar():
    assert date_range("9999-12-31", "9999-12-31") == ["9999-12-31"]
    assert date_range("9999-12-01", "9999-12-31", "1mo") == ["9999-12-01"]
    assert date_range("9999-11-30", "9999-12-31", "1mo") == ["9999-11-30", "9999-12-30"]
    assert date_range("2024-01-01", "2024-01-10", "999999999d") == ["2024-01-01"]
    assert parse_backfill("c=DE,FR") == {"c": ["DE", "FR"]}
    with pytest.raises(FlowDefinitionError, match="cannot name a partition"):
        parse_backfill("x=../a,b")  # a list, not a date range


def test_parameter_name_errors_name_the_notebook_once(plain_flow):
    flow, _ = plain_flow
    with pytest.raises(FlowDefinitionError, match="^Notebook 'ingest': Parameter name 'a b'"):
        flow.notebook("ingest").output("O").for_each(**{"a b": ["x"]})
