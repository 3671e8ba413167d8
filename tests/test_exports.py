"""The top-level package's public surface (PRODUCT.md's Python API)."""

from __future__ import annotations

import worker


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert worker.__all__ == sorted(worker.__all__)
    for name in worker.__all__:
        assert getattr(worker, name) is not None


def test_the_producer_api_is_importable_from_the_package() -> None:
    from worker import enqueue_sync_lead, job_status

    assert callable(enqueue_sync_lead) and callable(job_status)
