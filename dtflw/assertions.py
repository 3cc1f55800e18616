"""`dtflw.assertions`: dtflw 0.6.x's `assert_schema_compatible`, on top of `dtflw.model.schema`."""

from __future__ import annotations

from collections.abc import Sequence

from dtflw.errors import InvalidArgumentError
from dtflw.model.schema import to_schema


def assert_schema_compatible(
    actual_dtypes: Sequence[tuple[str, str]], expected_dtypes: Sequence[tuple[str, str | None]], is_strict: bool = False
) -> None:
    """Raise AssertionError (one line per problem) when `actual_dtypes` (`DataFrame.dtypes`) lacks
    or mistypes an expected column; with `is_strict`, also when it has columns not expected.
    A `None` type matches any type; an `int` column passes where `bigint` is expected."""
    if actual_dtypes is None or expected_dtypes is None:
        raise InvalidArgumentError("actual_dtypes and expected_dtypes must not be None.")
    schema = to_schema(list(expected_dtypes))
    if schema is None:
        return
    diff = schema.diff(actual_dtypes, strict=is_strict)
    errors = [f"Column '{name}' is not present in the table." for name in diff.missing]
    errors += [
        f"Column's '{name}' expected type is '{want}' but '{got}' is given." for name, want, got in diff.mistyped
    ]
    if diff.extra:
        errors.append(f"Additional columns were present in the table. Columns: {list(diff.extra)}")
    if errors:
        raise AssertionError("\n".join(errors))


__all__ = ["assert_schema_compatible"]
