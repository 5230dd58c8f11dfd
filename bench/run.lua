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

-- The least of three runs each of f(big) and f(small): the two sides of a
-- row showing that a cost stays flat as the work grows.
local function leastpair(f, big, small)
  local b, s = math.huge, math.huge
  for _ = 1, 3 do b, s = math.min(b, f(big)), math.min(s, f(small)) end
  return b, s
end

local function kib(bytes) return ("%.1f KiB"):format(bytes / 1024) end
local function mib(bytes) return ("%.1f MiB"):format(bytes / 1048576) end

-- Prints the rows recorded so far as a table.
local function report()
  io.stderr:write("\n")
  local head = { "workload", "figure", "baseline, same run", "ratio", "target" }
  local width = {}
  for _, r in ipairs({ head, table.unpack(rows) }) do
    for i, cell in ipairs(r) do width[i] = math.max(width[i] or 0, #cell) end
  end
  local rule = {}
  for i = 1, #head do rule[i] = ("-"):rep(width[i]) end
  for _, r in ipairs({ head, rule, table.unpack(rows) }) do
    local cells = {}
    for i, cell in ipairs(r) do cells[i] = cell .. (" "):rep(width[i] - #cell) end
    print("| " .. table.concat(cells, " | ") .. " |")
  end
end

-- The group to run: "soak", "wire" or "cores" alone, or (none) every row.
local group = arg[1]
assert(group == nil or group == "soak" or group == "wire" or group == "cores",
       "groups: soak, wire, cores")

-- The best of 'runs' results of 'f' (larger is better).
local function best(runs, f)
  local b = -math.huge
  for _ = 1, runs do b = math.max(b, f()) end
  return b
end

-- The seconds 'f' takes, the mean of 'reps' calls, the least of 5 tries,
-- the collector stopped while it runs (as the copy it is set beside).
local function meantime(reps, f)
  local least = math.huge
  for _ = 1, 5 do
    collectgarbage()
    collectgarbage("stop")
    local t0 = now()
    for _ = 1, reps do f() end
    least = math.min(least, (now() - t0) / reps)
    collectgarbage("restart")
  end
  return least
end

-- The wire rows (SPEC §12): values through a frame, jobs.encode and then
-- jobs.decode into this state, beside luajobs' in-process copy of the
-- same values into a fresh state (bench/baseline.c compiles copy.c in),
-- lua-MessagePack (Debian's lua-messagepack) on the same data, and
-- libcrypto's bare HMAC-SHA256.
local function wirerows()
  package.path = package.path .. ";/usr/share/lua/5.3/?.lua"
  local hasmp, mp = pcall(require, "MessagePack")
  for _, n in ipairs { 1000, 100000 } do
    local list = {}
    for i = 1, n do list[i] = { id = i, name = "item" .. i, score = i * 0.5 } end
    local reps = 300000 // n
    local frame = jobs.encode(nil, list)
    assert(jobs.decode(nil, frame)[n].name == "item" .. n)
    local wire = meantime(reps, function() jobs.decode(nil, jobs.encode(nil, list)) end)
    local copy = baseline.copy(5, reps, list)
    local theirs, text = 0, "lua-MessagePack not installed"
    if hasmp then
      theirs = meantime(reps, function() mp.unpack(mp.pack(list)) end)
      text = ("%.2f ms: lua-MessagePack"):format(theirs * 1e3)
    end
    row(("wire_rows %dk"):format(n // 1000),
        ("%.2f ms encode+decode (%.0f KiB)"):format(wire * 1e3, #frame / 1024),
        ("%.2f ms: the in-process copy; %s"):format(copy * 1e3, text),
        ("%.2fx the copy; %.1fx faster"):format(wire / copy, theirs / wire),
        "<= 1.3x the copy; faster than lua-MessagePack")
  end
  local a1, a2, a3, a4, a5, a6, a7, a8, a9, a10 =
    1, 2.5, "three", { 4 }, true, 6, 7, "eight", { 9, 9 }, 10
  local function fn() return a1, a2, a3, a4, a5, a6, a7, a8, a9, a10 end
  local key = { key = "bench key" }
  assert(select(10, jobs.decode(key, jobs.encode(key, fn))()) == 10)
  local wire = meantime(20000, function() jobs.decode(key, jobs.encode(key, fn)) end)
  local copy = baseline.copy(5, 20000, fn)
  row("wire_function", ("%.2f us encode+decode, tagged"):format(wire * 1e6),
      ("%.2f us: the in-process copy"):format(copy * 1e6),
      ("%.2fx"):format(wire / copy), "<= 2x the copy")
  local s = string.rep("x", 189)  -- a frame of 256 bytes before its tag
  assert(#jobs.encode(nil, s) == 256)
  local plain = meantime(100000, function() jobs.encode(nil, s) end)
  local tagged = meantime(100000, function() jobs.encode(key, s) end)
  local bare = baseline.hmac(100000, 256)
  row("wire_hmac", ("%.2f us: a tag of a 256-byte frame"):format((tagged - plain) * 1e6),
      ("%.2f us: libcrypto's HMAC() of 256 bytes"):format(bare * 1e6),
      ("%.2f"):format((tagged - plain) / bare), "<= 1 us")
end

if group == "wire" then
  wirerows()
  report()
  return
end

-- The rows of many cores, at N = 1, 2, 4, ... up to the cores this machine
-- has (issue 33's targets are for 16): each beside N = 1 of the same run.
local function corecounts()
  local p = io.popen("nproc")
  local cores = tonumber(p:read("a")) or 1
  p:close()
  local counts, n = {}, 1
  while n <= cores do
    counts[#counts + 1] = n
    n = n * 2
  end
  return counts
end

local function corerows()
  local counts = corecounts()
  -- spawn_nested: N jobs, each starting 5,000 / N jobs of its own and
  -- waiting for them: where the hub's lock would cap it.
  local nested, states = {}, 5000 / baseline.states(5000)
  for _, n in ipairs(counts) do
    nested[n] = best(3, function()
      local t0, list = now(), {}
      for i = 1, n do
        list[i] = jobs.new(function(k)
          local jobs = require "jobs"
          local m = jobs.manager()
          for j = 1, k do m.new(function(x) return x end, j) end
          m.wait_all()
        end, 5000 // n)
      end
      for i = 1, n do assert(list[i]:wait()) end
      return 5000 // n * n / (now() - t0)
    end)
    row(("spawn_nested %d"):format(n), ("%.0f jobs/s"):format(nested[n]),
        ("%.0f jobs/s: N = 1; %.0f states/s: newstate, openlibs, close (C)"):format(
          nested[1], states),
        ("%.2f"):format(nested[n] / nested[1]), ">= 200k jobs/s at 16, rising")
  end
  -- chan_mpmc: N producers and N consumers, jobs all, on one channel of
  -- small tables.
  local mpmc, cqueue = {}, 200000 / baseline.queuethroughput(200000, 1, 1000)
  for _, n in ipairs(counts) do
    local total = 200000
    mpmc[n] = best(3, function()
      local ch, t0, list = jobs.channel(1000), now(), {}
      for i = 1, n do
        list[#list + 1] = jobs.new(function(ch, k)
          for j = 1, k do ch:push({ j, "x" }) end
        end, ch, total // n)
        list[#list + 1] = jobs.new(function(ch, k)
          for _ = 1, k do ch:pop() end
        end, ch, total // n)
      end
      for i = 1, #list do assert(list[i]:wait()) end
      return total // n * n / (now() - t0)
    end)
    row(("chan_mpmc %d+%d"):format(n, n), ("%.0fk msg/s"):format(mpmc[n] / 1e3),
        ("%.0fk msg/s: 1+1; %.0fk msg/s: integers through a C queue, 1+1"):format(
          mpmc[1] / 1e3, cqueue / 1e3),
        ("%.2f"):format(mpmc[n] / mpmc[1]), ">= 1M msg/s at 16+16, not falling")
  end
  -- parallel_alloc: N jobs of allocation-heavy Lua beside the caller doing
  -- the same N times, with each job's collector as it is (generational)
  -- and incremental.
  local function work(mode)
    if mode then collectgarbage(mode) end
    local keep
    for _ = 1, 4 do
      keep = {}
      for i = 1, 100000 do keep[i] = { i, tostring(i) } end
    end
    return #keep
  end
  for _, n in ipairs(counts) do
    local function jobsof(mode)
      return -best(3, function()
        local t0, list = now(), {}
        for i = 1, n do list[i] = jobs.new(work, mode) end
        for i = 1, n do assert(list[i]:wait()) end
        return -(now() - t0)
      end)
    end
    local alone = -best(3, function()
      local t0 = now()
      for _ = 1, n do work() end
      return -(now() - t0)
    end)
    local gen, inc = jobsof(nil), jobsof("incremental")
    row(("parallel_alloc %d"):format(n),
        ("%.2fx speedup (%.2fx incremental)"):format(alone / gen, alone / inc),
        ("%.2f s: the caller, %d times"):format(alone, n),
        ("%.2f of %d"):format(alone / gen / n, n), ">= every peer at 16")
  end
end

if group == "cores" then
  corerows()
  report()
  return
end

-- The soak rows (SPEC §5): a million jobs, tasks or messages leave the
-- footprint where it was. Each runs in a process of its own
-- (bench/soak.lua), with no call to the collector: the RSS after 1,000,000
-- beside that after 100,000. A manager keeping 100,000 finished jobs whose
-- outcomes nobody read: what each costs.
local function soak(name)
  local exe = arg[-1] or "lua5.4"
  local p = assert(io.popen(("%s bench/soak.lua %s"):format(exe, name)))
  local out = p:read("a")
  assert(p:close(), "bench/soak.lua " .. name .. " failed")
  local figures = {}
  for v in out:gmatch("%S+") do figures[#figures + 1] = tonumber(v) end
  return figures
end

for _, s in ipairs({
  { "soak_jobs", "jobs", "batches of 1,000: wait_all + flush, no poll" },
  { "soak_wait", "wait", "batches of 1,000: wait on each + flush" },
  { "soak_tasks", "tasks", "pool tasks, batches of 1,000" },
  { "soak_channel", "channel", "{i, \"x\"} from a job to a job" },
}) do
  local f = soak(s[2])  -- 100000 rss 500000 rss 1000000 rss
  row(s[1], ("%s RSS growth, 100 k to 1 M"):format(mib(f[6] - f[2])),
      ("%s: RSS %s at 100 k, %s at 500 k, %s at 1 M"):format(
        s[3], mib(f[2]), mib(f[4]), mib(f[6])),
      "", "<= 16 MiB")
end
do
  local each = soak("kept")[1]
  row("soak_kept", ("%.0f B RSS a job"):format(each),
      "a manager keeping 100,000 finished jobs, outcomes never read", "",
      "<= 2 KB a job")
end
if group == "soak" then
  report()
  return
end

-- job_speed: Lua code in a job against the same function in the caller's
-- own state: the job's whole cost (start, run, result) against the call.
-- First, while the caller's heap is as fresh as a script's (the rows
-- after leave it holding and collecting hundreds of megabytes). This
-- machine's speed drifts between runs by a third at times, so each figure
-- is the median over 15 pairs (or 'n') run back to back (which goes first
-- alternating) of the pair's ratio; with 'fresh', each run starts from a
-- heap just collected, as a new script's, the collection not timed.
local function paired(mine, theirs, n, fresh)
  local ratios, a, b = {}, {}, {}
  n = n or 15
  local function timed(f)
    if fresh then collectgarbage() end
    local t0 = now()
    f()
    return now() - t0
  end
  for i = 1, n do
    if i % 2 == 0 then
      a[i] = timed(mine)
      b[i] = timed(theirs)
    else
      b[i] = timed(theirs)
      a[i] = timed(mine)
    end
    ratios[i] = a[i] / b[i]
  end
  for _, t in ipairs({ ratios, a, b }) do table.sort(t) end
  local mid = (n + 1) // 2
  return ratios[mid], a[mid], b[mid]
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
  local ratio, there, here = paired(function()
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
  local ratio, parallel, serial = paired(function()
    local a, b = jobs.new(work), jobs.new(work)
    a:wait()
    b:wait()
  end, function() work() work() end)
  local n = 150000000
  local cratio = paired(function() baseline.spin(n, 2) end,
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

-- names: 2,000 jobs of a function naming 10 or 100 globals, which each job
-- takes along (SPEC §2), beside what a user would do without that: the
-- same values passed in one table argument. Best of three each.
do
  local n = 2000
  local function rate(f, arg)
    local m, t0 = jobs.manager(), now()
    for i = 1, n do
      m.new(f, arg)
      if i % 200 == 0 then m.wait_all() m.flush() end
    end
    assert(m.wait_all())
    return n / (now() - t0)
  end
  for _, k in ipairs({ 10, 100 }) do
    local names, t = {}, {}
    for i = 1, k do
      names[i] = "bench_g" .. i
      _G[names[i]], t[names[i]] = i, i
    end
    local sum = table.concat(names, " + ")
    local byname = load("return function() return " .. sum .. " end")()
    local bytable = load("return function(t) return t." .. sum:gsub(" %+ ", " + t.") .. " end")()
    local mine, theirs = 0, 0
    for _ = 1, 3 do
      mine, theirs = math.max(mine, rate(byname)), math.max(theirs, rate(bytable, t))
    end
    row(("names %d"):format(k), ("%.0f jobs/s"):format(mine),
        ("%.0f jobs/s: the values in a table argument"):format(theirs),
        ("%.2f"):format(theirs / mine), "<= 1.5x")
    for i = 1, k do _G[names[i]] = nil end
  end
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

-- The manager's rows keep 110,000 jobs: they come after churn and memory,
-- whose RSS figures would otherwise start from the heap those leave.
-- drain: 20,000 trivial jobs started and drained one by one with the
-- wait_any() loop, beside the same started and waited for with wait_all().
do
  local n, f = 20000, function(i) return i end
  local function run(drain)
    local m = jobs.manager()
    local t0 = now()
    for i = 1, n do m.new(f, i) end
    if drain then
      local count = 0
      while m.wait_any() do count = count + 1 end
      assert(count == n)
    else
      m.wait_all()
    end
    return now() - t0
  end
  local ratio, mine, theirs = paired(function() run(true) end,
                                      function() run(false) end)
  row("drain", ("%.2f s: %d jobs, wait_any() loop"):format(mine, n),
      ("%.2f s: the same, one wait_all()"):format(theirs),
      ("%.2f"):format(ratio), "<= 1.2x")
end

-- kept, status: a manager keeping 100,000 finished jobs (their outcomes
-- read, so their states are closed). 1,000 x (new + wait_all) on it, and
-- removing those, beside the same on an empty manager; tostring of it,
-- beside tostring of one keeping 10,000.
do
  local f = function(i) return i end
  local function keeping(n)
    local m = jobs.manager()
    for i = 1, n do m.new(f, i) end
    m.wait_all()
    for i = 1, n do assert(m[i].done) end
    return m
  end
  local function rounds(m)
    local nums = {}
    for i = 1, 1000 do nums[i] = m.new(f, i).num m.wait_all() end
    for i = 1, 1000 do m.remove(nums[i]) end  -- it keeps what it kept
  end
  local big, small = keeping(100000), keeping(10000)
  local empty = jobs.manager()
  local ratio, full, none = paired(function() rounds(big) end,
                                   function() rounds(empty) end)
  row("kept", ("%.3f s: 1,000 x (new + wait_all), 100,000 kept"):format(full),
      ("%.3f s: the same, none kept"):format(none),
      ("%.2f"):format(ratio), "<= 1.5x")
  local sratio, tbig, tsmall = paired(function() tostring(big) end,
                                      function() tostring(small) end, 5, true)
  row("status", ("%.3f s: tostring, %d jobs"):format(tbig, #big.list()),
      ("%.3f s: tostring, 10,000 jobs"):format(tsmall),
      ("%.1f"):format(sratio), "<= 11x")
end

-- finishing: wait_all() over N jobs that end one at a time, eight running
-- at once, each popping a channel of its own that a job of another manager
-- pushes into in turn: the caller's CPU time for N = 10,000 beside 1,000.
do
  local function cpu(n)
    local m, chans = jobs.manager(), {}
    m.config{ max_threads = 8 }
    for i = 1, n do
      chans[i] = jobs.channel()
      m.new(function(ch) return ch:pop() end, chans[i])
    end
    jobs.new(function(chans) for i = 1, #chans do chans[i]:push(i) end end, chans)
    local c0 = baseline.cputime()
    assert(m.wait_all())
    return baseline.cputime() - c0
  end
  local big, small = leastpair(cpu, 10000, 1000)
  row("finishing", ("%.0f us CPU: wait_all over 10,000 ending in turn"):format(big * 1e6),
      ("%.0f us CPU: over 1,000"):format(small * 1e6),
      ("%.1f"):format(big / small), "<= 12x (linear)")
end

-- The pool rows come last: 200,000 tasks leave a big heap behind. luv
-- (Debian's lua-luv) is the other way Lua programmers run work on warm
-- threads: its new_work loads a function once per thread state too, but
-- carries only scalars and returns through callbacks.
package.path = "bench/?.lua;" .. package.path
local hasluv, uv = pcall(require, "luv")


-- pool_tasks: 200,000 trivial tasks submitted, then all waited for, beside
-- 20,000 jobs (one a task) and luv's new_work for the same 200,000.
do
  local n, p, f = 200000, jobs.pool{}, function(i) return i end
  local pooled = best(3, function()
    local t0, tasks = now(), {}
    for i = 1, n do tasks[i] = p:submit(f, i) end
    for i = 1, n do assert(select(2, tasks[i]:wait()) == i) end
    return n / (now() - t0)
  end)
  local spawned = best(3, function()
    local m, t0, list = jobs.manager(), now(), {}
    for i = 1, n // 10 do list[i] = m.new(f, i) end
    for i = 1, n // 10 do assert(select(2, list[i]:wait()) == i) end
    return n // 10 / (now() - t0)
  end)
  local luv, luvtext = 0, "luv not installed"
  if hasluv then
    luv = best(3, function()
      local done = 0
      local work = uv.new_work(f, function() done = done + 1 end)
      local t0 = now()
      for i = 1, n do uv.queue_work(work, i) end
      uv.run()
      assert(done == n)
      return n / (now() - t0)
    end)
    luvtext = ("luv new_work %.0f tasks/s (%.2f of it)"):format(luv, pooled / luv)
  end
  p:close()
  row("pool_tasks", ("%.0f tasks/s"):format(pooled),
      ("%.0f jobs/s: a job a task; %s"):format(spawned, luvtext),
      ("%.1f"):format(pooled / spawned), ">= 10x spawn; ahead of luv")
end

-- pool_latency: one trivial task, submit to result, 500 times in a row,
-- beside luv's new_work queued one at a time.
do
  local p, f, times, theirs = jobs.pool{}, function() return 1 end, {}, {}
  for i = 1, 500 do
    local t0 = now()
    p:submit(f):wait()
    times[i] = now() - t0
  end
  p:close()
  table.sort(times)
  local median, base = times[250] * 1e6, "luv not installed"
  if hasluv then
    local work = uv.new_work(f, function() end)
    for i = 1, 500 do
      local t0 = now()
      uv.queue_work(work)
      uv.run()
      theirs[i] = now() - t0
    end
    table.sort(theirs)
    base = ("%.1f us: luv new_work, queued one at a time"):format(theirs[250] * 1e6)
  end
  row("pool_latency", ("%.1f us median"):format(median), base,
      hasluv and ("%.2f"):format(median / (theirs[250] * 1e6)) or "", "ahead of luv")
end

-- pool_heavy: 1,000 tasks each requiring a module that takes about 5 ms to
-- load (bench/heavy.lua), in a new pool (made, used and closed), beside a
-- job for each, and beside the caller doing it all itself (loading the
-- module once).
do
  local n = 1000
  local function task(x) return require("heavy").twice(x) end
  local function run(start)
    local t0, list = now(), {}
    for i = 1, n do list[i] = start(task, i) end
    for i = 1, n do assert(select(2, list[i]:wait()) == 2 * i) end
    return now() - t0
  end
  local pooled = -best(3, function()
    local t0, p = now(), jobs.pool{}
    run(function(...) return p:submit(...) end)
    p:close()
    return -(now() - t0)
  end)
  local m = jobs.manager()
  local spawned = run(m.new)
  local alone = -best(3, function()
    local t0 = now()
    package.loaded.heavy = nil
    for i = 1, n do assert(task(i) == 2 * i) end
    return -(now() - t0)
  end)
  row("pool_heavy", ("%.3f s: 1,000 tasks in a pool"):format(pooled),
      ("%.3f s: a job a task, each loading the module; %.3f s: the caller alone")
        :format(spawned, alone),
      ("%.1f"):format(spawned / pooled), ">= 20x")
end

-- cancel_line: cancelling each of N tasks waiting in a pool's line, the
-- last first: the time a cancel takes for N = 20,000, beside N = 2,000.
do
  local function percancel(n)
    local p, ch, t = jobs.pool{ size = 1 }, jobs.channel(), {}
    p:submit(function(ch) return ch:pop() end, ch)
    for i = 1, n do t[i] = p:submit(function() end) end
    local t0 = now()
    for i = n, 1, -1 do t[i]:cancel() end
    local dt = now() - t0
    ch:push(1)
    p:close()
    return dt / n
  end
  local big, small = leastpair(percancel, 20000, 2000)
  row("cancel_line", ("%.2f us a cancel, 20,000 in line"):format(big * 1e6),
      ("%.2f us: 2,000 in line"):format(small * 1e6),
      ("%.1f"):format(big / small), "<= 1.5x (flat)")
end

wirerows()

-- pool_map: map over 100,000 items of about 20 us of Lua work each, beside
-- a plain loop in the caller over the same items.
do
  local list = {}
  for i = 1, 100000 do list[i] = i end
  local function work(x)
    local s = 0
    for k = 1, 1500 do s = s + (x + k) % 7 end
    return s
  end
  local p = jobs.pool{}
  local mapped = -best(2, function()
    local t0 = now()
    local out = p:map(work, list)
    assert(#out == #list and out[7] == work(7))
    return -(now() - t0)
  end)
  p:close()
  local looped = -best(2, function()
    local t0, out = now(), {}
    for i = 1, #list do out[i] = work(list[i]) end
    return -(now() - t0)
  end)
  row("pool_map", ("%.2f s: p:map over 100,000 items"):format(mapped),
      ("%.2f s: a loop in the caller"):format(looped),
      ("%.2fx"):format(looped / mapped), ">= 1.8x on 2 cores")
end

report()
