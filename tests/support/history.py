"""A run's Temporal history as text, with every payload decoded: where a leaked value
would hide (payload data is base64 in the history's JSON)."""

from __future__ import annotations

import base64
import json
from typing import Any

from temporalio.client import Client


def payload_texts(node: Any) -> list[str]:
    """Every payload's `data` in a history's JSON, decoded (that is where values hide), and
    the payloads carried inside those (a workflow stream's items are payloads in a signal's)."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "data" and isinstance(value, str):
                text = base64.b64decode(value).decode("utf-8", errors="replace")
                found.append(text)
                found += payload_texts(_json_or_none(text))  # payloads inside payloads
            else:
                found += payload_texts(value)
    elif isinstance(node, list):
        for item in node:
            found += payload_texts(item)
    return found


async def decoded_history(client: Client, execution_id: str) -> str:
    history = await client.get_workflow_handle(execution_id).fetch_history()
    text = history.to_json()
    return text + "\n".join(payload_texts(json.loads(text)))


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
