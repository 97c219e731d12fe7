"""The worker process's runtime, shared by the job middlewares (created at worker boot)."""

from __future__ import annotations

from actors.runtime import WorkerConfig, WorkerRuntime


class RuntimeHolder:
    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self._runtime: WorkerRuntime | None = None

    def start(self) -> WorkerRuntime:
        if self._runtime is None:
            self._runtime = WorkerRuntime(self.config)
        return self._runtime

    @property
    def runtime(self) -> WorkerRuntime:
        return self.start()

    def stop(self) -> None:
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
