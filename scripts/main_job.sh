#!/usr/bin/env bash
# The main job: set everything up (idempotent) and run the impersonation experiments on the
# real recordings in ../shared/data, printing the tables and wall times and writing plots +
# HTML reports.
#   bash scripts/main_job.sh [OUT_DIR]      (default: experiment_out/; --help: this text)
# Environment: AIRAUTH_SHARED_DATA (data folder, default ../shared/data);
#   AIRAUTH_PSEUDO=off|on|both (default off; "both" also reports <method>+pseudo / +vae,
#   which trains the pseudo-data generators per fold and takes longer).
# Protocol (see `authapp experiment --help`): 5 references per identity, seeds 0, 1, 2
# (--seed 0 --seeds 3), identities spread over 2 processes. Folds are chosen automatically:
# 2 disjoint folds (background from one, impostors from the other) for SVC2004 and the Leap
# signatures; FMKit has only two identities that can enroll, so it runs as one fold with no
# background, each identity being the other's impostor. SVC2004 (Task1, Task2) users enroll
# from their first session (S1-S10) and log in with the rest of it and with the second session
# a week later, in recorded order, through the product's template adaptation; the later-session
# FRR is the FRR reported. Methods: fusion (the product's default) and dtw.
set -euo pipefail
case "${1:-}" in -h|--help) exec bash "$(dirname "$0")/usage.sh" "$0" ;; esac
if [ $# -gt 1 ] || [[ "${1:-}" == -* ]]; then
    echo "usage: bash scripts/main_job.sh [OUT_DIR]   (--help for more)" >&2
    exit 2
fi
cd "$(dirname "$0")/.."
echo "[main job] takes $(bash scripts/usage.sh --time main_job.sh)"
bash scripts/bootstrap.sh .venv
export MPLBACKEND=Agg
DATA="${AIRAUTH_SHARED_DATA:-../shared/data}"
OUT="${1:-experiment_out}"
PSEUDO="${AIRAUTH_PSEUDO:-off}"
run() {  # later options override the common ones (e.g. --seeds 10)
    echo; echo "== $1 =="; shift
    .venv/bin/authapp experiment --references 5 --seed 0 --seeds 3 --jobs 2 \
        --pseudo "$PSEUDO" "$@"
}
# the product's two recommended verifiers (fusion is the default; dtw its strongest member);
# SVC2004 enrolls from session 1 and logs in a week later (split auto), with template adaptation
run "SVC2004 Task1 (pen, 20 users, skilled forgeries; enroll session 1, log in session 2)" \
    "$DATA/svc2004_task1" --format svc2004 --methods dtw,fusion --out "$OUT/svc2004_task1"
run "SVC2004 Task2 (pen, 20 other recordings, skilled forgeries; nothing tuned on it)" \
    "$DATA/svc2004_task2" --format svc2004 --methods fusion --out "$OUT/svc2004_task2"
run "Leap in-air signatures (50 people, random impostors)" \
    "$DATA/leap_air_signatures" --format leapcsv --methods dtw,fusion \
    --out "$OUT/leap_air_signatures"
run "FMKit Leap recordings (1 person, 2 identities)" \
    "$DATA/fmkit_leap" --format fmkit --methods dtw,fusion --out "$OUT/fmkit_leap"
echo
echo "Reports: $OUT/*/report.html"
