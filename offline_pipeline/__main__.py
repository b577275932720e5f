"""`python -m offline_pipeline run|invoke` (see offline_pipeline.cli)."""

from offline_pipeline.cli import main

raise SystemExit(main())
