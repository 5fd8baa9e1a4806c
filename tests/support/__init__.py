"""What the tests share: fixtures (a pytest plugin, loaded by tests/conftest.py) and helpers."""
