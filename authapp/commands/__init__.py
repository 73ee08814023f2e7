"""CLI subcommands: one module per command, each with ``register(subparsers)`` and ``run``.

``COMMANDS`` names them with the one-line help ``authapp --help`` lists, so the entry point
builds the command list without importing any command module: ``authapp.cli`` imports only
the module of the command being run (its imports are what that command needs, nothing
more). ``tests/test_cli_startup.py`` checks this table against the modules.
"""

COMMANDS: dict[str, str] = {
    "adaptation": "show USER's adapted samples; --revert drops them (administrator, audited)",
    "convert": "import a recording (fmkit, leapcsv, svc2004) into the native format",
    "delete": "delete an enrolled user and their data (needs --proof FILE or --admin)",
    "enroll": "enroll USER from recordings (at least 2; 5 recommended)",
    "enroll-batch": "enroll every user of a folder (one subfolder of recordings per user)",
    "evaluate": "results.json and report.html from an experiment's scores.csv alone",
    "experiment": "impersonation test over recorded data: FAR/FRR/EER/AUC, DET/ROC plots, "
                  "report",
    "gui": "open the desktop GUI (enroll, log in, manage users)",
    "identify": "find the enrolled user who wrote FILE (exit 0 identified, 1 no match)",
    "info": "show a recording's metadata, length, duration, rate and bounding box",
    "login": "log USER in with a recording (exit 0 accept, 1 reject, 2 error)",
    "record": "record one writing gesture from the Leap Motion (or --replay FILE)",
    "replay": "administrator's offline check of a recording against an enrolled user, with "
              "per-verifier scores (not a login; audited)",
    "serve": "run the login service: login and identify on this store answer from one warm "
             "process",
    "settings": "show or change store-wide settings (lockout policy, verifier, security "
                "level, calibration, replay threshold); changes are checked and audited",
    "unlock": "end USER's lockout now; earlier failed logins stop counting (audited)",
    "users": "list enrolled users and who is locked out",
    "verify-store": "check the store for rows or files changed, deleted or put back outside "
                    "AirAuth (exit 0 intact, 1 problems found)",
}


def module_name(command: str) -> str:
    """The module that implements ``command`` (``enroll-batch`` -> ``enroll_batch``)."""
    return f"authapp.commands.{command.replace('-', '_')}"
