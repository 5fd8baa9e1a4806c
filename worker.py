"""The worker process, as the design card names it: `python worker.py`.

The code is `ferryman.worker`; `ferryman worker` runs the same worker.
"""

from ferryman.worker import main

if __name__ == "__main__":
    main()
