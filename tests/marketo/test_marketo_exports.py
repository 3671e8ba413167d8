"""worker.marketo's public surface: sorted, complete, and free of Celery and Redis."""

from __future__ import annotations

import ast
from pathlib import Path

import worker.marketo


def test_all_is_sorted_and_every_name_exists() -> None:
    names = worker.marketo.__all__
    assert names == sorted(names)
    for name in names:
        assert getattr(worker.marketo, name) is not None, name


def test_the_package_imports_neither_celery_nor_redis() -> None:
    package = Path(worker.marketo.__file__).parent
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert not roots & {"celery", "redis", "kombu"}, module.name
