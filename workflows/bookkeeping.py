"""What a run writes about itself: its memo and its search attributes.

Each upsert is a history event, and one in a workflow task that does not close the run is a
visibility write on the server. Runs of the current engine (`coalesce`) keep every write
until the workflow has nothing more to do in its workflow task, then write at most one memo
upsert and one attribute upsert, with only the attributes whose value changed; the close
writes what is left together with its own. Runs started before write each at once, as
their histories say they did.
"""

from __future__ import annotations

import json
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

# Pending list items beyond this many bytes of JSON are written at once: Temporal bounds a
# run's memo (2 MB), and an in-workflow step's checkpoint carries its output.
LIST_FLUSH_BYTES = 256 * 1024


class Bookkeeping:
    def __init__(self) -> None:
        self.coalesce = False
        self._memo: dict[str, Any] = {}
        self._lists: dict[str, list[Any]] = {}  # memo keys whose writes accumulate
        self._list_bytes = 0
        self._attributes: dict[str, SearchAttributeUpdate[Any]] = {}
        self._written: dict[str, Any] = {}  # attribute -> the value last upserted

    def start(self) -> None:
        """Coalesce from now on, knowing the attributes the run was started with."""
        self.coalesce = True
        for pair in workflow.info().typed_search_attributes:
            self._written[pair.key.name] = pair.value

    def memo(self, values: dict[str, Any]) -> None:
        if self.coalesce:
            self._memo.update(values)
        else:
            workflow.upsert_memo(values)

    def append(self, key: str, item: Any) -> None:
        """Add `item` to the memo list `key`, written whole with the next flush (coalesced
        runs only: what several changes in one workflow task recorded, in order); at once
        when the pending items grow past LIST_FLUSH_BYTES."""
        self._lists.setdefault(key, []).append(item)
        self._list_bytes += len(json.dumps(item, default=str))
        if self._list_bytes > LIST_FLUSH_BYTES:
            self.flush()

    def attributes(self, updates: list[SearchAttributeUpdate[Any]]) -> None:
        if not self.coalesce:
            workflow.upsert_search_attributes(updates)
            return
        for update in updates:
            self._attributes[update.key.name] = update

    @property
    def pending(self) -> bool:
        return bool(self._memo or self._attributes or self._lists)

    def flush(self) -> None:
        """Write what is pending: one memo upsert, one upsert of the changed attributes."""
        changed = [
            update
            for name, update in self._attributes.items()
            if self._written.get(name) != update.value
        ]
        self._attributes = {}
        if changed:
            workflow.upsert_search_attributes(changed)
            self._written.update({update.key.name: update.value for update in changed})
        if self._memo or self._lists:
            memo = {**self._memo, **self._lists}
            self._memo, self._lists, self._list_bytes = {}, {}, 0
            workflow.upsert_memo(memo)
