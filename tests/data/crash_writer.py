"""Subprocess for test_crash.py: write 2 episodes, then die by SIGKILL (mid-episode or mid-save).

usage: crash_writer.py ROOT mid_episode       -> prints READY while episode 2 is half recorded
       crash_writer.py ROOT replace:K         -> SIGKILLs itself at the K-th os.replace of save 3
"""

from __future__ import annotations

import os
import signal
import sys
import time

from vla_data_testlib import FEATURES, FPS, LENGTHS, make_frame, task_of, write_episodes

from vla_data import LeRobotDatasetWriter, durable


def main() -> None:
    root, mode = sys.argv[1], sys.argv[2]
    w = LeRobotDatasetWriter(root, fps=FPS, features=FEATURES, max_buffer_mb=0.001)  # spool frames to disk
    write_episodes(w, [0, 1])
    if mode == "mid_episode":
        for t in range(4):
            w.add_frame(make_frame(2, t, LENGTHS[2]), task=task_of(2))
        print("READY", flush=True)
        time.sleep(60)
        return
    kill_at = int(mode.split(":")[1])
    calls = [0]
    real_replace = os.replace

    def replace(src, dst):  # noqa: ANN001
        calls[0] += 1
        if calls[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst)

    durable.os.replace = replace  # type: ignore[attr-defined]
    write_episodes(w, [2])
    print("SAVED", calls[0], flush=True)


if __name__ == "__main__":
    main()
