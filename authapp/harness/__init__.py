"""The research harness: impersonation experiments on recorded data.

One way through it: plan (``protocol``: the configuration and the jobs; ``draws``: folds,
reference draws, sessions) -> run (``runner``: fit and score every identity; ``generators``
and ``calibration_pass`` before and after it per fold; ``adaptive`` replays logins through
template adaptation; ``cluster`` / ``checkpoint`` for many machines and killed runs) ->
scores.csv (``scores``) -> evaluate (``evaluation``, ``metrics``, ``operating_point``) into
typed results (``results``, ``figures``; ``records`` maps them to and from JSON) ->
report (``report``, ``tables``, ``plots``). ``experiment`` strings them together. The harness
enrolls through the product's own pipeline (``models.enrollment``); the product imports the
harness only in the front ends that run experiments (``authapp experiment``, ``authapp
evaluate``, the GUI's Experiments tab).
"""
