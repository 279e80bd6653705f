"""``python -m plait.conch``: the conch SSH client."""
import sys

from plait.conch.cli import main

sys.exit(main())
