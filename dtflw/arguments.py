"""`dtflw.arguments`: the dtflw 0.6.x module of the callee's values (`Argument`, `Input`, `Output`).

What `init_args`, `init_inputs` and `init_outputs` return are instances of these classes (now
defined in `dtflw.declare.callee`).
"""

from dtflw.declare.callee import Argument, Input, Output

__all__ = ["Argument", "Input", "Output"]
