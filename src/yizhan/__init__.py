"""Yizhan 驿站: service and community-governance platform for gig workers."""

__version__ = "0.1.0"
