"""The hashing threads' footprint: memory returned after each hash, CPU yielded."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from tokenward.passwords import HASH_THREAD_NICENESS, PasswordHasher

SCRIPT = """
import asyncio, sys
from tokenward.passwords import PasswordHasher, return_hash_buffers_to_os

def rss_kib():
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) for l in status if l.startswith("VmRSS"))

pinned = return_hash_buffers_to_os() if sys.argv[1] == "pinned" else False
hasher = PasswordHasher(threads=4)

async def main():
    await asyncio.gather(*(hasher.verify("x" * 20, hasher._dummy_hash) for _ in range(8)))

before = rss_kib()
for _ in range(3):
    asyncio.run(main())
print(pinned, rss_kib() - before)
"""


def _run(mode: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_hashing_threads_keep_no_argon2_buffers_resident() -> None:
    """With the threshold pinned, 24 hashes on four threads leave under one buffer.

    Unpinned, glibc keeps a 19 MiB buffer per hashing thread (about 75 MiB here).
    """
    applied, growth_kib = _run("pinned")
    if applied != "True":
        pytest.skip("not glibc")

    assert int(growth_kib) < 19_456


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice")
async def test_hash_threads_run_below_the_event_loop() -> None:
    """Hashing threads take a higher nice value, so requests win the CPU in a storm."""
    hasher = PasswordHasher(threads=1)
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    try:
        niceness = await hasher._run(
            lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        )
    finally:
        hasher.close()

    assert niceness == min(19, base + HASH_THREAD_NICENESS)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base
