#!/usr/bin/env bash
# Runs our benchmark binaries (benches/src/bin) side by side with the BEAM and Go anchors
# (shared/anchors), same arguments, rounds interleaved, and prints one comparison table:
# per workload/variant and metric, the median of ours, BEAM and Go and the ratios.
#
#   benches/compare.sh                # ROUNDS=5
#   ROUNDS=3 benches/compare.sh
#   ONLY=ring benches/compare.sh      # only configs whose id contains "ring" (as run.sh)
#   SCHED1=0 benches/compare.sh       # skip the single-scheduler variants
#   ANCHORS=/path/to/anchors RESULTS=/tmp/out TIMEOUT=300 benches/compare.sh
#   PROFILE=release benches/compare.sh   # our binaries from a plain release build
#
# BEAM configs need `elixir`, Go configs need `go`; without them only our figures are shown
# (ratios n/a). Output (RESULTS, default target/compare/): raw.txt (every bench= line tagged
# cfg=ID run=K maxrss_kb=N), commands.txt, failures.txt, env.txt, table.txt, full_table.txt.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
ANCHORS=$(cd "${ANCHORS:-$(dirname "$0")/../../shared/anchors}" && pwd)
ROUNDS=${ROUNDS:-5}
ONLY=${ONLY:-}
SCHED1=${SCHED1:-1}
TIMEOUT=${TIMEOUT:-300}
# The cargo profile our binaries are built with: release-lto (the workspace's Cargo.toml) by
# default.
PROFILE=${PROFILE:-release-lto}
OUT=${RESULTS:-$ROOT/target/compare}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
: >"$OUT/raw.txt"
: >"$OUT/failures.txt"
: >"$OUT/commands.txt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- build ours ---------------------------------------------------------------------------
echo "== building otp-benches (profile $PROFILE)" >&2
(cd "$ROOT" && cargo build --profile "$PROFILE" -p otp-benches)
TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
# A private copy, so a rebuild by someone else during the run cannot swap binaries under us.
mkdir -p "$tmp/otp"
for b in spawn_idle spawn_exit ring ping_pong skynet fan_in selective_receive genserver_call \
  genserver_idle supervisor_restart; do
  cp "$TARGET_DIR/$PROFILE/$b" "$tmp/otp/"
done
OTP=$tmp/otp

# --- build / find the anchors -------------------------------------------------------------
HAVE_GO=0
GOBIN=$tmp/bin
if command -v go >/dev/null 2>&1; then
  echo "== building the Go anchors" >&2
  cp -r "$ANCHORS/go" "$tmp/go"
  if (cd "$tmp/go" && go build -o "$GOBIN/" ./...); then
    HAVE_GO=1
  else
    echo "warning: go build failed; Go columns will be n/a" >&2
  fi
else
  echo "note: go not installed; Go columns will be n/a" >&2
fi
HAVE_BEAM=0
if command -v elixir >/dev/null 2>&1; then
  HAVE_BEAM=1
else
  echo "note: elixir not installed; BEAM columns will be n/a" >&2
fi

{
  echo "date: $(date -u +%FT%TZ)"
  echo "host: $(uname -srm), cpus=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
  echo "mem: $(grep MemTotal /proc/meminfo | sed 's/  */ /g')"
  echo "otp-rs: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && git diff --quiet HEAD -- 2>/dev/null || echo ' (+ uncommitted changes)'), $(rustc --version), profile $PROFILE"
  if [ "$HAVE_BEAM" = 1 ]; then
    echo "erlang: $(erl -noshell -eval 'io:format("~s erts-~s", [erlang:system_info(otp_release), erlang:system_info(version)]), halt().')"
    echo "elixir: $(elixir --version 2>/dev/null | tail -1)"
  fi
  if [ "$HAVE_GO" = 1 ]; then echo "go: $(go version)"; fi
} >"$OUT/env.txt"

# --- configurations: id | group | impl | command (run from the anchors folder) -------------
# Configs of one group are compared with each other. A group "X+suffix" borrows the ours/BEAM
# figures of group X (used for Go's buffered fan_in, which has no counterpart of its own).
BIG_P='--erl "+P 2000000"' # the BEAM needs it above its default 262144-process limit
CFGS=(
  "otp.spawn_idle.100k|spawn_idle.100k|otp|$OTP/spawn_idle 100000"
  "beam.spawn_idle.100k|spawn_idle.100k|beam|elixir beam/spawn_idle.exs 100000"
  "go.spawn_idle.100k|spawn_idle.100k|go|$GOBIN/spawn_idle 100000"
  "otp.spawn_idle.1M|spawn_idle.1M|otp|$OTP/spawn_idle 1000000"
  "beam.spawn_idle.1M|spawn_idle.1M|beam|elixir $BIG_P beam/spawn_idle.exs 1000000"
  "go.spawn_idle.1M|spawn_idle.1M|go|$GOBIN/spawn_idle 1000000"
  "otp.spawn_exit.monitor|spawn_exit.monitor|otp|$OTP/spawn_exit 1000000 monitor"
  "beam.spawn_exit.monitor|spawn_exit.monitor|beam|elixir beam/spawn_exit.exs 1000000 monitor"
  "otp.spawn_exit.monitor_batch|spawn_exit.monitor_batch|otp|$OTP/spawn_exit 1000000 monitor_batch"
  "beam.spawn_exit.monitor_batch|spawn_exit.monitor_batch|beam|elixir beam/spawn_exit.exs 1000000 monitor_batch"
  "otp.spawn_exit.counter|spawn_exit.counter|otp|$OTP/spawn_exit 1000000 counter"
  "beam.spawn_exit.counter|spawn_exit.counter|beam|elixir beam/spawn_exit.exs 1000000 counter"
  "go.spawn_exit|spawn_exit.counter|go|$GOBIN/spawn_exit 1000000"
  "otp.ring.1000x1000|ring.1000x1000|otp|$OTP/ring 1000 1000"
  "beam.ring.1000x1000|ring.1000x1000|beam|elixir beam/ring.exs 1000 1000"
  "go.ring.1000x1000|ring.1000x1000|go|$GOBIN/ring 1000 1000"
  "otp.ring.100000x10|ring.100000x10|otp|$OTP/ring 100000 10"
  "beam.ring.100000x10|ring.100000x10|beam|elixir beam/ring.exs 100000 10"
  "go.ring.100000x10|ring.100000x10|go|$GOBIN/ring 100000 10"
  "otp.ping_pong|ping_pong|otp|$OTP/ping_pong 1000000"
  "beam.ping_pong|ping_pong|beam|elixir beam/ping_pong.exs 1000000"
  "go.ping_pong|ping_pong|go|$GOBIN/ping_pong 1000000"
  "otp.skynet|skynet|otp|$OTP/skynet 1000000 10"
  "beam.skynet|skynet|beam|elixir $BIG_P beam/skynet.exs 1000000 10"
  "go.skynet|skynet|go|$GOBIN/skynet 1000000 10"
  "otp.fan_in|fan_in|otp|$OTP/fan_in 1000 1000"
  "beam.fan_in|fan_in|beam|elixir beam/fan_in.exs 1000 1000"
  "go.fan_in.unbuffered|fan_in|go|$GOBIN/fan_in 1000 1000 0"
  "go.fan_in.buf1024|fan_in+go_buf1024|go|$GOBIN/fan_in 1000 1000 1024"
  "otp.selective_receive|selective_receive|otp|$OTP/selective_receive 10000 1000 100000"
  "beam.selective_receive|selective_receive|beam|elixir beam/selective_receive.exs 10000 1000 100000"
  "otp.genserver_call|genserver_call|otp|$OTP/genserver_call 1000000 8"
  "beam.genserver_call|genserver_call|beam|elixir beam/genserver_call.exs 1000000 8"
  "go.genserver_call|genserver_call|go|$GOBIN/genserver_call 1000000 8"
  # no anchor: ours only (the BEAM's idle-process figures are spawn_idle's and proc_memory.exs)
  "otp.genserver_idle.100k|genserver_idle.100k|otp|$OTP/genserver_idle 100000"
  "otp.supervisor_restart.kill|supervisor_restart.kill|otp|$OTP/supervisor_restart 10000 kill"
  "beam.supervisor_restart.kill|supervisor_restart.kill|beam|elixir beam/supervisor_restart.exs 10000 kill"
  "otp.supervisor_restart.raise|supervisor_restart.raise|otp|$OTP/supervisor_restart 10000 raise"
  "beam.supervisor_restart.raise|supervisor_restart.raise|beam|elixir beam/supervisor_restart.exs 10000 raise"
)
if [ "$SCHED1" = 1 ]; then
  # one scheduler / one P: the per-core cost without cross-core wake-ups
  S1='--erl "+S 1"'
  CFGS+=(
    "otp.S1.spawn_exit.counter|S1.spawn_exit.counter|otp|OTP_SCHEDULERS=1 $OTP/spawn_exit 1000000 counter"
    "beam.S1.spawn_exit.counter|S1.spawn_exit.counter|beam|elixir $S1 beam/spawn_exit.exs 1000000 counter"
    "go.P1.spawn_exit|S1.spawn_exit.counter|go|GOMAXPROCS=1 $GOBIN/spawn_exit 1000000"
    "otp.S1.ring.1000x1000|S1.ring.1000x1000|otp|OTP_SCHEDULERS=1 $OTP/ring 1000 1000"
    "beam.S1.ring.1000x1000|S1.ring.1000x1000|beam|elixir $S1 beam/ring.exs 1000 1000"
    "go.P1.ring.1000x1000|S1.ring.1000x1000|go|GOMAXPROCS=1 $GOBIN/ring 1000 1000"
    "otp.S1.ping_pong|S1.ping_pong|otp|OTP_SCHEDULERS=1 $OTP/ping_pong 1000000"
    "beam.S1.ping_pong|S1.ping_pong|beam|elixir $S1 beam/ping_pong.exs 1000000"
    "go.P1.ping_pong|S1.ping_pong|go|GOMAXPROCS=1 $GOBIN/ping_pong 1000000"
    "otp.S1.skynet|S1.skynet|otp|OTP_SCHEDULERS=1 $OTP/skynet 1000000 10"
    "beam.S1.skynet|S1.skynet|beam|elixir --erl \"+S 1 +P 2000000\" beam/skynet.exs 1000000 10"
    "go.P1.skynet|S1.skynet|go|GOMAXPROCS=1 $GOBIN/skynet 1000000 10"
    "otp.S1.genserver_call|S1.genserver_call|otp|OTP_SCHEDULERS=1 $OTP/genserver_call 1000000 8"
    "beam.S1.genserver_call|S1.genserver_call|beam|elixir $S1 beam/genserver_call.exs 1000000 8"
    "go.P1.genserver_call|S1.genserver_call|go|GOMAXPROCS=1 $GOBIN/genserver_call 1000000 8"
  )
fi

for c in "${CFGS[@]}"; do
  IFS='|' read -r id group impl cmd <<<"$c"
  if [ -n "$ONLY" ] && [[ $id != *"$ONLY"* ]]; then continue; fi
  if [ "$impl" = beam ] && [ "$HAVE_BEAM" = 0 ]; then continue; fi
  if [ "$impl" = go ] && [ "$HAVE_GO" = 0 ]; then continue; fi
  printf '%s\t%s\t%s\t%s\n' "$id" "$group" "$impl" "$cmd" >>"$OUT/commands.txt"
done
if [ ! -s "$OUT/commands.txt" ]; then
  echo "no configuration matches ONLY=$ONLY" >&2
  exit 1
fi

# peak RSS of each run, as run.sh records it (skipped if GNU time is missing)
TIME=()
if [ -x /usr/bin/time ]; then TIME=(/usr/bin/time -f 'maxrss_kb=%M' -o "$tmp/time"); fi

run_one() { # id cmd round
  local id=$1 cmd=$2 k=$3 rc=0 out lines rss
  : >"$tmp/time"
  out=$(cd "$ANCHORS" && "${TIME[@]}" timeout "$TIMEOUT" bash -c "$cmd" </dev/null 2>"$tmp/err") || rc=$?
  lines=$(grep '^bench=' <<<"$out" || true)
  if [ -n "$lines" ]; then
    rss=$(grep -o 'maxrss_kb=[0-9]*' "$tmp/time" | tail -1 || true)
    sed "s/\$/ cfg=$id run=$k $rss/" <<<"$lines" >>"$OUT/raw.txt"
  elif [ "$rc" = 2 ] && grep -q 'unsupported' "$tmp/err"; then
    echo "cfg=$id run=$k UNSUPPORTED: $(grep -m1 unsupported "$tmp/err")" >>"$OUT/failures.txt"
  else
    local why
    why=$(grep -v '^Command exited' "$tmp/err" | tail -1 || true)
    [ "$rc" = 124 ] && why="timeout after ${TIMEOUT}s"
    echo "cfg=$id run=$k FAILED (exit $rc): $cmd: $why" >>"$OUT/failures.txt"
  fi
}

for k in $(seq 1 "$ROUNDS"); do
  echo "== round $k/$ROUNDS" >&2
  while IFS=$'\t' read -r id _group _impl cmd; do
    echo "   $id" >&2
    run_one "$id" "$cmd" "$k"
  done <"$OUT/commands.txt"
done

python3 "$HERE/compare.py" "$OUT/raw.txt" "$OUT/commands.txt" "$OUT/failures.txt" \
  --full "$OUT/full_table.txt" | tee "$OUT/table.txt"
echo
cat "$OUT/env.txt"
if [ -s "$OUT/failures.txt" ]; then
  echo
  echo "failures / unsupported:"
  cat "$OUT/failures.txt"
fi
echo
echo "raw results: $OUT/raw.txt; every metric: $OUT/full_table.txt"
