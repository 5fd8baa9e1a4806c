"""ferryman: a self-hosted durable workflow orchestrator on Temporal."""

__version__ = "0.1.0"
