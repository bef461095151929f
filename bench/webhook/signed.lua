-- wrk script: POSTs the same signed GitHub push body with a fresh X-GitHub-Delivery per request,
-- counts answers by status, and prints "BENCH key value" lines from done() for run.sh.
--
--   wrk -t T ... -s signed.lua URL -- BODY_FILE RUN_ID RATE T [HEADER VALUE]...
--
-- HEADER VALUE pairs authenticate: X-Hub-Signature-256 "sha256=<hex HMAC of the body>" (GitHub), and/or
-- Authorization "Bearer <token>". RUN_ID (8 hex digits) keeps delivery ids unique across runs.
-- RATE > 0 paces the run: the T threads share RATE requests/s, each sending on its own schedule of evenly
-- spaced slots (wrk has no rate limit of its own; delay() is called before each request). A request goes
-- out at its slot or, if every connection is busy then, as soon as one is free; wrk times it from when it
-- is sent, so a server that falls behind shows as an achieved rate below RATE, not in the percentiles.
-- RATE 0 sends flat out (closed loop).

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

-- setup/done run in their own Lua state: keep the threads to read their counters at the end.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_no", #threads)
end

local head, tail
-- Globals, not locals: done() reads them through thread:get().
sent, ok, non2xx = 0, 0, 0
statuses = {}
local interval, next_slot = 0, nil

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local body = f:read("*a")
  f:close()
  local run_id, rate, nthreads = args[2], tonumber(args[3]) or 0, tonumber(args[4]) or 1
  if rate > 0 then
    interval = 1000 * nthreads / rate
  else
    delay = nil -- wrk only schedules delays when the script has delay(); unpaced runs go flat out
  end
  -- Pre-format everything but the delivery id: request() then costs two concatenations.
  local marker = "@@DELIVERY@@"
  local headers = {
    ["Content-Type"] = "application/json",
    ["User-Agent"] = "GitHub-Hookshot/bench",
    ["X-GitHub-Event"] = "push",
    ["X-GitHub-Hook-ID"] = "512345678",
    ["X-GitHub-Delivery"] = marker,
  }
  for i = 5, #args - 1, 2 do headers[args[i]] = args[i + 1] end
  local req = wrk.format("POST", nil, headers, body)
  local at = assert(req:find(marker, 1, true))
  head, tail = req:sub(1, at - 1), req:sub(at + #marker)
  -- Delivery ids look like GitHub's: UUIDs whose first group changes fastest, so they arrive in random
  -- order for egw's index on event id. Unique: the first group is a bijective hash of the counter, the
  -- rest holds the run id, the thread and the counter itself.
  suffix = string.format("-%s-4%s-8%03x-", run_id:sub(1, 4), run_id:sub(5, 7), (thread_no or 0) % 4096)
end

function delay()
  local t = now_ms()
  if next_slot == nil or next_slot < t - 1000 then next_slot = t end -- start, or far behind: do not burst
  local slot = next_slot
  next_slot = next_slot + interval
  local wait = slot - t
  return wait > 0 and math.floor(wait) or 0
end

function request()
  sent = sent + 1
  -- Knuth's multiplicative hash: exact in doubles (sent * 2654435761 < 2^53), a permutation mod 2^32.
  local h = (sent * 2654435761) % 4294967296
  return head .. string.format("%08x", h) .. suffix .. string.format("%012x", sent) .. tail
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 200 and status < 300 then ok = ok + 1 else non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local total_ok, total_non2xx, total_sent = 0, 0, 0
  local codes = {}
  for _, t in ipairs(threads) do
    total_ok = total_ok + t:get("ok")
    total_non2xx = total_non2xx + t:get("non2xx")
    total_sent = total_sent + t:get("sent")
    for code, n in pairs(t:get("statuses") or {}) do codes[code] = (codes[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(codes) do table.insert(parts, code .. ":" .. n) end
  table.sort(parts)
  local e = summary.errors
  io.write(string.format("BENCH requests %d\n", summary.requests))
  io.write(string.format("BENCH duration_us %d\n", summary.duration))
  io.write(string.format("BENCH sent %d\n", total_sent))
  io.write(string.format("BENCH ok %d\n", total_ok))
  io.write(string.format("BENCH non2xx %d\n", total_non2xx))
  io.write(string.format("BENCH statuses %s\n", #parts > 0 and table.concat(parts, ",") or "-"))
  io.write(string.format("BENCH errors_connect %d\nBENCH errors_read %d\nBENCH errors_write %d\nBENCH errors_timeout %d\n",
    e.connect, e.read, e.write, e.timeout))
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    io.write(string.format("BENCH latency_p%s_us %d\n", tostring(p), latency:percentile(p)))
  end
  io.write(string.format("BENCH latency_max_us %d\nBENCH latency_mean_us %.1f\n", latency.max, latency.mean))
end
