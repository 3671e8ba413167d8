"""The public surface of `worker.policy`."""

from __future__ import annotations

import importlib
import pkgutil

import worker.policy


def test_all_is_sorted_and_every_name_exists() -> None:
    assert worker.policy.__all__ == sorted(worker.policy.__all__)
    for name in worker.policy.__all__:
        assert hasattr(worker.policy, name), name


def test_every_module_and_public_name_has_a_docstring() -> None:
    for info in pkgutil.iter_modules(worker.policy.__path__):
        module = importlib.import_module(f"worker.policy.{info.name}")
        assert module.__doc__, info.name
    for name in worker.policy.__all__:
        assert getattr(worker.policy, name).__doc__, name
