#!/usr/bin/env bash
# Whole-process figures on the running local sandbox (README "Benchmarks"):
#   1. pigsty-tui status -c pg-test   vs   patronictl list pg-test
#      (interleaved runs, medians: the machine is shared, loads vary)
#   2. the console's idle CPU and resident memory at 2 s polling, from
#      /proc/PID/stat utime+stime over IDLE seconds, in a 160x48 tmux pane
#   3. start-up to the first frame (strace timestamps, when strace exists)
# Needs: tests/sandbox/sandbox up (etcd or consul), tmux; builds --release.
#   benches/status_vs_patronictl.sh [RUNS=20] [IDLE=60]
set -euo pipefail
cd "$(dirname "$0")/.."
export PIGSTY_TUI_LOOPBACK_ONLY=1
runs=${1:-20}
idle=${2:-60}
dir=$(readlink -f "${PIGSTY_SANDBOX_DIR:-/tmp/pigsty-sandbox}")
mode=$(cat "$dir/mode" 2>/dev/null || { echo "sandbox not up: run tests/sandbox/sandbox up" >&2; exit 1; })
inventory=inventory/local.yml
[ "$mode" = consul ] && inventory=inventory/local-v1.yml
cfg="$dir/127.0.0.11/pg/bin/patroni.yml"
bin=${CARGO_TARGET_DIR:-target}/release/pigsty-tui
cargo build --release --quiet

# wall time of one run of a command, in tenths of a millisecond
run_ms10() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || true
  end=$(date +%s%N)
  echo $(( (end - start) / 100000 ))
}
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {printf "%.1f", ((NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2) / 10}'; }

"$bin" status -i "$inventory" -c pg-test >/dev/null 2>&1 || true   # warm caches
ours=(); theirs=()
for _ in $(seq "$runs"); do
  ours+=("$(run_ms10 "$bin" status -i "$inventory" -c pg-test)")
  theirs+=("$(run_ms10 env -i PATH=/usr/bin:/bin patronictl -c "$cfg" list pg-test)")
done
a=$(median "${ours[@]}"); b=$(median "${theirs[@]}")
echo "DCS $mode, $runs interleaved runs each, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "pigsty-tui status -c pg-test: median ${a} ms"
echo "patronictl list pg-test:      median ${b} ms"
awk -v a="$a" -v b="$b" 'BEGIN { if (a > 0) printf "speed-up: %.1fx\n", b / a }'

# Idle CPU and RSS of the console polling the sandbox every 2 s.
session=pigsty-tui-bench-$$
tmux new-session -d -s "$session" -x 160 -y 48 "PIGSTY_TUI_LOOPBACK_ONLY=1 exec $bin -i $inventory --refresh 2"
trap 'tmux kill-session -t "$session" 2>/dev/null || true' EXIT
sleep 8
pid=$(tmux list-panes -t "$session" -F '#{pane_pid}')
hz=$(getconf CLK_TCK)
t0=$(awk '{print $14 + $15}' "/proc/$pid/stat"); sleep "$idle"; t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$idle" \
  'BEGIN { printf "console idle CPU at 2 s polling: %.2f%% of a core (over %d s)\n", (b - a) / hz / s * 100, s }'
echo "console RSS: $(awk '/VmRSS/ {print $2 " " $3}' "/proc/$pid/status"), threads: $(ls "/proc/$pid/task" | wc -l)"
tmux kill-session -t "$session"

# Start-up to the first frame: exec to the first full-screen write.
if command -v strace >/dev/null; then
  firsts=()
  for i in 1 2 3 4 5; do
    trace=$(mktemp)
    tmux new-session -d -s "$session" -x 160 -y 48 \
      "PIGSTY_TUI_LOOPBACK_ONLY=1 strace --seccomp-bpf -f -ttt -e trace=execve,write -o $trace $bin -i $inventory --refresh 2"
    sleep 3
    tmux kill-session -t "$session"
    sleep 0.5
    firsts+=("$(awk 'NR == 1 { t0 = ($1 ~ /\./) ? $1 : $2 }
      /write\(1, "\\33\[1;1H/ { t = ($1 ~ /\./) ? $1 : $2; printf "%d", (t - t0) * 10000; exit }' "$trace")")
    rm -f "$trace"
  done
  echo "start-up to first frame: median $(median "${firsts[@]}") ms (of 5, under strace)"
fi
