"""init_args / init_inputs / init_outputs read widgets the way 0.6.x did."""

from __future__ import annotations

import pytest

import dtflw
from dtflw.declare.callee import Arg, Input, Output, share_arguments, shared_arguments
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
    assert repr(Output("T", "/x")) == "Output(name='T', value='/x')"
    assert Input("T", "").widget_name == "T_in"


@pytest.mark.parametrize("bad", [("",), ("a b",), ({"a": 1},), (None,)])
def test_bad_names_and_defaults(fake_dbutils, bad):
    with pytest.raises(InvalidArgumentError):
        dtflw.init_args(*bad)


def test_shared_arguments_round_trip_without_spark():
    share_arguments("/Users/u/p/nb", {"a": "1", "T_in": "/x"})
    assert shared_arguments("/Users/u/p/nb") == {"a": "1", "T_in": "/x"}
    assert shared_arguments("/Users/u/p/other") == {}


def test_passed_values_win_over_shared_ones(fake_dbutils):
    share_arguments("/Users/user@example.com/project/nb", {"year": "1999"})
    fake_dbutils.notebook.register("nb", lambda _: dtflw.init_args("year")["year"].value)
    assert fake_dbutils.notebook.run("nb", 0, {"year": "2022"}) == "2022"
    assert fake_dbutils.notebook.run("nb", 0, {}) == "1999"
