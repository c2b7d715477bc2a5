"""How many torch threads to train with: the cores other processes leave free.

Measured on a 2-core machine with the notebook's MLP: on idle cores two threads beat one
(0.215 vs 0.248 s per epoch alone, 2.6 vs 3.8 s for five seeds batched), but while other
processes kept the cores busy two threads were 4-10x slower than one, because every small
operation waits for the thread that was descheduled. So each run asks how busy the CPUs
are right now, outside this process, and takes the rest.
"""

import logging
import os
import time

log = logging.getLogger(__name__)

SAMPLE_S = 0.1


def _busy_jiffies() -> tuple[int, int] | None:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat (Linux)."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def cores_busy_elsewhere(sample_s: float = SAMPLE_S) -> float | None:
    """Cores kept busy by other processes over the next ``sample_s``; None if unknown."""
    before, own_before = _busy_jiffies(), os.times()
    time.sleep(sample_s)
    after, own_after = _busy_jiffies(), os.times()
    if before is None or after is None or after[1] == before[1]:
        return None
    cpus = os.cpu_count() or 1
    busy = cpus * (after[0] - before[0]) / (after[1] - before[1])
    # This process's own threads (request handlers, say) are not competition.
    own = (own_after.user + own_after.system - own_before.user - own_before.system)
    return max(0.0, busy - own / max(own_after.elapsed - own_before.elapsed, 1e-9))


def training_threads(setting: int, default: int) -> int:
    """``setting`` when given; else as many threads as cores are free (at least one)."""
    if setting:
        return setting
    elsewhere = cores_busy_elsewhere()
    if elsewhere is None:
        return default
    free = (os.cpu_count() or 1) - elsewhere
    threads = max(1, min(default, round(free)))
    log.debug("%.1f cores busy elsewhere: training on %d threads", elsewhere, threads)
    return threads
