"""dtflw.testing.secrets: every common encoding of a secret, to prove none reaches output."""

from __future__ import annotations

import base64
import json
import urllib.parse

from dtflw.testing.secrets import leaked_forms, secret_forms


def test_each_encoding_of_a_value_is_found_and_innocent_text_is_not() -> None:
    value = "p'a\"ss/é+"
    for shown in (
        value,
        repr(value),
        json.dumps(value),
        urllib.parse.quote(value, safe=""),
        base64.b64encode(value.encode()).decode(),
        f"{value!a}",
    ):
        assert leaked_forms(value, f"log: {shown} end"), shown
    assert leaked_forms(value, "nothing to see [REDACTED]") == []
    assert len(secret_forms("plain")) == len(set(secret_forms("plain")))  # no duplicates
