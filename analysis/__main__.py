"""``python -m analysis …``: see :mod:`analysis.cli`."""

import sys

try:
    from analysis.cli import main
except KeyboardInterrupt:  # Ctrl-C while the libraries load (a few seconds): no traceback
    print("interrupted", file=sys.stderr)
    raise SystemExit(130) from None

raise SystemExit(main())
