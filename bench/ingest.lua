-- wrk script for bench/ingest.sh: sends pre-generated, signed Slack events (see bench/gen_events.py).
--
-- Usage: wrk -t T ... -s ingest.lua URL -- EVENTS_DIR T
--   EVENTS_DIR holds slice-1.tsv .. slice-T.tsv (lines "<timestamp>\t<signature>\t<body>") and a FIFO
--   named start.fifo (mkfifo) used as a start barrier.
--
-- Thread i (1-based) loads only slice-<i>.tsv into its own Lua state, prebuilds the raw HTTP requests and
-- cycles through them. It counts non-2xx responses and how often it ran past the end of its slice (a wrap
-- re-sends events, which are then no longer unique). done() prints one machine-readable "INGEST ..." line.
--
-- Start barrier: wrk runs init() of thread i and starts thread i *before* it runs init() of thread i + 1.
-- Without a barrier thread 1 would already be sending load while later threads still parse their slices,
-- and that head start would be counted against a duration that wrk measures only from after the last
-- init(). So the last thread's init() writes T-1 bytes into start.fifo (and keeps it open, so the bytes
-- stay there), and the first request() of every other thread blocks reading one byte from it.
-- wrk itself calls request() of thread 1 once from the main thread right after init() of thread 1, to
-- check the request it returns (script_verify_request); that call must not wait (it would deadlock) and is
-- neither sent nor counted.
-- (Polling with os.execute("sleep ...") is no good: forking a process holding hundreds of MB of Lua
-- strings while another thread is allocating makes the loading crawl.)

local threads = {}
local next_id = 0

-- Main Lua state: number the threads.
function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

-- Per-thread Lua state from here on. Globals are read back by done() through thread:get().
sent = 0
wraps = 0
responses = 0
non2xx = 0
statuses = ""
load_error = ""
count_loaded = 0

local requests = {}
local count = 0
local index = 0
local status_counts = {}
local fifo_path = nil
local must_wait = false
local verify_call_pending = false

local function load_slice(dir)
  local path = dir .. "/slice-" .. tostring(tid) .. ".tsv"
  local file = io.open(path, "rb")
  if file == nil then
    load_error = "cannot open " .. path
    return
  end
  local data = file:read("*a")
  file:close()
  local head = "POST /api/webhooks/slack HTTP/1.1\r\nHost: " .. wrk.headers["Host"] ..
    "\r\nContent-Type: application/json\r\nX-Slack-Request-Timestamp: "
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
  count_loaded = count
  if count == 0 then load_error = "no events in " .. path end
end

function init(args)
  local dir = args[1]
  local nthreads = tonumber(args[2] or "1") or 1
  if dir == nil then
    load_error = "no events directory given (wrk ... -- DIR THREADS)"
  else
    load_slice(dir)
    collectgarbage("collect")  -- drop the file's text now, not in the middle of the run
    fifo_path = dir .. "/start.fifo"
  end
  if fifo_path and nthreads > 1 then
    if tid >= nthreads then
      -- "r+" opens a FIFO without blocking; the handle stays referenced in a global, so the pipe
      -- (and the bytes in it) outlives this call.
      start_fifo = io.open(fifo_path, "r+")
      if start_fifo then
        start_fifo:setvbuf("no")
        start_fifo:write(string.rep("g", nthreads - 1))
      else
        load_error = load_error .. " cannot open " .. fifo_path
      end
    else
      must_wait = true
      verify_call_pending = (tid == 1)
    end
  end
end

local function wait_for_start()
  must_wait = false
  local f = io.open(fifo_path, "r+")
  if f then
    f:setvbuf("no")  -- read exactly one byte, leave the others for the other threads
    f:read(1)
    f:close()
  end
end

function request()
  if verify_call_pending then
    verify_call_pending = false
    if count > 0 then return requests[1] end
  elseif must_wait then
    wait_for_start()
  end
  if count == 0 then
    -- Nothing loaded: send something every peer but nginx rejects, so the run shows up as failed.
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
function done(summary, latency, _)
  local t = { loaded = 0, sent = 0, wraps = 0, responses = 0, non2xx = 0 }
  local status_list, errors_list = {}, {}
  for _, thread in ipairs(threads) do
    for _, key in ipairs({ "sent", "wraps", "responses", "non2xx" }) do
      t[key] = t[key] + (thread:get(key) or 0)
    end
    t.loaded = t.loaded + (thread:get("count_loaded") or 0)
    local s = thread:get("statuses")
    if s and s ~= "" then status_list[#status_list + 1] = s end
    local e = thread:get("load_error")
    if e and e ~= "" then errors_list[#errors_list + 1] = e end
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local load_errors = "-"
  if #errors_list > 0 then load_errors = (table.concat(errors_list, "|"):gsub("%s", "_")) end
  io.write(string.format(
    "INGEST requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f " ..
    "mean_ms=%.3f stdev_ms=%.3f loaded=%d sent=%d wraps=%d responses=%d non2xx=%d connect_err=%d read_err=%d " ..
    "write_err=%d timeout_err=%d statuses=%s load_errors=%s\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000, latency.mean / 1000, latency.stdev / 1000,
    t.loaded, t.sent, t.wraps, t.responses, t.non2xx, e.connect, e.read, e.write, e.timeout,
    (#status_list > 0) and table.concat(status_list, ",") or "-", load_errors))
end
