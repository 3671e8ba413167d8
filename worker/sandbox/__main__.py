"""`python -m worker.sandbox`: the sandbox's command line."""

from __future__ import annotations

import sys

from . import main

sys.exit(main())
