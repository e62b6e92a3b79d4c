# shellcheck shell=bash
# What apps/kv's shell scripts (bench.sh, tests/redis_cli.sh) share: sourced, never run. It
# expects the caller's `set -euo pipefail` and provides:
#
#   ROOT                      the workspace root
#   WORK                      a fresh temporary directory, removed on exit
#   SERVERS, BACKGROUND       pids to stop on exit: SERVERS get SIGTERM, then SIGKILL if still
#                             there after 10 s; BACKGROUND (clients) just get SIGTERM
#   ensure_commands CMD=PKG...
#                             installs with apt-get (sudo unless root) the packages whose
#                             commands are missing, saying "== installing PKG..." on stderr
#   build_kv                  builds kv (release), saying so on stderr; sets KV_BIN to it
#   answers_ping PORT         whether a server answers PING on 127.0.0.1:PORT (within 5 s)
#   start_listening OUT LOG NAME CMD ARGS...
#                             starts a server that prints `listening on ADDR` on stdout once
#                             it serves (as kv does): stdout to OUT, stderr appended to LOG;
#                             waits up to 20 s for that line and a PING answer, then sets
#                             SERVER_PID and PORT (the pid is in SERVERS). If it exits first or
#                             never answers, says so on stderr (NAME ...), shows its output,
#                             and exits 1
#   forget_server PID         drops PID from SERVERS (a server the caller stopped itself)
#
# Sourcing it creates WORK and sets the EXIT trap that stops what SERVERS and BACKGROUND hold
# and removes WORK, whatever happens. Every wait in it is bounded.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)

ensure_commands() {
  local pair sudo='' missing=()
  for pair in "$@"; do
    if ! command -v "${pair%%=*}" >/dev/null 2>&1; then
      case " ${missing[*]} " in
      *" ${pair#*=} "*) ;;
      *) missing+=("${pair#*=}") ;;
      esac
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then return; fi
  if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
  echo "== installing ${missing[*]}" >&2
  $sudo apt-get install -y "${missing[@]}" >/dev/null ||
    { $sudo apt-get update >/dev/null && $sudo apt-get install -y "${missing[@]}" >/dev/null; }
}

build_kv() {
  echo "== building kv (release)" >&2
  (cd "$ROOT" && cargo build --release -p kv --quiet)
  # shellcheck disable=SC2034 # for the caller
  KV_BIN=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/kv
}

WORK=$(mktemp -d)
SERVERS=()
BACKGROUND=()
cleanup() {
  local pid
  for pid in "${BACKGROUND[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SERVERS[@]}"; do
    kill "$pid" 2>/dev/null || true
    # A server that does not stop on SIGTERM within 10 s is killed.
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

forget_server() {
  local pid keep=()
  for pid in "${SERVERS[@]}"; do
    if [ "$pid" != "$1" ]; then keep+=("$pid"); fi
  done
  SERVERS=("${keep[@]}")
}

answers_ping() {
  [ "$(timeout 5 redis-cli -p "$1" PING 2>/dev/null)" = PONG ]
}

start_listening() {
  local out=$1 log=$2 name=$3 status
  shift 3
  "$@" >"$out" 2>>"$log" &
  SERVER_PID=$!
  SERVERS+=("$SERVER_PID")
  PORT=
  for _ in $(seq 1 400); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      wait "$SERVER_PID" && status=0 || status=$?
      forget_server "$SERVER_PID"
      SERVER_PID=
      echo "$name exited (status $status) before it listened:" >&2
      cat "$log" >&2
      exit 1
    fi
    if [ -z "$PORT" ]; then
      PORT=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$out")
    fi
    if [ -n "$PORT" ] && answers_ping "$PORT"; then
      return
    fi
    sleep 0.05
  done
  echo "$name did not listen and answer PING within 20 s:" >&2
  cat "$out" "$log" >&2
  exit 1
}
