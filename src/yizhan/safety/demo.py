"""Hongzhuang's fire-safety network for the demo district (owner: demo helper)."""


def load_demo(*, admin, stdout=None):
    return {}
