"""Workflow definitions: validation against the DSL and the workers' activities, and storage.

A definition is validated once, when it is registered; an execution carries the inert
snapshot of the version it started with (`ferryman.workflows.snapshot`). Both surfaces see
the same stored rows (`/api/v1/workflows`, and `/v1/jobs` as jobs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from cachetools import LRUCache, TTLCache
from jsonschema import Draft202012Validator
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ferryman.api import dependencies as job_dependencies
from ferryman.api.codes import ErrorCode
from ferryman.api.errors import ApiError
from ferryman.api.store import repository
from ferryman.api.store.models import Workflow, WorkflowVersion
from ferryman.settings import Settings
from ferryman.statuses import Condition
from ferryman.validation import error_details, error_sentence
from ferryman.workflows import models as m
from ferryman.workflows.dsl import WorkflowDefinition, slugify
from ferryman.workflows.snapshot import DefinitionSnapshot
from ferryman.workflows.steps.activity import check_published
from ferryman.workflows.steps.llm import check_tools

PARSED_CACHE_SIZE = 1024
# The worker decodes the whole workflow input (definition included) with pydantic, whose
# JSON parser stops at some 200 levels; keep user values well inside that.
MAX_NESTING = 64


def nesting(value: Any) -> int:
    """Nesting depth of a JSON value, iteratively (deep values must not blow the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def parse_document(body: bytes, content_type: str, limit: int) -> dict[str, Any]:
    """A definition arrives as JSON or YAML (by Content-Type); either way a mapping. YAML
    is built only if its aliases expand to at most about `limit` bytes (`load_yaml`)."""
    try:
        document = load_yaml(body, limit) if "yaml" in content_type else json.loads(body)
    except (yaml.YAMLError, ValueError, RecursionError) as err:
        if "yaml" in content_type:
            raise ApiError("the request body is not valid YAML", ErrorCode.INVALID_YAML) from err
        raise ApiError(_not_json(body), ErrorCode.INVALID_JSON) from err
    if not isinstance(document, dict):
        raise ApiError(
            "a workflow definition must be an object with `name` and `steps`",
            ErrorCode.DEFINITION_INVALID,
        )
    return document


def load_yaml(source: bytes | str, limit: int) -> Any:
    """A YAML document as JSON data, refused (413) before it is built when its aliases
    expand past `limit` bytes, or refer to themselves.

    Aliases are allowed (a shared `retry` block reads well), but a definition is stored,
    served and carried by every run expanded, as JSON: nine levels of `[*a, *a]` make 455
    bytes of YAML a 6.9 MB definition, and walking it costs seconds. The composed graph
    shares each anchored node, so its expanded size is counted once per node: linear in
    the document as written. The count is a scalar's length (at least 1) plus one per
    item and two per collection, close to its JSON size; `DefinitionService.validate`
    then checks the exact size.
    """
    loader = yaml.SafeLoader(source)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}, set()) > limit:
            raise _too_large(f"the definition's YAML aliases expand to more than {limit} bytes")
        return loader.construct_document(node)
    finally:
        loader.dispose()


class _RecursiveAlias(yaml.YAMLError):
    """An alias inside the node it names: no JSON can hold that."""


def _expanded_size(node: yaml.Node, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """About the bytes of `node` as JSON with every alias expanded, each node counted once."""
    if id(node) in sizes:
        return sizes[id(node)]
    if id(node) in open_nodes:
        raise _RecursiveAlias("a YAML alias refers to a node that contains it")
    if isinstance(node, yaml.ScalarNode):
        size = max(1, len(node.value))
    else:
        open_nodes.add(id(node))
        children = (
            [child for pair in node.value for child in pair]
            if isinstance(node, yaml.MappingNode)
            else node.value
        )
        size = 2 + sum(_expanded_size(child, sizes, open_nodes) + 1 for child in children)
        open_nodes.discard(id(node))
    sizes[id(node)] = size
    return size


def _too_large(what: str) -> ApiError:
    return ApiError(
        f"{what}, over the limit of FERRYMAN_MAX_DEFINITION_BYTES", ErrorCode.DEFINITION_TOO_LARGE
    )


def _not_json(body: bytes) -> str:
    """Why a body without a YAML content type did not parse, with a hint if it is YAML."""
    try:
        reads_as_yaml = isinstance(yaml.safe_load(body), dict)
    except (yaml.YAMLError, ValueError, RecursionError):
        reads_as_yaml = False
    if reads_as_yaml:
        return (
            "the request body is not valid JSON; it reads as YAML: send YAML with "
            "`Content-Type: application/yaml`"
        )
    return "the request body is not valid JSON (send YAML with `Content-Type: application/yaml`)"


@dataclass(frozen=True)
class StoredDefinition:
    """One version of a workflow as stored, with the workflow's own state."""

    slug: str
    name: str
    description: str | None
    version: int
    version_id: str  # `jv_<n>`: the stored version's own id
    latest_version: int
    disabled: bool
    created_at: datetime
    updated_at: datetime
    document: dict[str, Any]


@dataclass(frozen=True)
class DefinitionVersion:
    version: int
    created_at: datetime
    document: dict[str, Any]


@dataclass(frozen=True)
class Parsed:
    """A stored version, validated: what an execution of it carries."""

    definition: WorkflowDefinition
    snapshot: DefinitionSnapshot


@dataclass(frozen=True)
class Resolved:
    parsed: Parsed
    version: int
    disabled: bool
    version_id: str  # the stored version's own id (`jv_<n>`): the run's `job_version_id`


class DefinitionService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings
        # Stored versions never change: each is validated once per process.
        self._parsed: LRUCache[int, Parsed] = LRUCache(PARSED_CACHE_SIZE)
        # What `resolve` found lately; writes through this process clear it at once, other
        # API processes see a new version or a disable within FERRYMAN_METADATA_CACHE_SECS.
        self._resolved: TTLCache[tuple[str, str, int | None], Resolved] = TTLCache(
            PARSED_CACHE_SIZE, settings.metadata_cache_secs
        )
        # A job's dependencies, read on every trigger: the same rule as `_resolved`.
        self._dependencies: TTLCache[tuple[str, str], tuple[m.Dependency, ...]] = TTLCache(
            PARSED_CACHE_SIZE, settings.metadata_cache_secs
        )

    def parse(self, body: bytes, content_type: str) -> dict[str, Any]:
        """A definition as sent (JSON or YAML), within the definition limit."""
        return parse_document(body, content_type, self.settings.max_definition_bytes)

    async def validate(self, document: dict[str, Any]) -> WorkflowDefinition:
        """The limits, then the DSL's rules, then activity names against live workers."""
        if nesting(document) > MAX_NESTING:
            raise ApiError(
                f"the definition nests deeper than {MAX_NESTING} levels",
                ErrorCode.DEFINITION_INVALID,
            )
        size = len(json.dumps(document, ensure_ascii=False).encode())
        limit = self.settings.max_definition_bytes
        if size > limit:
            raise _too_large(f"the definition is {size} bytes as JSON ({limit} allowed)")
        try:
            definition = WorkflowDefinition.model_validate(document)
        except ValidationError as err:
            raise ApiError(
                error_sentence(err, limit=1), ErrorCode.DEFINITION_INVALID, error_details(err)
            ) from err
        if len(definition.steps) > self.settings.max_steps:
            raise ApiError(
                f"a workflow may have at most {self.settings.max_steps} steps "
                f"(this one has {len(definition.steps)})",
                ErrorCode.DEFINITION_INVALID,
            )
        await self._check_activities(definition)
        return definition

    async def _check_activities(self, definition: WorkflowDefinition) -> None:
        """Each activity step names a published activity and fits its input schema; each
        tool of an `llm` step is a published activity."""
        wanted = definition.activity_steps()
        tools = [(step, step.with_.get("tools")) for step in definition.steps if step.kind == "llm"]
        if not wanted and not any(isinstance(names, list) and names for _, names in tools):
            return
        async with self.sessions() as session:
            published = await repository.published_activities(session)
        schemas = {name: row.input_schema for name, row in published.items()}
        for step in wanted:
            check_published(step, schemas)
        for step, names in tools:
            check_tools(step, names if isinstance(names, list) else [], schemas)

    async def create(self, project_id: str, document: dict[str, Any]) -> StoredDefinition:
        definition = await self.validate(document)
        slug = definition.id or slugify(definition.name)
        async with self.sessions() as session:
            await repository.ensure_project(session, project_id)
            version = await repository.create_workflow(
                session, project_id, slug, definition.name, {**document, "id": slug}
            )
            workflow = await repository.get_workflow(session, project_id, slug)
        self._resolved.clear()
        return _stored(workflow, version)

    async def new_version(
        self, project_id: str, slug: str, document: dict[str, Any]
    ) -> StoredDefinition:
        if document.get("id") not in (None, slug):
            raise ApiError(
                f"the body's id {document['id']!r} differs from the path's {slug!r}",
                ErrorCode.DEFINITION_INVALID,
            )
        document = {**document, "id": slug}
        definition = await self.validate(document)
        async with self.sessions() as session:
            workflow, latest = await repository.get_workflow_version(
                session, project_id, slug, None
            )
            if latest.document == document:
                return _stored(workflow, latest)  # the same body again: the same version
            version = await repository.add_workflow_version(
                session, project_id, slug, definition.name, document
            )
            workflow = await repository.get_workflow(session, project_id, slug)
        self._resolved.clear()
        return _stored(workflow, version)

    async def get(self, project_id: str, slug: str, version: int | None) -> StoredDefinition:
        async with self.sessions() as session:
            workflow, stored = await repository.get_workflow_version(
                session, project_id, slug, version
            )
        return _stored(workflow, stored)

    async def page(
        self, project_id: str, page: int, page_size: int
    ) -> tuple[list[StoredDefinition], int]:
        async with self.sessions() as session:
            workflows, total = await repository.list_workflows(
                session, project_id, limit=page_size, offset=(page - 1) * page_size
            )
            items = []
            for workflow in workflows:
                _, latest = await repository.get_workflow_version(
                    session, project_id, workflow.slug, None
                )
                items.append(_stored(workflow, latest))
        return items, total

    async def versions(self, project_id: str, slug: str) -> list[DefinitionVersion]:
        async with self.sessions() as session:
            stored = await repository.list_workflow_versions(session, project_id, slug)
        return [DefinitionVersion(v.version, v.created_at, v.document) for v in stored]

    async def set_disabled(self, project_id: str, slug: str, disabled: bool) -> StoredDefinition:
        async with self.sessions() as session:
            await repository.set_workflow_disabled(session, project_id, slug, disabled)
            workflow, latest = await repository.get_workflow_version(
                session, project_id, slug, None
            )
        self._resolved.clear()
        return _stored(workflow, latest)

    async def resolve(self, project_id: str, slug: str, version: int | None) -> Resolved:
        """The definition (and snapshot) an execution will carry, and whether its workflow
        is disabled (which `Launcher.admit` refuses)."""
        resolved = self._resolved.get((project_id, slug, version))
        if resolved is None:
            async with self.sessions() as session:
                workflow, stored = await repository.get_workflow_version(
                    session, project_id, slug, version
                )
            resolved = Resolved(
                self._parse(slug, stored), stored.version, workflow.disabled, _version_id(stored)
            )
            self._resolved[(project_id, slug, version)] = resolved
        return resolved

    def _parse(self, slug: str, stored: WorkflowVersion) -> Parsed:
        parsed = self._parsed.get(stored.pk)
        if parsed is None:
            try:
                definition = WorkflowDefinition.model_validate(stored.document)
            except ValidationError as err:
                # Registered under an older, looser rule: say so rather than fail obscurely.
                raise ApiError(
                    f"workflow {slug!r} version {stored.version} no longer passes validation "
                    f"({error_sentence(err, limit=1)}); register a corrected version",
                    ErrorCode.DEFINITION_INVALID,
                ) from err
            snapshot = DefinitionSnapshot.of(definition, self.settings.heartbeat_secs)
            parsed = Parsed(definition, snapshot)
            self._parsed[stored.pk] = parsed
        return parsed

    async def dependencies(self, project_id: str, slug: str) -> list[m.Dependency]:
        """The dependencies a new run of job `slug` waits on, oldest first (404 for a job
        the project does not have)."""
        cached = self._dependencies.get((project_id, slug))
        if cached is None:
            async with self.sessions() as session:
                cached = tuple(await job_dependencies.of_job(session, project_id, slug))
            self._dependencies[(project_id, slug)] = cached
        return list(cached)

    async def add_dependency(
        self, project_id: str, slug: str, depends_on: str, condition: Condition
    ) -> m.Dependency:
        """Job `slug`'s runs will wait on `depends_on` (`job_dependencies.add` says when not)."""
        async with self.sessions() as session:
            dependency = await job_dependencies.add(
                session, project_id, slug, depends_on, condition
            )
        self._dependencies.pop((project_id, slug), None)
        return dependency

    def check_input(
        self,
        definition: WorkflowDefinition,
        input_data: dict[str, Any],
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Size first (413), then the workflow's input schema (422)."""
        size = len(json.dumps(input_data, default=str).encode())
        if size > self.settings.input_limit_bytes:
            raise ApiError(
                f"the input is {size} bytes, over the limit of {self.settings.input_limit_bytes}",
                ErrorCode.INPUT_TOO_LARGE,
            )
        for name, value in (("input", input_data), ("metadata", metadata)):
            if nesting(value) > MAX_NESTING:
                raise ApiError(
                    f"the {name} nests deeper than {MAX_NESTING} levels, which workers cannot "
                    "decode",
                    ErrorCode.INPUT_INVALID,
                )
        if definition.input_schema is None:
            return
        errors = sorted(
            Draft202012Validator(definition.input_schema).iter_errors(input_data),
            key=lambda e: list(e.path),
        )
        if errors:
            first = errors[0]
            where = "input" + "".join(f"[{p!r}]" for p in first.path)
            raise ApiError(
                f"{where} does not match the workflow's input_schema: {first.message}",
                ErrorCode.INPUT_INVALID,
                [{"loc": ["input_data", *first.path], "msg": e.message} for e in errors[:20]],
            )


def _stored(workflow: Workflow, version: WorkflowVersion) -> StoredDefinition:
    return StoredDefinition(
        slug=workflow.slug,
        name=version.document.get("name", workflow.name),
        description=version.document.get("description"),
        version=version.version,
        version_id=_version_id(version),
        latest_version=workflow.latest_version,
        disabled=workflow.disabled,
        created_at=workflow.created_at,
        updated_at=workflow.updated_at,
        document=version.document,
    )


def _version_id(version: WorkflowVersion) -> str:
    return f"jv_{version.pk}"
