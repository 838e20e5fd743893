"""Another lab coming and going beside the test suite: a 50-namespace lab under its own random
prefix, rendered with nsgen, brought up and down in a loop until stopped.

    sudo python3 -m tests.churner &             # until SIGTERM (or --cycles N)
    sudo python3 -m pytest ...                  # the suite must pass beside it
    kill $!                                     # it takes its lab down, then prints its cycles

Its namespaces have addresses and the host only an address-less bridge, so it takes no
subnet or host route a test might declare: what a test sees of it is only its coming and
going. It names its objects like a test (tests/live.py new_prefix), so the tests' snapshots
know them as another run's.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

from tests.live import LabFactory, bridged_namespaces

STOP: list[int] = []


def stop(signum: int, frame: FrameType | None) -> None:
    STOP.append(signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tests.churner", description=__doc__)
    parser.add_argument("--namespaces", type=int, default=50, help="1 to 250 (one /24)")
    parser.add_argument("--cycles", type=int, default=0, help="stop after this many (0: never)")
    args = parser.parse_args(argv)
    if not 1 <= args.namespaces <= 250:
        parser.error("--namespaces: 1 to 250")
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with tempfile.TemporaryDirectory(prefix="nsgen-churner-") as tmp:
        factory = LabFactory(workdir=Path(tmp))
        topology = bridged_namespaces(
            Path(tmp) / "churn.toml", "churn", args.namespaces, 249, host_address=False
        )
        lab = factory(topology)
        print(f"churner: lab {lab.prefix}churn, {args.namespaces} namespaces", flush=True)
        cycles = failures = 0
        started = time.monotonic()
        try:
            while not STOP and (args.cycles == 0 or cycles < args.cycles):
                for action in ("up", "down"):
                    result = lab.sh(action)
                    if result.returncode != 0:
                        failures += 1
                        print(f"churner: {action} failed: {result.stderr.strip()}", flush=True)
                cycles += 1
        finally:
            factory.cleanup()
        elapsed = time.monotonic() - started
        print(f"churner: {cycles} cycles in {elapsed:.0f} s, {failures} failed runs", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
