#!/usr/bin/env bash
# Fresh-machine check: does the README's promise hold on a clean clone?
#
# Clones the repository (committed state only) into a temporary folder, with a temporary
# HOME (no pip cache, no torch cache, no Jupyter settings), then runs, timing each step:
#   1. the README's set-up command exactly as written (the fenced block after
#      `<!-- setup-command -->`, today `make lab`). It creates a new virtual environment,
#      installs the kit and opens JupyterLab; the check runs it in the background and
#      waits until JupyterLab serves the first notebook, then stops JupyterLab. The install
#      part ends when scripts/course.py's `.venv/.installed` stamp appears.
#   2. the README's test command exactly as written (after `<!-- test-command -->`,
#      today `make test`).
# Prints one line per step with its time, and the table for the README.
#
# Usage: scripts/fresh_machine_check.sh [--keep] [--skip-tests] [REPO]
#   REPO          repository to clone (default: the one holding this script)
#   --keep        keep the temporary folder (its path is printed)
#   --skip-tests  stop after the set-up command (e.g. to time only the install)
set -euo pipefail

keep=0
skip_tests=0
repo="$(cd "$(dirname "$0")/.." && pwd)"
for arg in "$@"; do
    case "$arg" in
        --keep) keep=1 ;;
        --skip-tests) skip_tests=1 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        -*) echo "unknown option: $arg" >&2; exit 2 ;;
        *) repo="$arg" ;;
    esac
done

# The one command in the fenced block that follows a README marker.
readme_command() {
    awk -v marker="<!-- $1 -->" '
        $0 ~ marker { found = 1; next }
        found && /^```/ { if (inside) exit; inside = 1; next }
        found && inside && NF { print; exit }
    ' "$2"
}

work="$(mktemp -d "${TMPDIR:-/tmp}/vgg-course-fresh.XXXXXX")"
lab_pid=""
cleanup() {
    if [[ -n "$lab_pid" ]] && kill -0 "$lab_pid" 2>/dev/null; then
        kill -TERM -- "-$lab_pid" 2>/dev/null || true  # make lab's group: make, jupyter, kernels
        sleep 3
        kill -KILL -- "-$lab_pid" 2>/dev/null || true
    fi
    if [[ "$keep" == 1 ]]; then echo "kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", b - a }'; }
human() { awk -v s="$1" 'BEGIN { if (s >= 60) printf "%d min %02d s", s / 60, s % 60; else printf "%d s", s }'; }

# A new machine: no virtual environment active, a home with no caches.
unset VIRTUAL_ENV PYTHONPATH CONDA_PREFIX
export HOME="$work/home" BROWSER=true  # BROWSER=true: JupyterLab opens no browser window
mkdir -p "$HOME"
clone="$work/course"

t0=$(now)
git clone --quiet "$repo" "$clone"
t_clone=$(now)
cd "$clone"
setup_cmd="$(readme_command setup-command README.md)"
test_cmd="$(readme_command test-command README.md)"
[[ -n "$setup_cmd" && -n "$test_cmd" ]] || {
    echo "README.md has no command after <!-- setup-command --> or <!-- test-command -->" >&2; exit 1; }
echo "clone: $(elapsed "$t0" "$t_clone") s ($(git -C "$clone" log --oneline -1))"
echo "set-up command: $setup_cmd"
echo "test command:   $test_cmd"

# 1. The set-up command, in its own process group so the check can stop JupyterLab.
lab_log="$work/setup.log"
t1=$(now)
setsid bash -c "$setup_cmd" >"$lab_log" 2>&1 &
lab_pid=$!
installed=""
url=""
while kill -0 "$lab_pid" 2>/dev/null; do
    if [[ -z "$installed" && -e .venv/.installed ]]; then installed=$(now); fi
    url="$(grep -oE 'http://(localhost|127\.0\.0\.1):[0-9]+/lab[^ ]*token=[0-9a-f]+' "$lab_log" | head -1 || true)"
    if [[ -n "$url" ]]; then
        base="${url%%/lab*}"; token="${url##*token=}"
        # `make lab` roots JupyterLab at the repository: the notebook is at notebooks/.
        if curl -fsS "$base/api/contents/notebooks/00_setup_check.ipynb?token=$token" -o /dev/null 2>/dev/null; then
            break
        fi
    fi
    sleep 1
done
t_lab=$(now)
if [[ -z "$url" ]] || ! kill -0 "$lab_pid" 2>/dev/null; then
    echo "FAILED: '$setup_cmd' did not bring up JupyterLab; its output:" >&2
    tail -40 "$lab_log" >&2
    exit 1
fi
: "${installed:=$t_lab}"
setup_s=$(elapsed "$t1" "$installed")
lab_s=$(elapsed "$installed" "$t_lab")
echo "set-up: install $(human "$setup_s"), then JupyterLab served notebooks/00_setup_check.ipynb after $(human "$lab_s") ($base)"
kill -TERM -- "-$lab_pid" 2>/dev/null || true
wait "$lab_pid" 2>/dev/null || true
lab_pid=""

if [[ "$skip_tests" == 1 ]]; then exit 0; fi

# 2. The test command, as written.
t2=$(now)
status=0
bash -c "$test_cmd" >"$work/test.log" 2>&1 || status=$?
t_test=$(now)
test_s=$(elapsed "$t2" "$t_test")
tail -5 "$work/test.log"
echo "test: $(human "$test_s"), exit status $status"
echo
echo "| step | command | time on this machine ($(nproc) cores) |"
echo "|---|---|---|"
echo "| set up (first time) | \`$setup_cmd\` | $(human "$setup_s") to install, $(human "$lab_s") more until JupyterLab is up |"
echo "| test | \`$test_cmd\` | $(human "$test_s") |"
if [[ "$status" != 0 ]]; then
    echo "FAILED: '$test_cmd' exited with $status; the last lines of its output:" >&2
    tail -60 "$work/test.log" >&2
    exit "$status"
fi
