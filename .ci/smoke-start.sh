#!/usr/bin/env bash
# `npm start` on a fresh DATA_DIR must reach `ready`, answer /health and stop cleanly on SIGTERM.
set -euo pipefail
data_dir=$(mktemp -d)
log=$(mktemp)
port=$((20000 + RANDOM % 20000))
PORT=$port EVENTS_PORT=$((port + 1)) DATA_DIR=$data_dir BATCH_SCHEDULE='rate(5 seconds)' npm start >"$log" 2>&1 &
pid=$!
started=$(date +%s%N)
for _ in $(seq 1 300); do
  grep -q '^ready$' "$log" && break
  kill -0 $pid 2>/dev/null || { cat "$log"; echo 'npm start exited early'; exit 1; }
  sleep 0.1
done
grep -q '^ready$' "$log" || { cat "$log"; echo 'npm start did not become ready in 30 s'; kill $pid; exit 1; }
echo "npm start: ready in $(( ($(date +%s%N) - started) / 1000000 )) ms"
curl -fsS "http://127.0.0.1:$port/health"
echo
grep -q "^Console: .*/console#token=" "$log" || { cat "$log"; echo 'no console URL printed'; exit 1; }
curl -fsS -o /dev/null "http://127.0.0.1:$port/console" && curl -fsS -o /dev/null "http://127.0.0.1:$port/console/app.js" || { echo 'console not served'; exit 1; }
kill -TERM $pid
wait $pid || { cat "$log"; echo 'npm start did not stop cleanly'; exit 1; }
if pgrep -f "dbPath $data_dir" >/dev/null; then echo 'DynamoDB Local left running'; exit 1; fi
rm -rf "$data_dir" "$log"
echo 'smoke: ok'
