"""Entry point of ``python -m local.fake_anthropic --port N``."""

from local.fake_anthropic.cli import main

raise SystemExit(main())
