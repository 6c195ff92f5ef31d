"""What the live path logs through: a module's own logger, or a stream's
:class:`~.stream.StreamLog` (which names the stream and its user in every line)."""

from __future__ import annotations

import logging

Log = logging.Logger | logging.LoggerAdapter[logging.Logger]
