"""Training threads follow the cores other processes leave free."""

import multiprocessing
import os

import pytest

from backend.training import threads


def _spin(stop: "multiprocessing.synchronize.Event") -> None:
    while not stop.is_set():
        pass


def test_a_setting_wins() -> None:
    assert threads.training_threads(3, default=8) == 3


def test_idle_cores_are_all_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "cores_busy_elsewhere", lambda: 0.1)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    assert threads.training_threads(0, default=4) == 4


def test_busy_cores_leave_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "cores_busy_elsewhere", lambda: 1.8)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert threads.training_threads(0, default=2) == 1


def test_another_process_spinning_is_seen() -> None:
    """A real busy process shows up as about one core busy elsewhere."""
    stop = multiprocessing.get_context("spawn").Event()
    proc = multiprocessing.get_context("spawn").Process(target=_spin, args=(stop,))
    proc.start()
    try:
        # Measured after the child runs; other load on the machine only adds to it.
        seen = max(threads.cores_busy_elsewhere(0.3) or 0.0 for _ in range(3))
    finally:
        stop.set()
        proc.join(10)
    assert seen >= 0.7
