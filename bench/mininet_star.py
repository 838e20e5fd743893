"""Build and tear down a star with Mininet's Python API (Linux bridge, no controller).

Run with the interpreter that has Mininet (Debian's python3), as root:
    python3 bench/mininet_star.py N PREFIX
Prints one JSON line {"up": seconds, "down": seconds}. It never runs `mn -c`, which would
kill processes machine-wide: it stops only the network it built.
"""

import json
import subprocess
import sys
import time

from mininet.log import setLogLevel
from mininet.net import Mininet
from mininet.nodelib import LinuxBridge
from mininet.topo import Topo


class Star(Topo):
    def build(self, n: int = 1, prefix: str = "m") -> None:
        switch = self.addSwitch(f"{prefix}s1", dpid="1")
        for i in range(n):
            host = self.addHost(f"{prefix}h{i}", ip=f"10.202.{i // 250}.{i % 250 + 1}/16")
            self.addLink(host, switch)


def residue(prefix: str) -> bool:
    out = subprocess.run(["ip", "-br", "link", "show"], capture_output=True, text=True).stdout
    return any(line.startswith(prefix) for line in out.splitlines())


def main() -> None:
    n, prefix = int(sys.argv[1]), sys.argv[2]
    setLogLevel("error")
    start = time.perf_counter()
    net = Mininet(topo=Star(n=n, prefix=prefix), switch=LinuxBridge, controller=None)
    net.start()
    built = time.perf_counter()
    net.stop()
    while residue(prefix):
        time.sleep(0.05)
    gone = time.perf_counter()
    print(json.dumps({"up": built - start, "down": gone - built}))


if __name__ == "__main__":
    main()
