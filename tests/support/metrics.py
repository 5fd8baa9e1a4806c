"""Scraping a Prometheus endpoint the way Prometheus does, and reading what moved."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.support.paths import ROOT
from tests.support.polling import eventually


@dataclass(frozen=True)
class Scrape:
    """One scrape: its text and its samples."""

    text: str
    samples: tuple[Sample, ...]

    @classmethod
    def parse(cls, text: str) -> Scrape:
        families = text_string_to_metric_families(text)
        return cls(text, tuple(sample for family in families for sample in family.samples))

    def value(self, name: str, **labels: str) -> float:
        """The sum of `name`'s samples whose labels include `labels` (0 when none)."""
        return sum(
            sample.value
            for sample in self.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        )

    def names(self) -> set[str]:
        return {sample.name for sample in self.samples}

    def label_values(self) -> set[str]:
        return {value for sample in self.samples for value in sample.labels.values()}


async def scrape(url: str, timeout: float = 20.0) -> Scrape:
    """GET `url` (a `/metrics` endpoint) once it answers 200; its samples."""

    async def get() -> httpx.Response | None:
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                return await http.get(url)
        except httpx.TransportError:  # not listening yet
            return None

    response = await eventually(get, lambda r: r is not None and r.status_code == 200, timeout)
    assert response is not None
    return Scrape.parse(response.text)


def moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    """By how much `name` (with `labels`) moved between two scrapes."""
    return after.value(name, **labels) - before.value(name, **labels)


DASHBOARD = ROOT / "deploy" / "grafana" / "ferryman.json"
METRIC_NAME = re.compile(r"\b(?:ferryman|temporal)_[a-z_]+\b")


def dashboard_queries() -> list[str]:
    """Every PromQL expression of the Grafana dashboard's panels."""
    document = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in document["panels"] for target in panel.get("targets", [])]


def dashboard_metrics() -> set[str]:
    """The sample names the dashboard queries."""
    return {name for query in dashboard_queries() for name in METRIC_NAME.findall(query)}
