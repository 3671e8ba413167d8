"""`python -m worker` is the `leadsync` command."""

from worker.cli import main

raise SystemExit(main())
