#!/usr/bin/env bash
# The main job: set everything up (idempotent) and run the impersonation experiments on the
# real recordings in ../shared/data, printing the tables and writing plots + HTML reports.
#   bash scripts/main_job.sh [OUT_DIR]      (default: experiment_out/)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh .venv
export MPLBACKEND=Agg
DATA="${AIRAUTH_SHARED_DATA:-../shared/data}"
OUT="${1:-experiment_out}"
run() { echo; echo "== $1 =="; shift; .venv/bin/authapp experiment "$@"; }
run "SVC2004 Task1 (pen, 20 users, skilled forgeries)" \
    "$DATA/svc2004_task1" --format svc2004 --references 5 --seeds 3 --jobs 2 --out "$OUT/svc2004_task1"
run "Leap in-air signatures (50 people, random impostors)" \
    "$DATA/leap_air_signatures" --format leapcsv --references 5 --seeds 3 --jobs 2 --out "$OUT/leap_air_signatures"
run "FMKit Leap recordings (1 person, 2 identities)" \
    "$DATA/fmkit_leap" --format fmkit --references 5 --seeds 3 --jobs 2 --out "$OUT/fmkit_leap"
echo
echo "Reports: $OUT/*/report.html"
