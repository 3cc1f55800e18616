"""Notifications: post a flow's outcome to a Slack, Microsoft Teams or Discord incoming webhook.

    flow.on("flow_end", WebhookNotifier(url))            # failures only (default)
    WebhookNotifier(url, on=("start", "success", "failure")).attach(flow)
    WebhookNotifier(discord_url)                          # Discord: chosen by the URL
    WebhookNotifier(url, format="teams")                  # or say which

Slack and Teams incoming webhooks take `{"text": ...}`; Discord webhooks take `{"content": ...}`
(sent with `"allowed_mentions": {"parse": []}` so an error text never pings `@everyone`, and cut
to Discord's 2000 characters). `format=None` picks "discord" for `discord.com/api/webhooks/...`
and `discordapp.com/api/webhooks/...` URLs, else "slack" (the `{"text": ...}` body Teams takes too).

A failure message has the run summary ("2 succeeded, 1 failed, 1 upstream_failed"), each failed
notebook with its (already redacted) error, the notebooks not run because of it, and the command
that resumes the run: `flow.run(resume="<run id>")`. A run stopped by Ctrl-C
(`dtflw.errors.FlowInterrupted`) is reported as CANCELLED, with its cancelled notebooks, when
"failure" is in `on`. Standard library HTTP only. The webhook URL carries its token, so it is never
logged or shown in full; credential-shaped text (connection strings, SAS tokens) is masked in
every message as a last line of defence.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from dtflw.errors import InvalidArgumentError
from dtflw.model.results import FlowRunResult
from dtflw.model.status import FlowEventName, RunStatus
from dtflw.redaction import mask_secret_patterns
from dtflw.run.events import FlowEvent


class HookTarget(Protocol):
    """Anything with `on(event, callback)`, e.g. a `Flow`."""

    def on(self, event: str, callback: Callable[[FlowEvent], Any]) -> None: ...


NOTIFY_ON = ("start", "success", "failure")
WebhookFormat = Literal["slack", "teams", "discord"]
FORMATS: tuple[str, ...] = ("slack", "teams", "discord")
DISCORD_HOSTS = ("discord.com", "discordapp.com")
DISCORD_MAX_CHARS = 2000  # Discord rejects longer `content`
LISTED = 20  # notebooks named per section of a message


def webhook_format(url: str) -> WebhookFormat:
    """ "discord" for a Discord webhook URL (`https://discord.com/api/webhooks/...`), else "slack"."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    on_discord = any(host == h or host.endswith("." + h) for h in DISCORD_HOSTS)
    return "discord" if on_discord and parts.path.startswith("/api/webhooks") else "slack"


class WebhookNotifier:
    """Posts a flow's start, success or failure (as chosen in `on`) to a chat webhook at `url`.

    `format`: "slack" or "teams" (`{"text": ...}`), "discord" (`{"content": ...}`), or None to
    choose by the URL (Discord webhook URLs are recognised; anything else gets `{"text": ...}`).
    """

    def __init__(
        self,
        url: str,
        on: Sequence[str] = ("failure",),
        timeout_seconds: float = 10.0,
        format: WebhookFormat | None = None,
    ) -> None:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidArgumentError("WebhookNotifier url must be an http(s) URL.")
        if not isinstance(on, (str, list, tuple, set, frozenset)):
            raise InvalidArgumentError(f"WebhookNotifier on={on!r}: expected some of {', '.join(NOTIFY_ON)}.")
        chosen = (on,) if isinstance(on, str) else tuple(on)
        unknown = [o for o in chosen if o not in NOTIFY_ON]
        if unknown or not chosen:
            raise InvalidArgumentError(f"WebhookNotifier on={on!r}: expected some of {', '.join(NOTIFY_ON)}.")
        if format is not None and format not in FORMATS:
            raise InvalidArgumentError(f"WebhookNotifier format={format!r}: expected one of {', '.join(FORMATS)}.")
        if (
            isinstance(timeout_seconds, bool)
            or not isinstance(timeout_seconds, (int, float))
            or not 0 < timeout_seconds <= 3600
        ):
            raise InvalidArgumentError(
                "WebhookNotifier timeout_seconds must be a number of seconds above 0, at most 3600, "
                f"got {timeout_seconds!r}."
            )
        self._url = url
        self.on = chosen
        self.timeout_seconds = timeout_seconds
        self.format: WebhookFormat = webhook_format(url) if format is None else format

    def __repr__(self) -> str:
        parts = urlsplit(self._url)
        return f"WebhookNotifier(url='{parts.scheme}://{parts.netloc}/…', on={self.on!r}, format={self.format!r})"

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
            self.post(self.payload(text))

    def payload(self, text: str) -> dict[str, Any]:
        """The JSON body for `text` in this notifier's format."""
        if self.format == "discord":
            if len(text) > DISCORD_MAX_CHARS:
                text = text[: DISCORD_MAX_CHARS - 1] + "…"
            return {"content": text, "allowed_mentions": {"parse": []}}
        return {"text": text}

    def message(self, event: FlowEvent) -> str | None:
        """The text for `event`, or None when this notifier stays silent about it."""
        text = self._message(event)
        return None if text is None else mask_secret_patterns(text)

    def _message(self, event: FlowEvent) -> str | None:
        if event.name is FlowEventName.FLOW_START and "start" in self.on:
            return f"dtflw: flow '{event.flow}' started (run {event.run_id})."
        if event.name is not FlowEventName.FLOW_END or not isinstance(event.result, FlowRunResult):
            return None
        result = event.result
        by_status = result.by_status()
        cancelled = by_status[RunStatus.CANCELLED]
        if result.ok and not cancelled:
            if "success" not in self.on:
                return None
            return f"dtflw: flow '{event.flow}' succeeded (run {event.run_id}, {summary(result)})."
        if "failure" not in self.on:
            return None
        outcome = "FAILED" if not result.ok else "CANCELLED (interrupted)"
        lines = [f"dtflw: flow '{event.flow}' {outcome} (run {event.run_id}): {summary(result)}"]
        lines += _listed([f"• {r.notebook}: {r.error or r.reason}" for r in result.failed])
        blocked = by_status[RunStatus.UPSTREAM_FAILED]
        if blocked:
            lines.append(f"Not run (upstream failed): {_names(blocked)}")
        if cancelled:
            lines.append(f"Cancelled: {_names(cancelled)}")
        lines.append(f'Resume with: `flow.run(resume="{event.run_id}")`')
        return "\n".join(lines)

    def post(self, payload: dict[str, Any]) -> None:
        """POST JSON; a non-2xx answer or a network error raises (the hook runner logs it)."""
        request = urllib.request.Request(
            self._url,
            data=json.dumps(payload).encode("utf-8"),
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "dtflw-webhook"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310 - http(s) checked
                response.read()
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"Webhook answered HTTP {error.code}") from None
        except urllib.error.URLError as error:
            raise RuntimeError(f"Webhook not reachable: {error.reason}") from None


def summary(result: FlowRunResult) -> str:
    """ "3 succeeded, 1 failed, 2 cancelled": notebooks per status, in RunStatus order."""
    counts = [f"{len(names)} {status.value}" for status, names in result.by_status().items() if names]
    return ", ".join(counts) or "no notebooks"


def _listed(lines: list[str]) -> list[str]:
    return lines[:LISTED] + ([f"• … and {len(lines) - LISTED} more"] if len(lines) > LISTED else [])


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:LISTED])
    return shown + (f" and {len(names) - LISTED} more" if len(names) > LISTED else "")


__all__ = ["FORMATS", "NOTIFY_ON", "WebhookFormat", "WebhookNotifier", "summary", "webhook_format"]
