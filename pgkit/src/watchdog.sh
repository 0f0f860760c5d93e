# pgkit watchdog: starts PostgreSQL and tears the cluster down when the owning process is gone.
# Usage: sh -c "$(cat watchdog.sh)" pgkit-watchdog DIR DATA LOG POSTGRES-COMMAND...
# stdin is a pipe whose only writer is the owning process: EOF means it closed the pipe (Drop)
# or exited (in any way, even SIGKILL), so no polling and no pid reuse to worry about.
dir=$1
data=$2
log=$3
shift 3

{
  "$@" </dev/null >>"$log" 2>&1
  echo "pgkit: postgres exited with status $?" >>"$log"
} &

trap '' HUP INT

# Blocks until the owning process is gone or closed the pipe.
cat >/dev/null

# Immediate shutdown (what `pg_ctl stop -m immediate` sends), then SIGKILL after 5 s.
if [ -f "$data/postmaster.pid" ]; then
  pid=$(head -n 1 "$data/postmaster.pid")
  if [ -n "$pid" ]; then
    kill -QUIT "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do
      sleep 0.1
      i=$((i + 1))
    done
    kill -KILL "$pid" 2>/dev/null
  fi
fi
wait
case "$dir" in
  */pgkit-*) rm -rf "$dir" ;;
esac
