#!/usr/bin/env bash
# The console polling 1,000 instances for a long time (issue #8, README
# "Benchmarks"): benches/poll_scale.rs serves a generated 100 x 10 deployment
# on loopback (10 % of the nodes dead) and holds its responders; the release
# console runs against it in a 160x48 tmux pane at 2 s polling; its resident
# memory and CPU are sampled every minute. The budget: RSS < 40 MB after an
# hour, and no growth.
#
# Needs: tmux. The sandbox is not needed (loopback responders only).
#   benches/console_scale.sh [MINUTES=60]
set -euo pipefail
cd "$(dirname "$0")/.."
export PIGSTY_TUI_LOOPBACK_ONLY=1
minutes=${1:-60}
bin=${CARGO_TARGET_DIR:-target}/release/pigsty-tui
cargo build --release --quiet
bench=$(cargo bench --bench poll_scale --no-run 2>&1 | sed -n 's/.*Executable .* (\(.*\))$/\1/p' | tail -n 1)
[ -x "$bench" ] || { echo "cannot find the poll_scale bench binary" >&2; exit 1; }

tmp=$(mktemp -d)
session=pigsty-tui-scale-$$
responders=
cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  if [ -n "$responders" ]; then kill "$responders" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

"$bench" --hold $(( minutes * 60 + 300 )) --inventory "$tmp/scale.yml" > "$tmp/responders.log" 2>&1 &
responders=$!
for _ in $(seq 600); do grep -q "holding the responders" "$tmp/responders.log" && break; sleep 1; done
grep -q "holding the responders" "$tmp/responders.log" || { cat "$tmp/responders.log" >&2; exit 1; }
grep -E "^(responders|one-shot|collector|CPU)" "$tmp/responders.log" || true

tmux new-session -d -s "$session" -x 160 -y 48 \
  "PIGSTY_TUI_LOOPBACK_ONLY=1 XDG_STATE_HOME=$tmp/state exec $bin -i $tmp/scale.yml --refresh 2"
sleep 5
pid=$(tmux list-panes -t "$session" -F '#{pane_pid}')
hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
echo "console pid $pid, 1,000 instances, 2 s polling, $minutes min"
echo "minute  RSS_MB  CPU_%_of_a_core_over_the_minute"
prev=$(cpu)
for m in $(seq "$minutes"); do
  sleep 60
  [ -d "/proc/$pid" ] || { echo "the console exited" >&2; tmux capture-pane -p -t "$session" >&2 || true; exit 1; }
  now=$(cpu)
  awk -v m="$m" -v r="$(rss)" -v a="$prev" -v b="$now" -v hz="$hz" \
    'BEGIN { printf "%6d  %6.1f  %5.1f\n", m, r / 1024, (b - a) / hz / 60 * 100 }'
  prev=$now
done
echo "screen at the end:"
tmux capture-pane -p -t "$session" | head -n 12
