"""`dtflw.tables_repo`: the dtflw 0.6.x module of `TablesRepository`, the published tables behind
`flow["Table"]` and `flow.ctx.tables_repo` (now `dtflw.declare.evaluated`)."""

from dtflw.declare.evaluated import TablesRepository

__all__ = ["TablesRepository"]
