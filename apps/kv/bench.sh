#!/usr/bin/env bash
# redis-benchmark against kv and against Debian's redis-server, side by side on loopback:
# SET and GET, 50 clients, without and with pipelining (-P 16), rounds interleaved (kv,
# redis, kv, redis, ...) so that both see the same machine. Prints the median ops/s of each,
# the ratio kv/redis, and one `bench=` line per implementation and test, in the format of
# benches/README.md (`bench=NAME impl=IMPL key=value ...`).
#
#   apps/kv/bench.sh                      # ROUNDS=3, N=100000
#   ROUNDS=5 N=200000 apps/kv/bench.sh
#   KV_FLAGS="--aof /tmp/kvdata --fsync everysec" apps/kv/bench.sh
#
# Both servers run without persistence by default (redis-server with --save '' --appendonly
# no, kv in memory).
#
# OURS_BIN overrides the server started as "ours" (it gets `--port 0 --bind 127.0.0.1` and
# $KV_FLAGS, and must print `listening on ADDR` on stdout, as kv does); by default, the
# release build of kv.
#
# Installing the tools, building kv, starting it and stopping everything on exit come from
# scripts/common.sh, shared with tests/redis_cli.sh.
set -euo pipefail

# ROOT, WORK, the exit trap, and the install/build/start helpers.
# shellcheck source=SCRIPTDIR/scripts/common.sh
. "$(dirname "$0")/scripts/common.sh"

ROUNDS=${ROUNDS:-3}
N=${N:-100000}
CLIENTS=${CLIENTS:-50}
KV_FLAGS=${KV_FLAGS:-}

ensure_commands redis-server=redis-server redis-benchmark=redis-tools

if [ -z "${OURS_BIN:-}" ]; then
  build_kv
  OURS_BIN=$KV_BIN
fi

# A port nothing listens on, below the kernel's ephemeral range (so no outgoing connection
# holds it either).
free_port() {
  local p low
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  for p in $(shuf -i 20000-$((low - 1)) -n 50); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  echo "no free port found" >&2
  exit 1
}

# wait_ready NAME PID PORT: 0 once it answers PING, 1 if it exited first.
wait_ready() {
  for _ in $(seq 1 200); do
    if ! kill -0 "$2" 2>/dev/null; then return 1; fi
    if answers_ping "$3"; then return 0; fi
    sleep 0.05
  done
  echo "$1 did not answer PING within 10 s" >&2
  exit 1
}

# Ours on a port the kernel picks (--port 0), read from its "listening on ADDR" line.
# shellcheck disable=SC2086
start_listening "$WORK/ours.out" "$WORK/ours.log" kv "$OURS_BIN" --port 0 --bind 127.0.0.1 $KV_FLAGS
OURS_PORT=$PORT

# redis-server on a free port; another try if something took it meanwhile.
for attempt in 1 2 3 4 5; do
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$WORK" >"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  SERVERS+=("$REDIS_PID")
  if wait_ready redis-server "$REDIS_PID" "$REDIS_PORT"; then
    break
  fi
  forget_server "$REDIS_PID"
  if [ $attempt = 5 ]; then
    echo "redis-server did not start:" >&2
    cat "$WORK/redis.log" >&2
    exit 1
  fi
done

echo "== kv on $OURS_PORT, redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on $REDIS_PORT; $ROUNDS rounds of SET,GET x $N, $CLIENTS clients" >&2

# One line per run: impl pipeline test ops_per_s
: >"$WORK/runs"
for round in $(seq 1 "$ROUNDS"); do
  for pipeline in 1 16; do
    for impl in otp redis; do
      port=$OURS_PORT
      if [ $impl = redis ]; then port=$REDIS_PORT; fi
      redis-benchmark -p "$port" -t set,get -c "$CLIENTS" -n "$N" -P "$pipeline" --csv 2>/dev/null |
        tail -n +2 | tr -d '"' |
        awk -F, -v impl=$impl -v p="$pipeline" '{print impl, p, tolower($1), $2}' >>"$WORK/runs"
      echo "   round $round, -P $pipeline, $impl: $(grep "^$impl $pipeline " "$WORK/runs" | tail -2 | awk '{printf "%s %s  ", $3, $4}')" >&2
    done
  done
done

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) {print "nan"} else if (NR % 2) {print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2}}'; }

printf '\n%-5s %-9s %14s %14s %8s\n' test pipeline "kv ops/s" "redis ops/s" kv/redis
for pipeline in 1 16; do
  for test in set get; do
    ours=$(awk -v p="$pipeline" -v t=$test '$1 == "otp" && $2 == p && $3 == t {print $4}' "$WORK/runs" | median)
    theirs=$(awk -v p="$pipeline" -v t=$test '$1 == "redis" && $2 == p && $3 == t {print $4}' "$WORK/runs" | median)
    ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "nan"}')
    printf '%-5s %-9s %14.0f %14.0f %7sx\n' "$test" "$pipeline" "$ours" "$theirs" "$ratio"
    echo "bench=kv_redis_benchmark impl=otp test=$test pipeline=$pipeline clients=$CLIENTS requests=$N rounds=$ROUNDS ops_per_s=$(printf %.0f "$ours") ratio_vs_redis=$ratio" >>"$WORK/lines"
    echo "bench=kv_redis_benchmark impl=redis test=$test pipeline=$pipeline clients=$CLIENTS requests=$N rounds=$ROUNDS ops_per_s=$(printf %.0f "$theirs")" >>"$WORK/lines"
  done
done
echo
cat "$WORK/lines"
