"""Declare layer: `Flow`, the notebook builder, the table catalogue, plugins and the callee API.

It produces `NotebookSpec`s (`dtflw.model`) and hands them to the run layer with a context and
options; it never hands itself to the run layer.
"""
