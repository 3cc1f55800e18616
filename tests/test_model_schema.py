"""Expected-column specs and the loose/strict comparison."""

from __future__ import annotations

import pytest

from dtflw.errors import InvalidArgumentError, SchemaMismatchError
from dtflw.model.schema import Schema, normalise_type, parse_ddl, to_schema

FOUND = [("id", "int"), ("name", "string"), ("price", "decimal(10,2)")]


def test_forms_are_equivalent():
    a = to_schema([("id", "int"), ("name", None)])
    b = to_schema("id INT, name STRING")
    assert a.columns == (("id", "int"), ("name", None))
    assert b.columns == (("id", "INT"), ("name", "STRING"))
    assert to_schema(None) is None
    assert to_schema(["id"]).columns == (("id", None),)
    assert to_schema(a) is a


def test_ddl_with_nested_types():
    assert parse_ddl("id INT, price DECIMAL(10, 2), tags ARRAY<STRING>, m MAP<STRING, INT>") == [
        ("id", "INT"),
        ("price", "DECIMAL(10, 2)"),
        ("tags", "ARRAY<STRING>"),
        ("m", "MAP<STRING, INT>"),
    ]
    assert normalise_type("DECIMAL(10, 2)") == "decimal(10,2)"
    assert normalise_type("INTEGER") == "int" and normalise_type("LONG") == "bigint"


def test_loose_and_strict_diff():
    schema = to_schema([("id", "int"), ("name", None), ("missing", None), ("price", "double")])
    loose = schema.diff(FOUND)
    assert loose.missing == ("missing",) and loose.extra == ()
    assert loose.mistyped == (("price", "double", "decimal(10,2)"),)
    strict = to_schema([("ID", "integer")]).diff(FOUND, strict=True)
    assert strict.missing == () and strict.mistyped == () and strict.extra == ("name", "price")
    assert to_schema("id int, name string, price decimal(10,2)").diff(FOUND, strict=True).ok


def test_struct_type_is_accepted():
    class DT:
        def __init__(self, s):
            self.s = s

        def simpleString(self):
            return self.s

    class F:
        def __init__(self, n, t):
            self.name, self.dataType = n, DT(t)

    class StructType:
        fields = [F("id", "int")]

        def simpleString(self):
            return "struct<id:int>"

    assert to_schema(StructType()) == Schema((("id", "int"),))


@pytest.mark.parametrize("bad", [42, [("id", 3)], [("", "int")], [("a", "b", "c")], "", "id"])
def test_bad_specs(bad):
    with pytest.raises(InvalidArgumentError):
        to_schema(bad)


def test_error_message_lists_everything():
    err = SchemaMismatchError("nb", "T", "/p/T", ["a"], ["b"], [("c", "int", "string")])
    text = str(err)
    assert "missing columns: a" in text and "unexpected columns: b" in text
    assert "c (expected int, found string)" in text and "'nb'" in text and "/p/T" in text
    assert isinstance(err, AssertionError)  # what dtflw 0.6.x raised for a schema mismatch


def test_an_int_column_passes_where_bigint_is_expected_as_in_0_6():
    schema = to_schema([("id", "bigint"), ("n", "int")])
    assert schema is not None
    assert schema.diff([("id", "int"), ("n", "int")]).ok
    assert schema.diff([("id", "bigint"), ("n", "bigint")]).mistyped == (("n", "int", "bigint"),)


def test_flow_checks_output_schema_loose_and_strict(local_flow, fake_dbutils, writes_outputs, mocker):
    """The flow reads the output's dtypes through the storage and compares them."""
    fake_dbutils.notebook.register("nb", writes_outputs())
    frame = mocker.Mock(dtypes=[("id", "int"), ("extra", "string")])
    mocker.patch.object(type(local_flow.ctx.storage), "read_table", return_value=frame)
    local_flow.notebook("nb").output("T", cols=[("id", "int")]).run()
    with pytest.raises(SchemaMismatchError, match="unexpected columns: extra"):
        local_flow.notebook("nb").output("T", cols=[("id", "int")]).run(strict_validation=True)
    with pytest.raises(SchemaMismatchError, match="missing columns: name"):
        local_flow.notebook("nb").output("T", cols="id INT, name STRING").run(is_lazy=True)
