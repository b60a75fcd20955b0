"""``python -m crmhub``: see :mod:`crmhub.cli`."""

import sys

from crmhub.cli import main

if __name__ == "__main__":
    sys.exit(main())
