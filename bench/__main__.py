"""``python -m bench``: every benchmark, one table (see :mod:`bench.run_all`)."""

from __future__ import annotations

from bench.run_all import main

raise SystemExit(main())
