#!/usr/bin/env python3
"""A fixture service that writes a numbered line every few milliseconds (`tick N`) and
dies the moment a write fails — as a real server does when its stdout pipe loses its
reader (BrokenPipeError): so its pid and its numbers show whether it ever noticed."""

import itertools
import sys
import time

interval = float(sys.argv[1]) if len(sys.argv) > 1 else 0.005
for i in itertools.count():
    print("tick", i, flush=True)
    time.sleep(interval)
