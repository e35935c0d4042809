"""`python -m modelcvd.cli`: the same as the `modelcvd` console script."""

import sys

from modelcvd.cli import main

sys.exit(main())
