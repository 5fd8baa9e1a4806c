"""Example activities, loaded by every worker: small, but useful as they are.

Reference them from a definition as `kind: activity` with `activity: <name>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, Literal

from jsonschema import Draft202012Validator
from pydantic import BaseModel, Field
from temporalio.exceptions import ApplicationError

from ferryman.activities.registry import step_activity


class ValidateJson(BaseModel):
    data: Any = Field(description="The value to check")
    json_schema: dict[str, Any] = Field(alias="schema", description="A JSON Schema")


@step_activity("json.validate")
async def validate_json(params: ValidateJson) -> dict[str, Any]:
    """Check `data` against `schema`; a violation fails the step at once, naming the path."""
    errors = sorted(Draft202012Validator(params.json_schema).iter_errors(params.data), key=str)
    if errors:
        first = errors[0]
        where = "data" + "".join(f"[{part!r}]" for part in first.path)
        raise ApplicationError(
            f"{where}: {first.message}",
            [{"path": list(e.path), "message": e.message} for e in errors[:20]],
            type="SchemaViolation",
            non_retryable=True,
        )
    return {"valid": True}


class SignPayload(BaseModel):
    payload: Any = Field(description="A string, or any JSON value (signed as canonical JSON)")
    key: str = Field(min_length=1, description="The secret, e.g. '{{ secrets.WEBHOOK_KEY }}'")
    algorithm: Literal["sha256", "sha512"] = "sha256"


@step_activity("hmac.sign")
async def sign(params: SignPayload) -> dict[str, str]:
    """HMAC-sign a payload (e.g. for a webhook); the key comes from a secret, never from state."""
    message = (
        params.payload
        if isinstance(params.payload, str)
        else json.dumps(params.payload, sort_keys=True, separators=(",", ":"))
    )
    digest = hmac.new(params.key.encode(), message.encode(), getattr(hashlib, params.algorithm))
    return {"algorithm": params.algorithm, "signature": digest.hexdigest(), "message": message}
