# Shared by the CI checks that drive a live hub (source it after setting `name`, `work` and `bin`):
# cleanup on exit, failure with the hub's log, and starting the hub and waiting for its port.

hub_pid=""
cleanup() {
  if [ -n "$hub_pid" ]; then kill "$hub_pid" 2>/dev/null || true; wait "$hub_pid" 2>/dev/null || true; fi
  [ -n "${KEEP_CI_HUB:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "$name: FAILED: $*" >&2
  echo "---- hub log (last 60 lines) ----" >&2
  tail -n 60 "$work/hub.log" >&2 || true
  exit 1
}

# start_hub ARG... : runs `$bin serve --port 0 --data-dir $work/data --plugins $work/plugins.json ARG...`
# (with the caller's environment) and sets `base` once it listens on 127.0.0.1.
start_hub() {
  touch "$work/hub.log"
  "$bin" serve --port 0 --data-dir "$work/data" --plugins "$work/plugins.json" "$@" 2>"$work/hub.log" &
  hub_pid=$!
  local port=""
  for _ in $(seq 1 100); do
    port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$work/hub.log" | head -1)
    [ -n "$port" ] && break
    kill -0 "$hub_pid" 2>/dev/null || fail "the hub exited before listening"
    sleep 0.1
  done
  [ -n "$port" ] || fail "the hub did not print its port within 10 s"
  base="http://127.0.0.1:$port"
}
