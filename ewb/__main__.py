"""`python -m ewb` is the same as the `ewb` command."""

import sys

from ewb.cli import main

sys.exit(main())
