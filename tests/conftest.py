"""The shared fixtures live in tests/support/ and are loaded here as plugins."""

import pytest

# Before the plugins are imported, so the helpers' asserts explain themselves too.
pytest.register_assert_rewrite("tests.support")

pytest_plugins = [
    "tests.support.temporal",
    "tests.support.api",
    "tests.support.http_target",
    "tests.support.llm_server",
    "tests.support.api_process",
    "tests.support.up",
    "tests.support.otlp",
]
