"""The emulator (L3): async contexts, call dispatch, notify callbacks, handle tables, worker
threads, impersonation tokens, settings and logging. Only L4 modules import from here."""

from __future__ import annotations
