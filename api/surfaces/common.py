"""What every HTTP surface shares: the error responses its operations document."""

from __future__ import annotations

from typing import Any

from ferryman.api.errors import ErrorBody


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these HTTP statuses, each with the error envelope."""
    return {code: {"model": ErrorBody} for code in codes}


ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422)
