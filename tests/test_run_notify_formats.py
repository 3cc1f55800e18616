"""WebhookNotifier formats (Slack, Teams, Discord) against a real local HTTP server: JSON bodies,
run summary, failed and cancelled notebooks, the resume command, and no secrets in the body."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from dtflw import init_flow
from dtflw.errors import FlowRunError, InvalidArgumentError
from dtflw.model.results import FlowRunResult, NotebookResult
from dtflw.run.events import FlowEvent
from dtflw.run.notify import DISCORD_MAX_CHARS, WebhookNotifier, webhook_format
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils, write_parquet_stub

SECRET = "s3cr3t-VALUE-42"
KEY = "AccountKey=abcDEF123=="


@pytest.fixture
def server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """http.server on 127.0.0.1 in a thread, recording every POST (path, headers, JSON body)."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "type": self.headers["Content-Type"], "json": json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", received
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def failing_flow(tmp_path: Path) -> Any:
    """ok -> broken -> after: `broken` fails with a fetched secret and a connection key in its error."""
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs", secrets={"kv": {"pw": SECRET}})

    def broken(args: dict[str, str]) -> None:
        value = dbutils.secrets.get("kv", "pw")
        raise RuntimeError(f"login failed with {value}; {KEY}")

    dbutils.notebook.register("ok", lambda a: write_parquet_stub(a["A_out"]))
    dbutils.notebook.register("broken", broken)
    dbutils.notebook.register("after", lambda a: None)
    flow = init_flow(LocalStorage(tmp_path / "t"), dbutils=dbutils, name="nightly")
    flow.notebook("ok").output("A").add()
    flow.notebook("broken").input("A").output("B").add()
    flow.notebook("after").input("B").add()
    return flow


@pytest.mark.parametrize(
    ("fmt", "path", "key"),
    [
        ("slack", "/services/T000/B000/XXXX", "text"),
        ("teams", "/webhookb2/abc/IncomingWebhook/def", "text"),
        ("discord", "/api/webhooks/123/token", "content"),
    ],
)
def test_failure_body_per_format(tmp_path: Path, server: Any, fmt: str, path: str, key: str) -> None:
    url, received = server
    flow = failing_flow(tmp_path)
    WebhookNotifier(url + path, format=fmt).attach(flow)  # type: ignore[arg-type]
    with pytest.raises(FlowRunError) as info:
        flow.run()
    run_id = info.value.result.run_id

    (call,) = received
    body = call["json"]
    assert call["type"] == "application/json" and call["path"] == path
    if fmt == "discord":
        assert body == {"content": body["content"], "allowed_mentions": {"parse": []}}
    else:
        assert list(body) == ["text"]
    text = body[key]
    assert (
        text.splitlines()[0] == f"dtflw: flow 'nightly' FAILED (run {run_id}): 1 succeeded, 1 failed, 1 upstream_failed"
    )
    assert "• broken: RuntimeError: login failed with [REDACTED]" in text
    assert "Not run (upstream failed): after" in text
    assert f'Resume with: `flow.run(resume="{run_id}")`' in text
    raw = json.dumps(body)
    assert SECRET not in raw and "abcDEF123" not in raw  # fetched secret and connection key masked


def test_format_is_chosen_by_the_url() -> None:
    assert webhook_format("https://discord.com/api/webhooks/1/x") == "discord"
    assert webhook_format("https://discordapp.com/api/webhooks/1/x") == "discord"
    assert webhook_format("https://ptb.discord.com/api/webhooks/1/x") == "discord"
    assert webhook_format("https://hooks.slack.com/services/T/B/x") == "slack"
    assert webhook_format("https://x.webhook.office.com/webhookb2/a") == "slack"  # Teams takes {"text"}
    assert webhook_format("https://discord.com.evil.example/api/webhooks/1") == "slack"
    assert WebhookNotifier("https://discord.com/api/webhooks/1/x").format == "discord"
    assert WebhookNotifier("https://discord.com/api/webhooks/1/x", format="slack").format == "slack"
    notifier = WebhookNotifier("https://discord.com/api/webhooks/1/tok3n")
    assert "tok3n" not in repr(notifier) and "discord" in repr(notifier)
    with pytest.raises(InvalidArgumentError, match="format"):
        WebhookNotifier("https://hooks.example.invalid/x", format="email")  # type: ignore[arg-type]


def event_for(*results: NotebookResult, run_id: str = "20260101-000000-abcd") -> FlowEvent:
    return FlowEvent("flow_end", run_id, "nightly", result=FlowRunResult(run_id, results))


def test_cancelled_run_is_summarised_with_its_cancelled_notebooks(server: Any) -> None:
    url, received = server
    event = event_for(
        NotebookResult("a", "a", "succeeded"),
        NotebookResult("b", "b", "cancelled", reason="run interrupted while it ran; its outputs stay pending"),
        NotebookResult("c", "c", "cancelled", reason="run interrupted"),
    )
    WebhookNotifier(url + "/api/webhooks/1/t", format="discord")(event)
    WebhookNotifier(url + "/hook", on="success")(event)  # an interrupted run is no success
    (call,) = received
    text = call["json"]["content"]
    assert text.splitlines()[0] == (
        "dtflw: flow 'nightly' CANCELLED (interrupted) (run 20260101-000000-abcd): 1 succeeded, 2 cancelled"
    )
    assert "Cancelled: b, c" in text
    assert 'Resume with: `flow.run(resume="20260101-000000-abcd")`' in text


def test_success_summary_and_start_in_each_format(server: Any) -> None:
    url, received = server
    ok = event_for(NotebookResult("a", "a", "succeeded"), NotebookResult("b", "b", "skipped"))
    start = FlowEvent("flow_start", "r1", "nightly")
    for fmt in ("slack", "teams", "discord"):
        notifier = WebhookNotifier(url + "/" + fmt, on=("start", "success"), format=fmt)  # type: ignore[arg-type]
        notifier(start)
        notifier(ok)
    texts = [c["json"].get("text", c["json"].get("content")) for c in received]
    assert (
        texts
        == [
            "dtflw: flow 'nightly' started (run r1).",
            "dtflw: flow 'nightly' succeeded (run 20260101-000000-abcd, 1 succeeded, 1 skipped).",
        ]
        * 3
    )
    assert [list(c["json"])[0] for c in received] == ["text", "text", "text", "text", "content", "content"]


def test_long_discord_message_is_cut_to_the_limit(server: Any) -> None:
    url, received = server
    many = [NotebookResult(f"nb{i}", f"nb{i}", "failed", error="E" * 300) for i in range(30)]
    WebhookNotifier(url + "/api/webhooks/1/t", format="discord")(event_for(*many))
    WebhookNotifier(url + "/slack")(event_for(*many))
    discord, slack = (c["json"] for c in received)
    assert len(discord["content"]) == DISCORD_MAX_CHARS and discord["content"].endswith("…")
    assert "• … and 10 more" in slack["text"] and "Resume with" in slack["text"]
