"""``FakeDbutils``: the ``dbutils`` test double users unit-test their pipelines with.

Notebooks are Python callables registered with ``dbutils.notebook.register(path, handler)``;
``dbutils.notebook.calls`` records every run. Widgets, fs, secrets, task values and the context
chain behave as in ``dtflw.emulated`` (shared with the local runtime's ``LocalDbutils``).
"""

from __future__ import annotations

from dtflw.emulated.dbutils import EmulatedDbutils, EmulatedJobs, EmulatedNotebook, Handler, NotebookCall

FakeNotebook = EmulatedNotebook
FakeJobs = EmulatedJobs


class FakeDbutils(EmulatedDbutils):
    """A ``dbutils`` test double: real widgets/fs/secrets/task values, notebooks as callables.

    ``FakeDbutils(user=..., notebook_path=..., fs_root=..., secrets=..., widgets=..., job_tags=...)``;
    see ``EmulatedDbutils`` for every argument.
    """


__all__ = ["FakeDbutils", "FakeNotebook", "FakeJobs", "Handler", "NotebookCall"]
