"""Imported by the multiprocessing forkserver when it starts (its preload list): the forkserver is killed when
the bot dies, so it cannot outlive a bot killed with SIGKILL. Its children (the workers) then die with it.

No thread here: the forkserver forks, and a thread in a forking process can leave a lock held in the child.
"""

from __future__ import annotations

import os
import sys

from engine.service.processes import request_parent_death_signal



def _in_forkserver() -> bool:
    # The forkserver runs `python -c "from multiprocessing.forkserver import main; main(...)"`; preloading happens in main.
    return sys.argv[:1] == ["-c"] and "multiprocessing.forkserver" in sys.modules


# Only inside the forkserver itself (its parent is the bot): imported anywhere else, this module does nothing.
if _in_forkserver():
    request_parent_death_signal()
    if os.getppid() == 1:  # the bot died before the request took effect
        os._exit(1)
