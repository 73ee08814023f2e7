"""The research harness: impersonation experiments on recorded data.

One way through it: plan (``protocol``: folds, reference draws, sessions) -> run (``runner``:
fit and score every identity, ``cluster`` / ``checkpoint`` for many machines and killed runs)
-> scores.csv (``scores``) -> evaluate (``evaluation``, ``metrics``, ``operating_point``) ->
report (``report``, ``tables``, ``plots``). ``experiment`` strings them together for
``authapp experiment`` and the GUI. The harness uses the product (``authapp.services``) to
replay logins the way the product decides them; the product never imports the harness.
"""
