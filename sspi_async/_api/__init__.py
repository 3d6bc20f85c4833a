"""The Pythonic layer (L4, SPEC §6): credentials and security contexts as objects."""

from __future__ import annotations
