"""Shared pytest set-up: fixtures live in yizhan.core.testing."""

pytest_plugins = [
    "yizhan.core.testing.fixtures",
    "yizhan.core.testing.shared",
    "yizhan.core.testing.browser",
]
