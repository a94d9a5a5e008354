-- wrk script for bench/ingest.sh: sends pre-generated, signed Slack events (bench/gen_events.py).
-- Usage: wrk -t T ... -s ingest.lua URL -- EVENTS_DIR T
-- Thread i (1-based) loads only EVENTS_DIR/slice-<i>.tsv into its own Lua state and cycles through it.
--
-- Start barrier: wrk runs init() of thread i and then starts thread i *before* it runs init() of thread
-- i + 1, so without a barrier thread 1 would already be sending load (counted against a duration that is
-- only measured from after the last init) while the later threads still parse their slices. So the last
-- thread's init() writes EVENTS_DIR/ready, and every thread's first request() waits for that file.
-- It counts non-2xx responses and how often it ran past the end of its slice (a wrap re-sends events,
-- which are then no longer unique). done() prints one machine-readable "INGEST ..." line.

local threads = {}
local next_id = 0

-- Main Lua state: give each thread its slice number.
function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

-- Per-thread state from here on.
local requests = {}
local count = 0
local index = 0
sent = 0
wraps = 0
responses = 0
non2xx = 0
statuses = ""
load_error = ""
count_loaded = 0
local status_counts = {}

local ready_path = nil
local ready = false

function init(args)
  local dir = args[1]
  local nthreads = tonumber(args[2] or "1")
  ready_path = dir and (dir .. "/ready")
  if dir == nil then
    load_error = "no events directory given (wrk ... -- DIR)"
    return
  end
  local path = dir .. "/slice-" .. tostring(tid) .. ".tsv"
  local file = io.open(path, "rb")
  if file == nil then
    load_error = "cannot open " .. path
    return
  end
  -- Build each raw request once, here, so request() only hands out a prebuilt string.
  local head = "POST /api/webhooks/slack HTTP/1.1\r\nHost: " .. wrk.headers["Host"] ..
    "\r\nContent-Type: application/json\r\nX-Slack-Request-Timestamp: "
  local data = file:read("*a")
  local pos = 1
  while true do
    local tab1 = data:find("\t", pos, true)
    if not tab1 then break end
    local tab2 = data:find("\t", tab1 + 1, true)
    local nl = tab2 and data:find("\n", tab2 + 1, true)
    if not nl then break end
    local body = data:sub(tab2 + 1, nl - 1)
    count = count + 1
    requests[count] = head .. data:sub(pos, tab1 - 1) .. "\r\nX-Slack-Signature: " .. data:sub(tab1 + 1, tab2 - 1) ..
      "\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body
    pos = nl + 1
  end
  data = nil
  file:close()
  count_loaded = count
  if count == 0 then load_error = "no events in " .. path end
  if tid >= nthreads then
    local marker = io.open(ready_path, "w")
    if marker then marker:write("ready\n"); marker:close() end
  end
end

local function wait_until_all_loaded()
  ready = true
  if ready_path == nil then return end
  for _ = 1, 6000 do  -- at most ~120 s
    local marker = io.open(ready_path, "r")
    if marker then marker:close(); return end
    os.execute("sleep 0.02")
  end
end

function request()
  if not ready then wait_until_all_loaded() end
  if count == 0 then
    -- Nothing loaded: send something the hub rejects, so the run shows up as failed.
    return wrk.format("POST", "/api/webhooks/slack", nil, "")
  end
  index = index + 1
  if index > count then
    index = 1
    wraps = wraps + 1
  end
  sent = sent + 1
  return requests[index]
end

function response(status, headers, body)
  responses = responses + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    status_counts[status] = (status_counts[status] or 0) + 1
    local parts = {}
    for code, n in pairs(status_counts) do parts[#parts + 1] = code .. ":" .. n end
    statuses = table.concat(parts, ",")
  end
end

-- Main Lua state again.
function done(summary, latency, requests_stats)
  local t = { loaded = 0, sent = 0, wraps = 0, responses = 0, non2xx = 0 }
  local status_list, errors_list = {}, {}
  for _, thread in ipairs(threads) do
    t.loaded = t.loaded + (thread:get("count_loaded") or 0)
    for _, key in ipairs({ "sent", "wraps", "responses", "non2xx" }) do
      t[key] = t[key] + (thread:get(key) or 0)
    end
    local s = thread:get("statuses")
    if s and s ~= "" then status_list[#status_list + 1] = s end
    local e = thread:get("load_error")
    if e and e ~= "" then errors_list[#errors_list + 1] = e end
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "INGEST requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f mean_ms=%.3f stdev_ms=%.3f " ..
    "loaded=%d sent=%d wraps=%d responses=%d non2xx=%d connect_err=%d read_err=%d write_err=%d timeout_err=%d statuses=%s load_errors=%s\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000, latency.mean / 1000, latency.stdev / 1000,
    t.loaded, t.sent, t.wraps, t.responses, t.non2xx, e.connect, e.read, e.write, e.timeout,
    (#status_list > 0) and table.concat(status_list, ",") or "-",
    (#errors_list > 0) and table.concat(errors_list, "|"):gsub("%s", "_") or "-"))
end
