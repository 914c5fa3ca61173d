"""Machine and date line for benchmark result tables."""

from __future__ import annotations

import datetime as dt
import os
import platform


def machine_description() -> str:
    """CPU model, cores, memory, Python and date, for the header of a RESULTS.md."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo") as handle:
            kib = int(handle.readline().split()[1])
            memory = f", {kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; run {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}"
    )
