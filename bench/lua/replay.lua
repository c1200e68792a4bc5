-- Replays a fixed list of HTTP requests IN ORDER, each exactly once, on one connection, then exits:
--
--   REPLAY_REQUESTS=reqs.txt REPLAY_RESULTS=out.txt taskset -c 1 wrk -t1 -c1 -d300s -s replay.lua http://host:port
--
-- For `wrk -t1 -c1` only (Debian's wrk 4.1, LuaJIT). The request file (written by bench/bench_sync.py):
--
--   <number of requests>\n
--   then for each request:  <METHOD> <path> <number of headers> <body length in bytes>\n
--                           <Name>: <value>\n          (once per header)
--                           <body bytes>\n             (length-prefixed, so a body may hold anything)
--
-- The results file, written after the last response (or by done() if wrk's -d ran out first):
--
--   answered <n>          responses received (= requests sent, in order)
--   total <n>             requests in the list
--   wall_ns <ns>          first request handed to wrk -> last response parsed (CLOCK_MONOTONIC)
--   inflight_ns <ns>      sum over requests of (request handed to wrk -> its response parsed)
--   resent <n>            requests wrk asked for again without a response (socket error, reconnect)
--   extra <n>             requests asked for beyond the list (answered with GET /healthz; never expected)
--   fail <i> <status> <first 300 characters of the body>     one line per non-2xx response
--   complete              last line, only when every request of the list was answered
--
-- wrk's main thread sleeps for the whole -d whatever the worker does (wrk.thread:stop() ends only
-- the worker's loop), so after the last response this script writes its results and ends the
-- process with os.exit: the worker is then inside response(), so no further request can be sent.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } replay_timespec;
int clock_gettime(int clk_id, replay_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("replay_timespec")
ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
local base_s = tonumber(ts.tv_sec)

local function now_ns()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return (tonumber(ts.tv_sec) - base_s) * 1e9 + tonumber(ts.tv_nsec)
end

local requests = {}  -- pre-formatted HTTP/1.1 requests, in order
local t_first, t_last, t_sent = 0, 0, 0
local last_index = 0

-- Globals, so that done() (wrk's separate setup/done Lua state) can read them through thread:get.
answered = 0
total = 0
inflight_ns = 0
resent = 0
extra = 0
failures = {}  -- "<index> <status> <body excerpt>" of each non-2xx response

local function load(path)
  local f = assert(io.open(path, "rb"))
  local n = tonumber(f:read("*l"))
  for i = 1, n do
    local line = f:read("*l")
    local method, target, nheaders, length = string.match(line, "^(%S+) (%S+) (%d+) (%d+)$")
    assert(method, "bad request line " .. i .. ": " .. tostring(line))
    local headers = {}
    for _ = 1, tonumber(nheaders) do
      local name, value = string.match(f:read("*l"), "^([^:]+): (.*)$")
      headers[name] = value
    end
    local body = f:read(tonumber(length)) or ""  -- "" -> Content-Length: 0, as httpx sends for a bare POST
    assert(#body == tonumber(length) and f:read(1) == "\n", "bad body of request " .. i)
    requests[i] = wrk.format(method, target, headers, body)
  end
  f:close()
  total = n
end

local function write_results(complete)
  local out = assert(io.open(os.getenv("REPLAY_RESULTS"), "w"))
  out:write("answered ", answered, "\n", "total ", total, "\n",
            string.format("wall_ns %.0f\ninflight_ns %.0f\n", t_last - t_first, inflight_ns),
            "resent ", resent, "\n", "extra ", extra, "\n")
  for _, line in ipairs(failures) do out:write("fail ", line, "\n") end
  if complete then out:write("complete\n") end
  out:close()
end

function init(args)
  load(os.getenv("REPLAY_REQUESTS"))
end

-- The next request is the one after the last answered: wrk calls request() once before the run
-- to check that it parses (nothing is sent then), and again for each request it writes.
request = function()
  local i = answered + 1
  if i > total then
    extra = extra + 1
    return wrk.format("GET", "/healthz", {}, "")
  end
  if i == last_index and i > 1 then resent = resent + 1 end
  last_index = i
  t_sent = now_ns()
  if i == 1 then t_first = t_sent end  -- the real send comes after wrk's check and overwrites it
  return requests[i]
end

response = function(status, headers, body)
  local t = now_ns()
  if answered >= total then return end  -- a stray /healthz: not counted
  answered = answered + 1
  inflight_ns = inflight_ns + (t - t_sent)
  if status < 200 or status > 299 then
    local text = string.gsub(body or "", "%s+", " ")
    failures[#failures + 1] = answered .. " " .. status .. " " .. string.sub(text, 1, 300)
  end
  if answered == total then
    t_last = t
    write_results(true)
    os.exit(0)
  end
end

-- Only reached when -d ran out before the list did: report how far it got.
local threads = {}
function setup(thread) threads[#threads + 1] = thread end

function done(summary, latency, requests_stats)
  local out = assert(io.open(os.getenv("REPLAY_RESULTS"), "w"))
  for _, t in ipairs(threads) do
    out:write("answered ", t:get("answered"), "\n", "total ", t:get("total"), "\n",
              "resent ", t:get("resent"), "\n", "extra ", t:get("extra"), "\n")
    for _, line in ipairs(t:get("failures")) do out:write("fail ", line, "\n") end
  end
  out:close()
end
