"""Container health check: GET a path on this node's port; exit 0 on 200, 1 otherwise.

python deploy/healthcheck.py /readyz     (port from FC25_PORT, default 8000)
"""

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    """Exit status for the check of ``sys.argv[1]`` (default ``/healthz``)."""
    path = sys.argv[1] if len(sys.argv) > 1 else "/healthz"
    url = f"http://127.0.0.1:{os.environ.get('FC25_PORT', '8000')}{path}"
    try:
        with urllib.request.urlopen(url, timeout=4) as resp:
            return 0 if resp.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"{url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
