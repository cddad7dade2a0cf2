# instance/config.py, read by create_app in every worker before the models load: holds the
# worker back for a while, so the replica is up but not ready (see Dockerfile).
import time

time.sleep(6)
