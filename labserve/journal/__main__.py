"""``python -m labserve.journal``: the shipper process (see ``labserve.journal.shipper``)."""

import sys

from labserve.journal.shipper import main

sys.exit(main())
