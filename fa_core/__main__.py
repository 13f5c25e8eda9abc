import sys

from fa_core.cli import main

sys.exit(main())
