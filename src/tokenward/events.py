"""Auth events as one structured log line each, in logfmt, and counted as metrics.

Only identifiers and addresses are ever passed here: never a token, hash or password.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from tokenward.metrics import count_event

logger = logging.getLogger("tokenward.events")
_BARE = re.compile(r"[A-Za-z0-9_.:/@+-]+")


def log_event(event: str, *, logger: logging.Logger = logger, **fields: Any) -> None:
    """Log one auth event; `None` fields are left out."""
    fields = {name: value for name, value in fields.items() if value is not None}
    logger.info(event, extra={"event": event, "event_fields": fields})
    count_event(event)


def _quote(value: Any) -> str:
    text = str(value)
    if _BARE.fullmatch(text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


class LogfmtFormatter(logging.Formatter):
    """`ts=… level=… logger=… event=… key=value …`, one record a line."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(
            timespec="milliseconds"
        )
        parts = [f"ts={ts}", f"level={record.levelname.lower()}", f"logger={record.name}"]
        event = getattr(record, "event", None)
        if event is not None:
            parts.append(f"event={_quote(event)}")
            fields = getattr(record, "event_fields", {})
            parts.extend(f"{name}={_quote(value)}" for name, value in fields.items())
        else:
            parts.append(f"msg={_quote(record.getMessage())}")
        if record.exc_info:
            parts.append(f"exc={_quote(self.formatException(record.exc_info))}")
        return " ".join(parts)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger("tokenward")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
