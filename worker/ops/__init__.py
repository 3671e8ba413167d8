"""Operations: Prometheus metrics, the live `stats` view and the `check` diagnosis.

Nothing here is imported by the job path's modules at import time except through `worker.tasks`;
`worker.ops.metrics` must be imported only after `PROMETHEUS_MULTIPROC_DIR` is settled.
"""
