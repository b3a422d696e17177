#!/usr/bin/env python3
"""A service that prints RATE numbered lines a second, in bursts every 10 ms, until it
is stopped (stdlib only): the live view's flood."""

from __future__ import annotations

import sys
import time

rate = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
burst = max(rate // 100, 1)
n = 0
began = time.monotonic()
while True:
    sys.stdout.write("".join(f"flood {n + i:09d} {'x' * 60}\n" for i in range(burst)))
    sys.stdout.flush()
    n += burst
    # Paced against the start, so the rate holds however long a write took.
    delay = began + n / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
