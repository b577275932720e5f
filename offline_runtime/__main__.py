"""`python -m offline_runtime run|invoke` (see offline_runtime.cli)."""

from offline_runtime.cli import main

raise SystemExit(main())
