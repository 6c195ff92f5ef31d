"""What keeping a live recording's figures beside its spool costs (streams/webrtc/figures.py).

Usage::

    FC25_LOCAL_SECRET=1 python bench/live_figures.py [--repeat 200]

Times one keeping as a stream's spool thread does it every ``FC25_LIVE_FIGURES_EVERY``
seconds (``keep_live_figures``: JSON of the figures, written and renamed into place in a
temporary spool folder), for streams of one minute, one hour and four hours (the dB
removed list grows by one number a second), and the part the event loop does (the
copy of that list). Prints microseconds per keeping and the share of a core per stream
at the default 5 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import timeit
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fc25_denoise.settings")

import django

django.setup()

from recordings.livesave import keep_live_figures  # noqa: E402
from recordings.storage import SpoolPaths  # noqa: E402

EVERY_S = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        paths = SpoolPaths(base / "s.cleaned.wav", base / "s.raw.wav", base / "s.details.json")
        session = uuid.uuid4()
        started = datetime.now(UTC)
        for label, seconds in (("1 min", 60), ("1 h", 3600), ("4 h", 4 * 3600)):
            db_removed = [12.3] * seconds

            def keep(db: list[float] = db_removed) -> None:
                keep_live_figures(paths, session, "bench", started, "dfn3-onnx", 0.0, db, 100.0)

            def copy(db: list[float] = db_removed) -> None:
                list(db)

            thread_s = timeit.timeit(keep, number=args.repeat) / args.repeat
            loop_s = timeit.timeit(copy, number=args.repeat * 10) / (args.repeat * 10)
            print(
                f"{label}: {thread_s * 1e6:.0f} us per keeping on the spool thread "
                f"({paths.details.stat().st_size} bytes), {loop_s * 1e6:.1f} us on the loop; "
                f"{100 * (thread_s + loop_s) / EVERY_S:.4f} % of a core per stream at {EVERY_S:g} s"
            )


if __name__ == "__main__":
    main()
