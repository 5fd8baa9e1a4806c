"""Start-up work of the API: the bootstrap key and definitions from FERRYMAN_WORKFLOWS_DIR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog
import yaml

from ferryman.api.definitions import DefinitionService
from ferryman.api.errors import ApiError
from ferryman.api.store import repository
from ferryman.api.store.errors import NotFound
from ferryman.settings import Settings

log = structlog.get_logger("ferryman.api")


async def bootstrap_key(settings: Settings, definitions: DefinitionService) -> None:
    """Create FERRYMAN_BOOTSTRAP_API_KEY (admin of the bootstrap project) if it is missing."""
    if not settings.bootstrap_api_key:
        return
    async with definitions.sessions() as session:
        await repository.ensure_admin_key(
            session, settings.bootstrap_project, settings.bootstrap_api_key, name="bootstrap"
        )


async def load_workflows_dir(settings: Settings, definitions: DefinitionService) -> None:
    """Register every definition file; a changed file becomes a new version."""
    folder = settings.workflows_dir
    if folder is None:
        return
    project = settings.bootstrap_project
    for path, text in _definition_files(Path(folder)):
        try:
            # YAML is a superset of JSON.
            await _register(definitions, project, definitions.parse(text.encode(), "yaml"))
        except (ApiError, ValueError, yaml.YAMLError) as err:
            log.error("workflow file rejected", path=str(path), error=str(err))
        else:
            log.info("workflow file loaded", path=str(path))


def _definition_files(folder: Path) -> list[tuple[Path, str]]:
    """Small files read once at start-up, before the API serves anything."""
    paths = sorted(p for p in folder.glob("*") if p.suffix in (".json", ".yaml", ".yml"))
    return [(path, path.read_text()) for path in paths]


async def _register(definitions: DefinitionService, project: str, document: Any) -> None:
    definition = await definitions.validate(document)
    slug = definition.id or ""
    try:
        current = await definitions.get(project, slug, None) if slug else None
    except NotFound:
        current = None
    if current is None:
        await definitions.create(project, document)
    elif current.document != {**document, "id": slug}:
        await definitions.new_version(project, slug, document)
