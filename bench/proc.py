"""CPU and process-tree readings from /proc, for benchmarks that must say what a figure cost in
CPU (wall-clock rates alone mean little on a machine others load too)."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """`pid` and every process under it."""
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                stack += [int(child) for child in task.read_text().split()]
            except OSError:
                pass
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by `pid` and the processes now under it."""
    return sum(cpu_seconds(p) for p in descendants(pid))
