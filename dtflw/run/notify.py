"""Notifications: post a flow's outcome to a Slack or Teams incoming webhook.

    flow.on("flow_end", WebhookNotifier(url))            # failures only (default)
    WebhookNotifier(url, on=("start", "success", "failure")).attach(flow)

The JSON body is `{"text": ...}`, which both Slack and Teams incoming webhooks accept. Standard
library HTTP only. The webhook URL carries its token, so it is never logged or shown in full.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

from dtflw.errors import InvalidArgumentError
from dtflw.model.results import FlowRunResult
from dtflw.model.status import FlowEventName
from dtflw.run.events import FlowEvent


class HookTarget(Protocol):
    """Anything with `on(event, callback)`, e.g. a `Flow`."""

    def on(self, event: str, callback: Callable[[FlowEvent], Any]) -> None: ...


NOTIFY_ON = ("start", "success", "failure")


class WebhookNotifier:
    """Posts `{"text": ...}` to `url` when a flow starts, succeeds or fails (as chosen in `on`)."""

    def __init__(self, url: str, on: Sequence[str] = ("failure",), timeout_seconds: float = 10.0) -> None:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidArgumentError("WebhookNotifier url must be an http(s) URL.")
        chosen = (on,) if isinstance(on, str) else tuple(on)
        unknown = [o for o in chosen if o not in NOTIFY_ON]
        if unknown or not chosen:
            raise InvalidArgumentError(f"WebhookNotifier on={on!r}: expected some of {', '.join(NOTIFY_ON)}.")
        self._url = url
        self.on = chosen
        self.timeout_seconds = timeout_seconds

    def __repr__(self) -> str:
        parts = urlsplit(self._url)
        return f"WebhookNotifier(url='{parts.scheme}://{parts.netloc}/…', on={self.on!r})"

    def attach(self, flow: HookTarget) -> WebhookNotifier:
        """Register on the events this notifier cares about."""
        if "start" in self.on:
            flow.on(FlowEventName.FLOW_START, self)
        if "success" in self.on or "failure" in self.on:
            flow.on(FlowEventName.FLOW_END, self)
        return self

    def __call__(self, event: FlowEvent) -> None:
        text = self.message(event)
        if text is not None:
            self.post({"text": text})

    def message(self, event: FlowEvent) -> str | None:
        """The text for `event`, or None when this notifier stays silent about it."""
        if event.name is FlowEventName.FLOW_START and "start" in self.on:
            return f"dtflw: flow '{event.flow}' started (run {event.run_id})."
        if event.name is not FlowEventName.FLOW_END or not isinstance(event.result, FlowRunResult):
            return None
        result = event.result
        if result.ok and "success" in self.on:
            return f"dtflw: flow '{event.flow}' succeeded (run {event.run_id}, {len(result)} notebooks)."
        if not result.ok and "failure" in self.on:
            lines = [f"• {r.notebook}: {r.error}" for r in result.failed]
            blocked = [r.notebook for r in result.upstream_failed]
            tail = [f"Not run (upstream failed): {', '.join(blocked)}"] if blocked else []
            return "\n".join([f"dtflw: flow '{event.flow}' FAILED (run {event.run_id})", *lines, *tail])
        return None

    def post(self, payload: dict[str, Any]) -> None:
        """POST JSON; a non-2xx answer or a network error raises (the hook runner logs it)."""
        request = urllib.request.Request(
            self._url,
            data=json.dumps(payload).encode("utf-8"),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310 - http(s) checked
                response.read()
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"Webhook answered HTTP {error.code}") from None
        except urllib.error.URLError as error:
            raise RuntimeError(f"Webhook not reachable: {error.reason}") from None
