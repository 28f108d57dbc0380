"""Runtime pieces shared by simulated evaluation and the robot: turning action chunks into commands."""

from vla.runtime.chunk_executor import EXECUTOR_MODES, ChunkExecutor, ExecutorSettings, resolve_executor

__all__ = ["ChunkExecutor", "EXECUTOR_MODES", "ExecutorSettings", "resolve_executor"]
