"""``python -m denoise`` entry point; see :mod:`denoise.cli`."""

import sys

from .cli import main

sys.exit(main())
