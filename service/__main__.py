"""``python -m service``: the one command-line entry (see ``service.cli``)."""

from __future__ import annotations

import sys

from service.cli import main

sys.exit(main())
