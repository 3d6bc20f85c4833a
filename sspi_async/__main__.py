"""``python -m sspi_async``: the ``sspi-async`` command line (see :mod:`sspi_async._cli`)."""

from __future__ import annotations

import sys

from sspi_async._cli import main

if __name__ == "__main__":
    sys.exit(main())
