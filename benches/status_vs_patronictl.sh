#!/usr/bin/env bash
# Whole-process comparison on the running local sandbox (figures in README):
#   pigsty-tui status -c pg-test   vs   patronictl list pg-test
# and the idle CPU of the console at 2 s polling.
# Needs: tests/sandbox/sandbox up (etcd or consul), a release build.
#   benches/status_vs_patronictl.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
export PIGSTY_TUI_LOOPBACK_ONLY=1
runs=${1:-20}
dir=$(readlink -f "${PIGSTY_SANDBOX_DIR:-/tmp/pigsty-sandbox}")
mode=$(cat "$dir/mode" 2>/dev/null || { echo "sandbox not up: run tests/sandbox/sandbox up" >&2; exit 1; })
inventory=inventory/local.yml
[ "$mode" = consul ] && inventory=inventory/local-v1.yml
cfg="$dir/127.0.0.11/pg/bin/patroni.yml"
bin=${CARGO_TARGET_DIR:-target}/release/pigsty-tui
cargo build --release --quiet

# mean wall time of a command over $runs runs, in ms
mean_ms() {
  local start end
  start=$(date +%s%N)
  for _ in $(seq "$runs"); do "$@" >/dev/null 2>&1 || true; done
  end=$(date +%s%N)
  echo $(( (end - start) / runs / 1000000 ))
}

"$bin" status -i "$inventory" -c pg-test >/dev/null 2>&1 || true   # warm caches
ours=$(mean_ms "$bin" status -i "$inventory" -c pg-test)
theirs=$(mean_ms env -i PATH=/usr/bin:/bin patronictl -c "$cfg" list pg-test)
echo "DCS $mode, $runs runs each"
echo "pigsty-tui status -c pg-test: ${ours} ms"
echo "patronictl list pg-test:      ${theirs} ms"
awk -v a="$ours" -v b="$theirs" 'BEGIN { if (a > 0) printf "speed-up: %.1fx\n", b / a }'

# Idle CPU of the console polling the sandbox every 2 s, measured over 30 s.
session=pigsty-tui-bench-$$
tmux new-session -d -s "$session" -x 160 -y 48 "PIGSTY_TUI_LOOPBACK_ONLY=1 $bin -i $inventory --refresh 2"
sleep 5
pid=$(pgrep -n -f "^$bin -i $inventory --refresh 2" || true)
if [ -n "$pid" ]; then
  t0=$(awk '{print $14 + $15}' "/proc/$pid/stat"); sleep 30; t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  hz=$(getconf CLK_TCK)
  awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN { printf "console idle CPU at 2 s polling: %.2f%% of a core\n", (b - a) / hz / 30 * 100 }'
  echo "console RSS: $(awk '/VmRSS/ {print $2 " " $3}' "/proc/$pid/status")"
fi
tmux kill-session -t "$session" 2>/dev/null || true
