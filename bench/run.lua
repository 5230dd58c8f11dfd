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

-- Records a row of round trips: the median of 'times' (seconds), beside
-- the C ping-pong (a thread's wake-up, which every round trip costs).
local function roundtrips(name, times, target)
  table.sort(times)
  local median, base = times[#times // 2] * 1e6, baseline.pingpong(#times) * 1e6
  row(name, ("%.1f us median"):format(median),
      ("%.1f us: condition-variable ping-pong (C)"):format(base),
      ("%.1f"):format(median / base), target)
end

local function kib(bytes) return ("%.1f KiB"):format(bytes / 1024) end
local function mib(bytes) return ("%.1f MiB"):format(bytes / 1048576) end

-- job_speed: Lua code in a job against the same function in the caller's
-- own state: the job's whole cost (start, run, result) against the call.
-- First, while the caller's heap is as fresh as a script's (the rows
-- after leave it holding and collecting hundreds of megabytes). This
-- machine's speed drifts between runs by a third at times, so each figure
-- is the median over 15 pairs run back to back (which goes first
-- alternating) of the pair's ratio.
local function pairs15(mine, theirs)
  local ratios, a, b = {}, {}, {}
  for i = 1, 15 do
    local t0, t1, t2
    if i % 2 == 0 then
      t0 = now(); mine(); t1 = now(); theirs(); t2 = now()
      a[i], b[i] = t1 - t0, t2 - t1
    else
      t0 = now(); theirs(); t1 = now(); mine(); t2 = now()
      a[i], b[i] = t2 - t1, t1 - t0
    end
    ratios[i] = a[i] / b[i]
  end
  for _, t in ipairs({ ratios, a, b }) do table.sort(t) end
  return ratios[8], a[8], b[8]
end

local works = {
  { "loop", function() local x = 0 for i = 1, 3e7 do x = x + i % 7 end return x end },
  { "fib(27)", function()
      local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
      return fib(27)
    end },
  { "tables", function()
      local t for i = 1, 1e6 do t = { i, i + 1, k = i } end return t.k
    end },
  { "format", function()
      local s for i = 1, 3e5 do s = ("%d:%s:%5.2f"):format(i, "x", i / 3) end return s
    end },
}
for _, w in ipairs(works) do
  local name, f = w[1], w[2]
  local expected = f()
  local ratio, there, here = pairs15(function()
    local ok, got = jobs.new(f):wait()
    assert(ok and got == expected)
  end, f)
  row("job_speed " .. name, ("%.1f ms in a job"):format(there * 1e3),
      ("%.1f ms: the same function in the caller"):format(here * 1e3),
      ("%.3f"):format(ratio), "<= 1.03")
end

-- parallel: two CPU-bound jobs at once against the caller running the same
-- work twice in its own state, paired as above; beside it, what two C
-- threads counting at once gain on this machine in the same run.
do
  local work = works[1][2]
  local ratio, parallel, serial = pairs15(function()
    local a, b = jobs.new(work), jobs.new(work)
    a:wait()
    b:wait()
  end, function() work() work() end)
  local n = 150000000
  local cratio = pairs15(function() baseline.spin(n, 2) end,
                         function() baseline.spin(n, 1) baseline.spin(n, 1) end)
  row("parallel", ("%.2fx speedup"):format(1 / ratio),
      ("%.2f s: the caller running it twice, %.2f s: two jobs at once; C threads: %.2fx"):format(
        serial, parallel, 1 / cratio),
      ("%.2f of C's"):format(cratio / ratio), ">= 1.9x")
end

-- cancel_latency: from cancel() of a job spinning in Lua code to its
-- wait() returning, 200 times.
do
  local m, n, times = jobs.manager(), 200, {}
  local spin = function(ready) ready:push(true) while true do end end
  for i = 1, n do
    local ready = jobs.channel()
    local j = m.new(spin, ready)
    ready:pop()
    local t0 = now()
    j:cancel()
    j:wait()
    times[i] = now() - t0
    if i % 50 == 0 then m.flush() end
  end
  roundtrips("cancel_latency", times, "<= 50 us")
end

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
  roundtrips("latency", times, "<= 60 us")
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

-- chan_pingpong: the caller and a job bounce an integer through two
-- channels, 2,000 round trips; beside the same through two C queues.
do
  local n, times = 2000, {}
  local there, back = jobs.channel(1), jobs.channel(1)
  local j = jobs.new(function(there, back, n)
    for _ = 1, n do back:push(there:pop() + 1) end
  end, there, back, n)
  for i = 1, n do
    local t0 = now()
    there:push(i)
    back:pop()
    times[i] = now() - t0
  end
  j:wait()
  table.sort(times)
  local median, base = times[n // 2] * 1e6, baseline.queuepingpong(n) * 1e6
  row("chan_pingpong", ("%.1f us median"):format(median),
      ("%.1f us: two C queues of integers (they sleep, never poll)"):format(base),
      ("%.2f"):format(median / base), "<= 5 us")
end

-- chan_throughput: 200,000 {i, "x"} from one job (or two, half each) to the
-- caller through a channel of 1,000; beside integers through a C queue.
for _, producers in ipairs({ 1, 2 }) do
  local n, cap = 200000, 1000
  local best, base = math.huge, math.huge
  for _ = 1, 3 do
    local ch = jobs.channel(cap)
    local t0 = now()
    for _ = 1, producers do
      jobs.new(function(ch, n) for i = 1, n do ch:push({ i, "x" }) end end, ch, n // producers)
    end
    for _ = 1, n do ch:pop() end
    best = math.min(best, now() - t0)
    base = math.min(base, baseline.queuethroughput(n, producers, cap))
  end
  row(("chan_throughput %d producer%s"):format(producers, producers > 1 and "s" or ""),
      ("%.0fk msg/s"):format(n / best / 1e3),
      ("%.0fk msg/s: integers through a C queue"):format(n / base / 1e3),
      ("%.2f"):format(base / best), producers == 1 and ">= 300k msg/s" or "more than 1")
end

-- chan_bulk: 2,000 pushes of 100 tables of about 1 KiB each, from a job to
-- the caller; beside as many integers through a C queue.
do
  local pushes, best, base = 2000, math.huge, math.huge
  for _ = 1, 3 do
    local ch = jobs.channel(16)
    local t0 = now()
    jobs.new(function(ch, pushes)
      local batch = {}
      for i = 1, 100 do batch[i] = { id = i, data = ("x"):rep(1000) } end
      for _ = 1, pushes do ch:push(batch) end
    end, ch, pushes)
    for _ = 1, pushes do assert(#ch:pop() == 100) end
    best = math.min(best, now() - t0)
    base = math.min(base, baseline.queuethroughput(pushes, 1, 16))
  end
  row("chan_bulk", ("%.1f MiB/s, %.0f pushes/s"):format(pushes * 100 * 1024 / best / 1048576, pushes / best),
      ("%.0fk pushes/s: integers through a C queue"):format(pushes / base / 1e3),
      ("%.3f"):format(base / best), "")
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
