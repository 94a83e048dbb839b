import sys

from securedesk.cli import main

sys.exit(main())
