"""Errors of the metadata store, each with a sentence a user can read and a stable code."""

from __future__ import annotations

from ferryman.api.codes import ErrorCode


class StoreError(Exception):
    def __init__(self, message: str, code: ErrorCode) -> None:
        super().__init__(message)
        self.code = code


class NotFound(StoreError):
    pass


class Conflict(StoreError):
    pass
