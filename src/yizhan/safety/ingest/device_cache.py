"""The ingest's in-process device index (owner: rules helper)."""


def device_cache_forget() -> None:
    """Drop the index (rebuilt on next use)."""
