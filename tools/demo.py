"""A local demo fleet on embedded defaults: one master, three cars with simulated hardware.

Run through ``tools/demo`` (which installs everything first).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fleet_harness import Master, Minion  # noqa: E402

CARS = ("car-0001", "car-0002", "car-0003")


def show(master: Master, *args: str) -> None:
    env_cmd = "fleet" if args[0] not in ("fleet-key", "fleet-run") else args[0]
    argv = args if env_cmd != "fleet" else ("fleet", *args)
    print(f"\n$ {' '.join(shlex.quote(a) for a in argv)}", flush=True)
    proc = subprocess.run([str(Path(sys.executable).parent / argv[0]), "--state-dir", str(master.state_dir),
                           *argv[1:]], text=True, capture_output=True, timeout=120)
    sys.stdout.write(proc.stdout)
    sys.stdout.write(proc.stderr)
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="leave the fleet running")
    args = parser.parse_args()
    master = Master()
    print(f"master state in {master.state_dir} (ports {master.publish_port}/{master.ret_port} on 127.0.0.1)")
    master.start()
    minions = [Minion(car, master, config={"hardware": "sim"}) for car in CARS]
    for m in minions:
        m.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            listing = master.key("-L", "--out", "json").stdout
            if all(car in listing for car in CARS):
                break
            time.sleep(0.2)
        show(master, "fleet-key", "-L")
        show(master, "fleet-key", "-A", "-y")
        master.wait_connected(len(CARS))
        show(master, "car-*", "test.ping")
        show(master, "car-*", "obd.query", "RPM", "--out", "json")
        show(master, "car-*", "obd.vin")
        show(master, "-G", "os_family:*", "grains.item", "os", "cpuarch")
        show(master, "car-0002", "cmd.run", "echo hello from $(hostname)")
        show(master, "fleet-run", "jobs.list_jobs")
        if args.keep:
            print(f"\nThe fleet keeps running. Try:\n  export EDGEFLEET_STATE_DIR={master.state_dir}\n"
                  f"  PATH={Path(sys.executable).parent}:$PATH fleet 'car-*' obd.query SPEED\n"
                  "Press Ctrl-C to stop it.")
            os.environ["EDGEFLEET_STATE_DIR"] = str(master.state_dir)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        for m in minions:
            m.cleanup()
        master.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
