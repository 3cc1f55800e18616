"""Run layer: plans, fingerprints, the DAG scheduler, one-notebook steps, history, progress and
notifications. It takes specs + a `RunContext` + `RunOptions` and returns a `FlowRunResult`;
nothing in it imports the declare layer.

    context    RunContext, NotebookRunner, DbutilsRunner
    options    RunOptions
    select     only= / tags= / from_= / to= on a DAG
    decide     fingerprints, Decision, Plan
    step       one notebook: inputs, pending marks, runner call with retries, output checks
    scheduler  DagRun: the DAG, max_workers at a time, failure isolation
    history    RunRecord, HistoryStore
    events     FlowEvent, hook delivery;  progress, notify: consumers of events
"""
