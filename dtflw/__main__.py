"""`python -m dtflw`: the `dtflw` command line."""

import sys

from dtflw.cli import main

if __name__ == "__main__":
    sys.exit(main())
