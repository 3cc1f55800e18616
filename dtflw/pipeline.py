"""`dtflw.pipeline`: the dtflw 0.6.x module of `PipelineState` and `NotebookRun`, the runs behind
`flow.ctx.pipeline.runs` (now `dtflw.declare.evaluated`)."""

from dtflw.declare.evaluated import NotebookRun, PipelineState

__all__ = ["NotebookRun", "PipelineState"]
