"""`dtflw.input_table`: the dtflw 0.6.x module of `InputTable`, the items of `get_inputs()`.

They are now frozen `dtflw.model.specs.InputSpec`s, with the 0.6.x attributes `name`,
`abs_file_path`, `is_optional` (and `source_table`) next to the new ones; `isinstance` checks
against `InputTable` hold. The 0.6.x constructor and its `needs_eval()` / `validate()` are gone:
dtflw checks inputs itself when the notebook runs.
"""

from dtflw.model.specs import InputSpec as InputTable

__all__ = ["InputTable"]
