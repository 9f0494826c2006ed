"""Personal data held by the fire-safety app (owner: places helper)."""

EXPORTS = []


def erase(user) -> None:
    pass
