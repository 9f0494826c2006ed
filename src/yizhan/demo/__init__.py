"""The demo district built from the seed articles (`yizhan demo`)."""
