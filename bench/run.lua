-- run.lua: luajobs' benchmarks, each beside a baseline measured in the same
-- run (bench/baseline.c). Run through bench/run.sh.
local jobs = require "jobs"
local baseline = require "baseline"

local now = baseline.now
local rows = {}

-- Records a row: workload, figure, baseline, ratio, target.
local function row(...)
  rows[#rows + 1] = { ... }
  io.stderr:write(".")
end

-- Resident and virtual memory of this process, in bytes.
local function memory()
  local f = assert(io.open("/proc/self/status"))
  local status = f:read("a")
  f:close()
  return tonumber(status:match("VmRSS:%s*(%d+)")) * 1024,
         tonumber(status:match("VmSize:%s*(%d+)")) * 1024
end

local function kib(bytes) return ("%.1f KiB"):format(bytes / 1024) end
local function mib(bytes) return ("%.1f MiB"):format(bytes / 1048576) end

-- spawn: 2,000 jobs started, then all collected; the best of three runs,
-- as for the baseline (the first also starts the threads the others reuse).
do
  local n, f = 2000, function(i) return i * 2 end
  local rate, base = 0, 0
  for _ = 1, 3 do
    local m, list = jobs.manager(), {}
    local t0 = now()
    for i = 1, n do list[i] = m.new(f, i) end
    for i = 1, n do assert(select(2, list[i]:wait()) == i * 2) end
    rate = math.max(rate, n / (now() - t0))
    base = math.max(base, n / baseline.states(n))
  end
  row("spawn", ("%.0f jobs/s"):format(rate),
      ("%.0f states/s: newstate, openlibs, close (C)"):format(base),
      ("%.2f"):format(rate / base), ">= 20,000 jobs/s")
end

-- latency: one trivial job, start to result, 500 times in a row.
do
  local m, n, times = jobs.manager(), 500, {}
  local f = function() return 1 end
  for i = 1, n do
    local t0 = now()
    m.new(f):wait()
    times[i] = now() - t0
    if i % 100 == 0 then m.flush() end
  end
  table.sort(times)
  local median, base = times[n // 2] * 1e6, baseline.pingpong(n) * 1e6
  row("latency", ("%.1f us median"):format(median),
      ("%.1f us: condition-variable ping-pong (C)"):format(base),
      ("%.1f"):format(median / base), "<= 60 us")
end

-- marshal: a 100,000-row table into a job and back; the best of three, as
-- for the baselines (a heap that has grown once is reused by all): building
-- it in Lua, and the plainest copy there and back that Lua's C API allows.
do
  local function build()
    local t = {}
    for i = 1, 100000 do t[i] = { id = i, name = "item" .. i, score = i * 0.5 } end
    return t
  end
  local f = function(t) return t end
  local native, trip, plain = math.huge, math.huge, math.huge
  for _ = 1, 3 do
    collectgarbage()
    local t0 = now()
    local rows100k = build()
    native = math.min(native, now() - t0)
    t0 = now()
    local ok, back = jobs.new(f, rows100k):wait()
    trip = math.min(trip, now() - t0)
    assert(ok and #back == 100000 and back[77].name == "item77")
    back = nil
    collectgarbage()
    local seconds, copy = baseline.copyrows(rows100k, 3)
    plain = math.min(plain, seconds)
    assert(#copy == 100000 and copy[77].name == "item77")
  end
  row("marshal", ("%.1f ms there and back"):format(trip * 1e3),
      ("%.1f ms: building it in Lua; %.1f ms: plain C API copy there and back"):format(
        native * 1e3, plain * 1e3),
      ("%.2f (%.2f of the plain copy)"):format(trip / native, trip / plain), "<= 1.0x")
end

-- bigstring: a 64 MiB string into a job that returns its length; the best
-- of three, as for the baseline.
do
  local s = string.rep("x", 64 << 20)
  local rate, base = 0, 0
  for _ = 1, 3 do
    collectgarbage()
    local t0 = now()
    local _ = s:sub(2)
    base = math.max(base, 64 / (now() - t0))
    _ = nil
    collectgarbage()
    t0 = now()
    local ok, len = jobs.new(function(str) return #str end, s):wait()
    rate = math.max(rate, 64 / (now() - t0))
    assert(ok and len == #s)
  end
  row("bigstring", ("%.0f MiB/s"):format(rate),
      ("%.0f MiB/s: s:sub(2)"):format(base),
      ("%.2f"):format(rate / base), ">= 0.9x")
end

-- parallel: two CPU-bound jobs at once against one after the other; the
-- best of three of each (a neighbour on the machine slows one or the other).
do
  local work = function() local x = 0 for i = 1, 3e7 do x = x + i % 7 end return x end
  local serial, parallel = math.huge, math.huge
  for _ = 1, 3 do
    local t0 = now()
    jobs.new(work):wait()
    jobs.new(work):wait()
    serial = math.min(serial, now() - t0)
    t0 = now()
    local a, b = jobs.new(work), jobs.new(work)
    a:wait()
    b:wait()
    parallel = math.min(parallel, now() - t0)
  end
  row("parallel", ("%.2fx speedup"):format(serial / parallel),
      ("%.2f s serial, %.2f s parallel"):format(serial, parallel),
      "", ">= 1.9x")
end

-- churn: 100,000 jobs through one manager, flushed every 1,000. The heap
-- breathes with the allocator's arenas, so each figure is the median RSS of
-- ten flushes: the 11th to 20th, and the last ten.
do
  local m, samples = jobs.manager(), {}
  local f = function(i) return i end
  for i = 1, 100000 do
    m.new(f, i)
    if i % 1000 == 0 then
      m.wait_all()
      m.flush()
      collectgarbage()
      samples[#samples + 1] = memory()
    end
  end
  local function median(from)
    local t = table.move(samples, from, from + 9, 1, {})
    table.sort(t)
    return (t[5] + t[6]) / 2
  end
  local first, last = median(11), median(#samples - 9)
  row("churn", ("%s RSS growth"):format(kib(last - first)),
      ("median RSS %s after 20,000 jobs, %s after 100,000"):format(
        mib(first), mib(last)),
      "", "flat")
end

-- memory: 1,000 jobs blocked on a channel, twice. The first time, glibc
-- also reserves its per-thread malloc arenas (64 MiB of address space each,
-- at most 8 per core, once per process); the second shows what a job costs.
do
  local m, n = jobs.manager(), 1000
  local function blocked()
    collectgarbage()
    collectgarbage()
    local rss0, vsz0 = memory()
    local ready, gate = jobs.channel(), jobs.channel()
    for _ = 1, n do
      m.new(function(r, g) r:push(true) return g:pop() end, ready, gate)
    end
    for _ = 1, n do ready:pop() end
    local rss1, vsz1 = memory()
    gate:close()
    m.wait_all()
    m.flush()
    collectgarbage()
    collectgarbage()
    return rss0, (rss1 - rss0) / n, (vsz1 - vsz0) / n, memory()
  end
  local start, firstrss, firstvsz = blocked()
  local _, rss, vsz, after = blocked()
  row("memory", ("%s RSS, %s address space per job"):format(kib(rss), kib(vsz)),
      ("first 1,000: %s RSS, %s address space per job; RSS %s at start, %s after flush")
        :format(kib(firstrss), kib(firstvsz), mib(start), mib(after)),
      "", "<= 32 KiB RSS, <= 1 MiB address space")
end

io.stderr:write("\n")
local head = { "workload", "figure", "baseline, same run", "ratio", "target" }
local width = {}
for _, r in ipairs({ head, table.unpack(rows) }) do
  for i, cell in ipairs(r) do width[i] = math.max(width[i] or 0, #cell) end
end
for _, r in ipairs({ head, table.unpack(rows) }) do
  local cells = {}
  for i, cell in ipairs(r) do cells[i] = cell .. (" "):rep(width[i] - #cell) end
  print("| " .. table.concat(cells, " | ") .. " |")
end
