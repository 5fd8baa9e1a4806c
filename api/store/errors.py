"""Errors of the metadata store, each with a sentence a user can read."""


class StoreError(Exception):
    pass


class NotFound(StoreError):
    pass


class Conflict(StoreError):
    pass
