"""init_args / init_inputs / init_outputs read widgets the way 0.6.x did."""

from __future__ import annotations

import pytest

import dtflw
from dtflw.declare.callee import Arg, Argument, Input, Output, share_arguments, shared_arguments
from dtflw.errors import InvalidArgumentError


def test_values_come_from_passed_widgets(fake_dbutils):
    def callee(_):
        args = dtflw.init_args("year", "region")
        ins = dtflw.init_inputs("Orders")
        outs = dtflw.init_outputs({"Stats": ""})
        return "|".join(
            [
                args["year"].value,
                str(args["region"].has_value),
                ins["Orders"].value,
                str(ins["Orders"].has_value),
                outs["Stats"].value,
                str(outs["Stats"].hasValue),
            ]
        )

    fake_dbutils.notebook.register("nb", callee)
    out = fake_dbutils.notebook.run("nb", 0, {"year": "2022", "Orders_in": "/p/O", "Stats_out": ""})
    assert out == "2022|True|/p/O|True||False"


def test_defaults_apply_when_nothing_was_passed(fake_dbutils):
    args = dtflw.init_args({"year": "2020"})
    assert args["year"].value == "2020" and str(args["year"]) == "2020"
    assert fake_dbutils.widgets.get("year") == "2020"
    ins = dtflw.init_inputs("Raw")
    assert ins["Raw"].value == "" and not ins["Raw"].has_value
    assert fake_dbutils.widgets.get("Raw_in") == ""


def test_types_and_equality():
    assert Arg("a", "1") == Arg("a", "1") and Arg("a", "1") != Input("a", "1")
    assert repr(Output("T", "/x")) == "/x" and str(Output("T", "/x")) == "/x"  # as in 0.6.x
    assert f"{Argument('year', '2022')}" == "2022"
    assert Input("T", "").widget_name == "T_in" and Output.get_full_name("T") == "T_out"
    with pytest.raises(InvalidArgumentError, match="value must be a string"):
        Argument("a", 1)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        Argument("a", "1").value = "2"  # type: ignore[misc]


@pytest.mark.parametrize("bad", [("",), ("a b",), ({"": "x"},), (None,), ({1: "x"},)])
def test_bad_names(fake_dbutils, bad):
    with pytest.raises(InvalidArgumentError):
        dtflw.init_args(*bad)


def test_non_string_defaults_are_stringified_as_in_0_6(fake_dbutils):
    args = dtflw.init_args({"year": 2023, "ratio": 0.5, "flag": True, "none": None})
    assert {k: v.value for k, v in args.items()} == {"year": "2023", "ratio": "0.5", "flag": "True", "none": ""}
    assert fake_dbutils.widgets.get("year") == "2023"
    assert dtflw.init_inputs({"Orders": 7})["Orders"].value == "7"
    assert Argument.create({"x": 1})["x"].value == "1" and isinstance(Output.create("T")["T"], Output)


def test_shared_arguments_round_trip_without_spark():
    share_arguments("/Users/u/p/nb", {"a": "1", "T_in": "/x"})
    assert shared_arguments("/Users/u/p/nb") == {"a": "1", "T_in": "/x"}
    assert shared_arguments("/Users/u/p/other") == {}


def test_passed_values_win_over_shared_ones(fake_dbutils):
    share_arguments("/Users/user@example.com/project/nb", {"year": "1999"})
    fake_dbutils.notebook.register("nb", lambda _: dtflw.init_args("year")["year"].value)
    assert fake_dbutils.notebook.run("nb", 0, {"year": "2022"}) == "2022"
    assert fake_dbutils.notebook.run("nb", 0, {}) == "1999"
