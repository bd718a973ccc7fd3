"""``python -m skspectral``: the same as the ``skspectral`` command."""

import sys

from .cli import main

sys.exit(main())
