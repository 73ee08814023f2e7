#!/usr/bin/env bash
# Help for the scripts in scripts/: a script's own header comment, and how long it takes as
# measured in README.md (the table "How long the scripts take": the one place those times
# live; a script prints them from there or not at all). Reads files only, changes nothing.
#   bash scripts/usage.sh SCRIPT        the header comment of SCRIPT, then its time
#   bash scripts/usage.sh --time NAME   the time of NAME (e.g. main_job.sh) alone
# Time: instant.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
readme="$here/../README.md"
measured() {  # the "time" column of NAME's row in README's table, or a pointer to README
    local row
    row="$(grep -F -m1 "| \`scripts/$1\` |" "$readme" 2>/dev/null || true)"
    if [ -n "$row" ]; then
        echo "$row" | awk -F'|' '{gsub(/^ +| +$/, "", $3); gsub(/^ +| +$/, "", $4);
                                  print $3 " (" $4 "; README.md, \"How long the scripts take\")"}'
    else
        echo "not measured (README.md, \"How long the scripts take\", has no row for it)"
    fi
}
case "${1:-}" in
    -h|--help|"") sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    --time) measured "${2:?usage: usage.sh --time NAME}"; exit 0 ;;
esac
script="$1"
sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$script" | grep -v '^Time:' || true
echo "Time: $(measured "$(basename "$script")")"
