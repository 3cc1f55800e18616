"""WebhookNotifier against a real local HTTP server; progress table rendering."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from dtflw import init_flow
from dtflw.errors import FlowRunError, InvalidArgumentError
from dtflw.run.notify import WebhookNotifier
from dtflw.run.progress import ProgressTable
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils, write_parquet_stub


@pytest.fixture
def webhook():
    """A local HTTP server recording JSON bodies; answers 200, or 500 for paths with 'fail'."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "json": json.loads(body), "type": self.headers["Content-Type"]})
            self.send_response(500 if "fail" in self.path else 200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def make_flow(tmp_path, fail: bool):
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")

    def nb(args):
        if fail:
            raise RuntimeError("no disk")
        write_parquet_stub(args["T_out"])

    dbutils.notebook.register("nb", nb)
    flow = init_flow(LocalStorage(tmp_path / "t"), dbutils=dbutils, name="notify-test")
    flow.notebook("nb").output("T").add()
    flow.notebook("after").input("T").add()
    dbutils.notebook.register("after", lambda a: None)
    return flow


def test_failure_is_posted_as_slack_and_teams_compatible_json(tmp_path, webhook):
    url, received = webhook
    flow = make_flow(tmp_path, fail=True)
    WebhookNotifier(url + "/hook/T000/B000/secret").attach(flow)
    with pytest.raises(FlowRunError):
        flow.run()
    (call,) = received
    text = call["json"]["text"]
    assert call["type"] == "application/json" and list(call["json"]) == ["text"]
    assert "notify-test" in text and "FAILED" in text and "nb: RuntimeError: no disk" in text
    assert "Not run (upstream failed): after" in text


def test_success_and_start_only_when_asked(tmp_path, webhook):
    url, received = webhook
    flow = make_flow(tmp_path, fail=False)
    WebhookNotifier(url + "/x").attach(flow)  # failures only: silent on success
    flow.run()
    assert received == []
    flow2 = make_flow(tmp_path / "2", fail=False)
    WebhookNotifier(url + "/y", on=("start", "success")).attach(flow2)
    flow2.run()
    assert [c["json"]["text"].split(" ")[3] for c in received] == ["started", "succeeded"]


def test_webhook_errors_are_logged_not_raised_and_url_is_not_shown(tmp_path, webhook, capsys):
    url, received = webhook
    flow = make_flow(tmp_path, fail=False)
    notifier = WebhookNotifier(url + "/fail/secret-token", on="success")
    flow.on("flow_end", notifier)
    assert flow.run().ok
    out = capsys.readouterr().out
    assert "HTTP 500" in out and "secret-token" not in out and "secret-token" not in repr(notifier)


def test_validation():
    for bad in ("ftp://x", "not a url", None):
        with pytest.raises(InvalidArgumentError):
            WebhookNotifier(bad)
    with pytest.raises(InvalidArgumentError):
        WebhookNotifier("https://hooks.example.invalid/x", on=("sometimes",))


def test_progress_table_tracks_states():
    from dtflw.model.results import NotebookResult
    from dtflw.run.events import FlowEvent

    table = ProgressTable(["a", "b"])
    table(FlowEvent("notebook_start", "r", "f", "a"))
    table(FlowEvent("notebook_end", "r", "f", "b", NotebookResult("b", "b", "failed", error="boom")))
    assert table.states == {"a": ("running", ""), "b": ("failed", "boom")}
    assert "boom" in table.to_html() and "running" in table.to_html()


class _Html:
    def __init__(self, data: str) -> None:
        self.data = data


class _Handle:
    def __init__(self) -> None:
        self.drawn: list[str] = []

    def update(self, obj: _Html) -> None:
        self.drawn.append(obj.data)


def test_progress_table_redraws_at_most_twice_a_second_and_always_at_the_end(monkeypatch):
    import sys
    import types

    from dtflw.model.results import NotebookResult
    from dtflw.run import progress
    from dtflw.run.events import FlowEvent

    display = types.ModuleType("IPython.display")  # the notebook kernel's HTML, as a stand-in
    display.HTML = _Html  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", types.ModuleType("IPython"))
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    handle = _Handle()
    monkeypatch.setattr(progress, "_display_handle", lambda: handle)
    names = [f"nb{i}" for i in range(300)]
    table = ProgressTable(names)
    for name in names:
        table(FlowEvent("notebook_start", "r", "f", name))
        table(FlowEvent("notebook_end", "r", "f", name, NotebookResult(name, name, "succeeded")))
    assert 1 <= len(handle.drawn) <= 3  # 600 events within well under a second
    table(FlowEvent("flow_end", "r", "f"))
    assert "succeeded: 300" in handle.drawn[-1]


def test_a_big_progress_table_counts_states_and_shows_the_rows_worth_a_look():
    from dtflw.model.results import NotebookResult
    from dtflw.run.events import FlowEvent
    from dtflw.run.progress import MAX_ROWS

    names = [f"nb{i}" for i in range(MAX_ROWS * 5)]
    table = ProgressTable(names)
    table(FlowEvent("notebook_end", "r", "f", "nb7", NotebookResult("nb7", "nb7", "failed", error="boom <b>")))
    table(FlowEvent("notebook_start", "r", "f", "nb8"))
    page = table.to_html()
    assert "failed: 1" in page and "running: 1" in page and f"waiting: {MAX_ROWS * 5 - 2:,}" in page
    assert "boom &lt;b&gt;" in page and ">nb8<" in page and ">nb9<" not in page
    assert page.count("<tr") == 3  # header, the failure and the running one
    small = ProgressTable(["a", "b"])
    assert small.to_html().count("<tr") == 3 and "waiting: " not in small.to_html()
