#!/usr/bin/env bash
# Drives a kv server with real clients nobody here wrote: Debian's redis-cli, plus raw bytes
# over bash's /dev/tcp for malformed input. Run by CI (.ci/run), after the tests.
#
#   apps/kv/tests/redis_cli.sh                  # builds kv (release), runs it on a port the
#                                               # kernel picks (--port 0), read from its
#                                               # "listening on" line
#   KV_EXTERNAL_PORT=6379 apps/kv/tests/redis_cli.sh
#                                               # only the generic checks, against a server
#                                               # already running there (e.g. redis-server,
#                                               # to check the expectations themselves)
#
# What it checks: SET/GET/DEL/EXISTS/INCR/EXPIRE/TTL/KEYS/MGET/MSET/DBSIZE/FLUSHALL and their
# errors; pub/sub between two redis-cli processes; malformed input (the error, then the
# connection closed, and the server still serving); then, with --fsync always, a shard killed
# mid-load (DEBUG KILLSHARD) while two redis-cli clients write: no acknowledged write lost,
# only the killed shard's writes refused, the other shards' processes untouched; and a clean
# restart from the append-only files.
#
# Exit status: 0 if every check passed, 1 otherwise. The server and every background client
# are stopped on exit, whatever happens; every wait is bounded (a hung server fails the run
# within a minute or two instead of hanging it). About 20 s once kv is built.
#
# Installing redis-tools, building kv, starting it and stopping everything on exit come from
# ../scripts/common.sh, shared with bench.sh.
set -euo pipefail

# ROOT, WORK, the exit trap, and the install/build/start helpers.
# shellcheck source=SCRIPTDIR/../scripts/common.sh
. "$(dirname "$0")/../scripts/common.sh"

LOAD=${LOAD:-20000}

# --- redis-cli ----------------------------------------------------------------------------
ensure_commands redis-cli=redis-tools

SERVER_PID=

FAILED=0
PASSED=0
fail() {
  echo "FAIL: $*" >&2
  FAILED=$((FAILED + 1))
}
pass() { PASSED=$((PASSED + 1)); }

# Starts kv on a port the kernel picks, with the flags given; sets PORT from its "listening
# on ADDR" line and waits until it answers PING.
start_kv() {
  start_listening "$WORK/kv.out" "$WORK/kv.log" kv "$KV" --port 0 "$@"
}

stop_kv() {
  kill -TERM "$SERVER_PID"
  for _ in $(seq 1 200); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    fail "kv did not stop within 20 s of SIGTERM"
    kill -KILL "$SERVER_PID"
  fi
  wait "$SERVER_PID" || fail "kv exited with status $? on SIGTERM"
  forget_server "$SERVER_PID"
  SERVER_PID=
}

if [ -n "${KV_EXTERNAL_PORT:-}" ]; then
  PORT=$KV_EXTERNAL_PORT
  EXTERNAL=1
else
  EXTERNAL=0
  build_kv
  KV=$KV_BIN
  start_kv --aof "$WORK/aof" --fsync always --shards 4 --enable-debug-command yes
fi
echo "== server on port $PORT" >&2

# Every client is bounded in time: a hung server fails the check instead of hanging the run.
cli() { timeout 20 redis-cli -p "$PORT" "$@" 2>&1; }

# expect WANT CMD...: the command's output (trailing newlines dropped) must be WANT.
expect() {
  local want=$1
  shift
  local got
  got=$(cli "$@")
  if [ "$got" = "$want" ]; then pass; else fail "$* -> $(printf %q "$got"), expected $(printf %q "$want")"; fi
}

# expect_in A|B CMD...: the output must be one of the |-separated values.
expect_in() {
  local options=$1
  shift
  local got
  got=$(cli "$@")
  case "|$options|" in
  *"|$got|"*) pass ;;
  *) fail "$* -> $(printf %q "$got"), expected one of $options" ;;
  esac
}

# --- the commands -------------------------------------------------------------------------
echo "== commands" >&2
expect OK FLUSHALL
expect PONG PING
expect hello ECHO hello
expect OK SET foo bar
expect bar GET foo
expect "" GET nosuch
expect OK MSET a 1 b 2 c 3
expect 2 EXISTS a b zz
expect 3 EXISTS a a b
expect 2 DEL a b zz
expect 0 EXISTS a b
expect OK SET n 10
expect 11 INCR n
expect 16 INCRBY n 5
expect 15 DECR n
expect 5 DECRBY n 10
expect "ERR value is not an integer or out of range" INCR foo
expect OK SET big 9223372036854775807
expect "ERR increment or decrement would overflow" INCR big
expect OK SET t v
expect 1 EXPIRE t 100
expect_in "100|99" TTL t
expect 1 PERSIST t
expect -1 TTL t
expect -2 TTL nosuch
expect OK SET short v PX 100000
expect_in "100|99" TTL short
expect 1 EXPIRE short 0
expect 0 EXISTS short
expect OK MSET user:1 alice user:2 bob other x
got=$(cli KEYS 'user:*' | sort | tr '\n' ' ')
if [ "$got" = "user:1 user:2 " ]; then pass; else fail "KEYS user:* -> $got"; fi
got=$(cli MGET user:1 nosuch user:2 | tr '\n' ,)
if [ "$got" = "alice,,bob," ]; then pass; else fail "MGET -> $got"; fi
expect 8 DBSIZE
expect OK FLUSHALL
expect 0 DBSIZE
expect "" KEYS '*'
expect "ERR wrong number of arguments for 'get' command" GET
expect "ERR unknown command 'FOO', with args beginning with: 'x' " FOO x
expect "ERR syntax error" SET k v NX XX
expect "ERR invalid expire time in 'set' command" SET k v EX 0
# Inline commands, as redis-cli sends what it reads from a pipe.
got=$(printf 'SET piped "two words"\nGET piped\n' | timeout 20 redis-cli -p "$PORT" | tr '\n' ,)
if [ "$got" = "OK,two words," ]; then pass; else fail "piped commands -> $got"; fi

# --- pub/sub across two clients -----------------------------------------------------------
echo "== pub/sub" >&2
timeout 60 redis-cli -p "$PORT" SUBSCRIBE news >"$WORK/sub.out" 2>&1 &
BACKGROUND+=($!)
subscribed=0
for i in $(seq 1 200); do
  # Probe messages until the subscriber is in (PUBLISH answers how many got it).
  if [ "$(cli PUBLISH news probe)" = 1 ]; then
    subscribed=1
    break
  fi
  sleep 0.05
done
if [ $subscribed = 1 ]; then pass; else fail "the subscriber never subscribed"; fi
expect 1 PUBLISH news hello
expect 0 PUBLISH weather rain
for i in $(seq 1 200); do
  if grep -q '^hello$' "$WORK/sub.out"; then break; fi
  sleep 0.05
done
if tr '\n' ' ' <"$WORK/sub.out" | grep -q 'message news hello'; then
  pass
else
  fail "the subscriber got: $(tr '\n' ' ' <"$WORK/sub.out")"
fi
if head -3 "$WORK/sub.out" | tr '\n' ' ' | grep -q '^subscribe news 1 $'; then
  pass
else
  fail "subscribe confirmation: $(head -3 "$WORK/sub.out" | tr '\n' ' ')"
fi

# --- malformed input ----------------------------------------------------------------------
echo "== malformed input" >&2
# raw FORMAT: sends printf FORMAT over a fresh connection; prints what comes back until the
# server closes it (at most 5 s), then "<closed>" if it did.
raw() {
  exec 3<>"/dev/tcp/127.0.0.1/$PORT"
  # shellcheck disable=SC2059
  printf "$1" >&3
  local out status=0
  out=$(timeout 5 cat <&3) || status=$?
  exec 3<&- 3>&-
  printf '%s' "$out" | tr -d '\r'
  if [ $status = 0 ]; then printf '\n<closed>'; fi
}
expect_raw() {
  local input=$1 want=$2 got
  got=$(raw "$input")
  if [ "$got" = "$want" ]; then pass; else fail "raw $(printf %q "$input") -> $(printf %q "$got"), expected $(printf %q "$want")"; fi
}
expect_raw '*1\r\n$-3\r\n' "-ERR Protocol error: invalid bulk length
<closed>"
expect_raw '*2\r\nx3\r\nget\r\n' "-ERR Protocol error: expected '\$', got 'x'
<closed>"
expect_raw '*abc\r\n' "-ERR Protocol error: invalid multibulk length
<closed>"
expect_raw 'SET "open quote\r\n' "-ERR Protocol error: unbalanced quotes in request
<closed>"
expect_raw 'PING\r\nQUIT\r\n' "+PONG
+OK
<closed>"
# A client that sends half a request and hangs up.
(exec 3<>"/dev/tcp/127.0.0.1/$PORT" && printf '*3\r\n$3\r\nSET\r\n$4\r\nhalf' >&3)
expect 0 EXISTS half
expect PONG PING

if [ $EXTERNAL = 1 ]; then
  echo "== $PASSED checks passed, $FAILED failed (external server: kv-specific checks skipped)" >&2
  [ $FAILED = 0 ]
  exit
fi

# --- a shard killed mid-load, --fsync always ----------------------------------------------
echo "== killing shard 1 while two clients write" >&2
expect OK FLUSHALL
before=$(cli INFO shards | tr -d '\r' | grep '^shard_')
for w in 1 2; do
  seq 1 "$LOAD" | sed "s/.*/SET load:$w:& &/" >"$WORK/load$w.in"
  # --no-raw: one line per reply, errors included. It also prints "(0.52s)" after a reply
  # that took half a second or more; those lines are dropped below.
  timeout 120 redis-cli -p "$PORT" --no-raw <"$WORK/load$w.in" >"$WORK/load$w.raw" 2>&1 &
  BACKGROUND+=($!)
  eval "LOADER$w=\$!"
done
# Mid-load: once a tenth of the writes are in.
for i in $(seq 1 400); do
  n=$(cli DBSIZE)
  if [ "$n" -ge $((LOAD / 5)) ]; then break; fi
  sleep 0.05
done
report=$(cli DEBUG KILLSHARD 1)
case "$report" in
"OK shard 1 "*" exited :killed; restarted as "*) pass ;;
*) fail "DEBUG KILLSHARD 1 -> $report" ;;
esac
# shellcheck disable=SC2154
wait "$LOADER1" "$LOADER2" || true
load_size=$(cli DBSIZE)
after=$(cli INFO shards | tr -d '\r' | grep '^shard_')

# Every write answered OK must be there; every refused one must be shard 1's.
acked=0
refused=0
for w in 1 2; do
  grep -Ev '^\([0-9]+\.[0-9]+s\)$' "$WORK/load$w.raw" >"$WORK/load$w.out" || true
  if [ "$(wc -l <"$WORK/load$w.out")" != "$LOAD" ]; then
    fail "loader $w: $(wc -l <"$WORK/load$w.out") replies to $LOAD writes"
  fi
  paste -d' ' "$WORK/load$w.in" "$WORK/load$w.out" >"$WORK/load$w.both"
  grep ' OK$' "$WORK/load$w.both" | awk '{print "GET", $2}' >"$WORK/check$w.in"
  grep ' OK$' "$WORK/load$w.both" | awk '{print $3}' >"$WORK/check$w.want"
  timeout 120 redis-cli -p "$PORT" <"$WORK/check$w.in" >"$WORK/check$w.got"
  if cmp -s "$WORK/check$w.want" "$WORK/check$w.got"; then pass; else
    fail "loader $w: acknowledged writes missing: $(diff "$WORK/check$w.want" "$WORK/check$w.got" | head -5)"
  fi
  acked=$((acked + $(wc -l <"$WORK/check$w.in")))
  grep -v ' OK$' "$WORK/load$w.both" | awk '{print "DEBUG SHARDOF", $2}' >"$WORK/refused$w.in" || true
  if [ -s "$WORK/refused$w.in" ]; then
    refused=$((refused + $(wc -l <"$WORK/refused$w.in")))
    if timeout 60 redis-cli -p "$PORT" <"$WORK/refused$w.in" | grep -qv '^1$'; then
      fail "loader $w: a write to another shard than 1 was refused"
    else
      pass
    fi
  fi
done
echo "   $acked writes acknowledged, $refused refused around the kill" >&2
if [ "$load_size" -ge "$acked" ] && [ "$acked" -gt "$LOAD" ]; then pass; else
  fail "$load_size keys after the load, $acked writes acknowledged"
fi
# The other shards: same processes, no restarts; shard 1: restarted once.
for s in 0 2 3; do
  b=$(grep "^shard_$s:" <<<"$before" | sed 's/,.*//')
  a=$(grep "^shard_$s:" <<<"$after" | sed 's/,.*//')
  if [ "$a" = "$b" ] && grep "^shard_$s:" <<<"$after" | grep -q 'restarts=0'; then pass; else
    fail "shard $s changed: before $b, after $(grep "^shard_$s:" <<<"$after")"
  fi
done
if grep '^shard_1:' <<<"$after" | grep -q 'restarts=1'; then pass; else fail "shard 1: $(grep '^shard_1:' <<<"$after")"; fi
expect PONG PING

# --- a clean restart from the files -------------------------------------------------------
echo "== restarting kv on its files" >&2
expect OK SET survivor yes
stop_kv
start_kv --aof "$WORK/aof" --fsync always --shards 4 --enable-debug-command yes
expect yes GET survivor
expect "$((load_size + 1))" DBSIZE
timeout 120 redis-cli -p "$PORT" <"$WORK/check1.in" >"$WORK/check1.again"
if cmp -s "$WORK/check1.want" "$WORK/check1.again"; then pass; else fail "acknowledged writes missing after the restart"; fi

echo "== $PASSED checks passed, $FAILED failed" >&2
[ $FAILED = 0 ]
