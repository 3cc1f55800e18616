"""`dtflw.output_table`: the dtflw 0.6.x module of `OutputTable`, the items of `get_outputs()`.

They are now frozen `dtflw.model.specs.OutputSpec`s, with the 0.6.x attributes `name`,
`abs_file_path`, `alias` and `cols` next to the new ones; `isinstance` checks against
`OutputTable` hold. The 0.6.x constructor and its `needs_eval()` / `validate()` are gone: dtflw
checks outputs itself after the notebook runs.
"""

from dtflw.model.specs import OutputSpec as OutputTable

__all__ = ["OutputTable"]
