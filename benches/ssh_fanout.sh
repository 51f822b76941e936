#!/usr/bin/env bash
# SSH fan-out at 50 hosts (issue #8, README "Benchmarks"): `pigsty-tui run
# inspect` of a 50-member cluster whose hosts are the loopback addresses
# 127.0.3.1-50, answered by extra sshd daemons started here (port 2200, one
# host key, the sandbox's admin user and key; 16 addresses per daemon, the
# most OpenSSH listens on). Every host runs the real
# inspection script (psql against node-1's Postgres, df, free, ss, Patroni
# health) as the database superuser through sudo. Reports, per run, the step's
# wall time against the slowest host's own time; the budget is < 2x.
#
# Needs: root, the sandbox up (tests/sandbox/sandbox up), a release build.
#   benches/ssh_fanout.sh [RUNS=5] [HOSTS=50]
set -euo pipefail
cd "$(dirname "$0")/.."
export PIGSTY_TUI_LOOPBACK_ONLY=1
runs=${1:-5}
hosts=${2:-50}
[ "$(id -u)" = 0 ] || { echo "run as root (it starts an sshd)" >&2; exit 1; }
dir=$(readlink -f "${PIGSTY_SANDBOX_DIR:-/tmp/pigsty-sandbox}")
[ -f "$dir/mode" ] || { echo "sandbox not up: run tests/sandbox/sandbox up" >&2; exit 1; }
bin=${CARGO_TARGET_DIR:-target}/release/pigsty-tui
cargo build --release --quiet

tmp=$(mktemp -d)
cleanup() {
  for pf in "$tmp"/sshd-*.pid; do
    if [ -s "$pf" ]; then kill "$(cat "$pf")" 2>/dev/null || true; fi
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -f "$tmp/host_key"
# OpenSSH listens on at most 16 addresses per daemon: one sshd per 16 hosts,
# all with the same configuration and host key.
daemons=$(( (hosts + 15) / 16 ))
for d in $(seq 0 $(( daemons - 1 ))); do
  {
    echo "Port 2200"
    for i in $(seq $(( d * 16 + 1 )) $(( d * 16 + 16 ))); do
      if [ "$i" -le "$hosts" ]; then echo "ListenAddress 127.0.3.$i"; fi
    done
    cat <<EOF
HostKey $tmp/host_key
PidFile $tmp/sshd-$d.pid
UsePAM no
StrictModes no
PermitRootLogin no
AllowUsers dba
PubkeyAuthentication yes
AuthorizedKeysFile $dir/ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PrintMotd no
# every host connects at once
MaxStartups 200:30:400
EOF
  } > "$tmp/sshd_config-$d"
  /usr/sbin/sshd -f "$tmp/sshd_config-$d" -E "$tmp/sshd-$d.log"
  for _ in $(seq 50); do [ -s "$tmp/sshd-$d.pid" ] && break; sleep 0.1; done
  [ -s "$tmp/sshd-$d.pid" ] || { echo "sshd $d did not start:" >&2; cat "$tmp/sshd-$d.log" >&2; exit 1; }
done

{
  echo "all:"
  echo "  children:"
  echo "    pg-fan:"
  echo "      hosts:"
  for i in $(seq "$hosts"); do
    role=replica; [ "$i" = 1 ] && role=primary
    echo "        127.0.3.$i: { pg_seq: $i, pg_role: $role }"
  done
  cat <<EOF
      vars:
        pg_cluster: pg-fan
  vars:
    ansible_port: 2200
    ansible_user: dba
    ansible_ssh_private_key_file: $dir/ssh/id_ed25519
    pg_dbsu: postgres
    pg_data: $dir/127.0.0.11/pg/data
    pg_localhost: $dir/127.0.0.11/run/postgresql
EOF
} > "$tmp/fanout.yml"

# One host alone, for scale: on this one machine the 50 "hosts" share its
# CPUs, so each host's own time stretches with the fan-out.
awk '/^        127\.0\.3\.1:/ || !/^        127\.0\.3\./' "$tmp/fanout.yml" > "$tmp/solo.yml"
solo=()
for r in 1 2 3; do
  XDG_STATE_HOME=$tmp/solo-$r XDG_CONFIG_HOME=$tmp/solo-$r "$bin" run inspect -i "$tmp/solo.yml" -c pg-fan \
    --known-hosts "$tmp/known_hosts-solo-$r" --accept-new-host-keys >/dev/null 2>"$tmp/solo-err-$r" || true
  solo+=("$(sed -n 's/.*collect facts: [a-z]* in \([0-9.]*\)s.*/\1/p' "$tmp/solo-err-$r")")
done
echo "one host alone: ${solo[*]} s"
echo "inspection of $hosts hosts ($daemons sshd on 127.0.3.1-$hosts), $runs runs, load $(cut -d' ' -f1-3 /proc/loadavg)"
ratios=()
for r in $(seq "$runs"); do
  state=$tmp/state-$r
  mkdir -p "$state"
  # a fresh known_hosts each run: every connection is a new one
  XDG_STATE_HOME=$state XDG_CONFIG_HOME=$state "$bin" run inspect -i "$tmp/fanout.yml" -c pg-fan \
    --known-hosts "$tmp/known_hosts-$r" --accept-new-host-keys >/dev/null 2>"$tmp/err-$r" || true
  line=$(awk '
    /^  pg-fan-[0-9]+: (succeeded|failed)/ {
      if (match($0, /\((exit -?[0-9]+, )?[0-9.]+s\)/)) {
        s = substr($0, RSTART, RLENGTH); sub(/.* /, "", s); sub(/^\(/, "", s); sub(/s\)$/, "", s)
        n++; if (s + 0 > max) max = s + 0; if (n == 1 || s + 0 < min) min = s + 0
      }
    }
    /collect facts: (succeeded|failed) in/ {
      match($0, /in [0-9.]+s/); t = substr($0, RSTART + 3, RLENGTH - 4)
    }
    END { if (n == 0 || max == 0) exit 1; printf "%d %.3f %.3f %.3f %.2f", n, t, min, max, t / max }' "$tmp/err-$r") || {
    echo "run $r: no per-host times; stderr:" >&2; cat "$tmp/err-$r" >&2; exit 1; }
  read -r n total fastest slowest ratio <<<"$line"
  echo "run $r: $n hosts, step ${total}s, hosts ${fastest}-${slowest}s: ${ratio}x the slowest host"
  ratios+=("$ratio")
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{v[NR]=$1} END {printf "median: %.2fx the slowest host (budget < 2x)\n", (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'
