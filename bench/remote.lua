-- remote.lua: the rows of remote pools (SPEC §13), over loopback to a
-- redis-server of the run's own, each beside its baseline of the same run:
-- a task's bare round trip through a Redis stream in C (hiredis).
--   remote_latency   one trivial task at a time, submit to result
--   remote_tasks     many trivial tasks, with 1 and 2 worker processes
--   remote_recovery  kill -9 of a worker mid-task, until its task is done
--                    on another
--   remote_cancel    cancel of a running task, until wait returns
local jobs = require "jobs"
local baseline = require "baseline"
local server = require "remote.server"

local N = tonumber(os.getenv("REMOTE_TASKS")) or 20000
local LEASE = 1
local KEY = "bench key"

local rows = {}
local function row(...) rows[#rows + 1] = { ... } end

local function quantile(t, q)
  table.sort(t)
  return t[math.max(1, math.ceil(#t * q))]
end

local S = server.start()
local keyfile = S.dir .. "/key"
local f = assert(io.open(keyfile, "w"))
f:write(KEY)
f:close()

local ok, err = pcall(function()
  local bare = baseline.redistrips(S.port, 2000)
  local bmed, b99 = quantile(bare, 0.5), quantile(bare, 0.99)
  local w1 = S:worker("bench", keyfile, "--size", 2, "--lease", LEASE)
  local p <close> = jobs.pool{ engine = S.url, queue = "bench", key = KEY }
  local fn = function(x) return x end
  for _ = 1, 200 do p:submit(fn, 1):wait() end  -- warm: states, connections
  local times = {}
  for i = 1, 2000 do
    local t0 = baseline.now()
    p:submit(fn, i):wait()
    times[i] = baseline.now() - t0
  end
  local med, p99 = quantile(times, 0.5), quantile(times, 0.99)
  row("remote_latency", ("%.0f us median, %.0f us p99"):format(med * 1e6, p99 * 1e6),
      ("%.0f us, %.0f us: the bare C round trip"):format(bmed * 1e6, b99 * 1e6),
      ("%.2fx"):format(med / bmed), "<= 1.5x")
  local bare_rate = 1 / bmed
  for workers = 1, 2 do
    if workers == 2 then S:worker("bench", keyfile, "--size", 2, "--lease", LEASE) end
    local ts = {}
    local t0 = baseline.now()
    for i = 1, N do ts[i] = p:submit(fn, i) end
    for i = 1, N do ts[i]:wait() end
    local secs = baseline.now() - t0
    row(("remote_tasks %d worker%s"):format(workers, workers == 1 and "" or "s"),
        ("%.0f tasks/s (%d tasks)"):format(N / secs, N),
        ("%.0f/s: the bare C round trip, one at a time"):format(bare_rate),
        ("%.2fx"):format(N / secs / bare_rate), ">= 12,000/s with 1")
  end
  -- recovery: the task is stuck on the worker killed, then done elsewhere
  local started, gate = S.dir .. "/started", S.dir .. "/gate"
  local t = p:submit(function(started, gate)
    local f = io.open("/proc/self/stat")
    local me = f:read("n")
    f:close()
    io.open(started .. "." .. me, "w"):close()
    while not io.open(gate) do end
    return me
  end, started, gate)
  io.open(gate, "w"):close()  -- it finishes at once wherever it runs again
  os.remove(gate)
  local victim
  server.until_(function()
    for _, w in ipairs(S.workers) do
      if io.open(started .. "." .. w.pid) then victim = w return true end
    end
  end, 20, "the task to start")
  local t0 = baseline.now()
  victim:kill()
  io.open(gate, "w"):close()
  t:wait(30)
  row("remote_recovery", ("%.2f s"):format(baseline.now() - t0),
      ("%.2f s: the lease + 1 s"):format(LEASE + 1), ("%.2fx"):format((baseline.now() - t0) / (LEASE + 1)),
      "<= lease + 1 s")
  -- cancel: a spinning task
  local c = p:submit(function(started)
    io.open(started .. ".spin", "w"):close()
    while true do end
  end, started)
  server.until_(function() return io.open(started .. ".spin") end, 20, "the spin")
  local c0 = baseline.now()
  c:cancel()
  c:wait()
  local cancel = baseline.now() - c0
  row("remote_cancel", ("%.2f ms"):format(cancel * 1e3),
      ("%.2f ms: the bare C round trip"):format(bmed * 1e3), ("%.1fx"):format(cancel / bmed), "<= 2 ms")
end)
S:stop()
os.execute("rm -rf " .. S.dir)
if not ok then error(err, 0) end

local head = { "row", "luajobs", "baseline (same run)", "ratio", "target" }
local width = {}
for _, r in ipairs({ head, table.unpack(rows) }) do
  for i, c in ipairs(r) do width[i] = math.max(width[i] or 0, #c) end
end
for _, r in ipairs({ head, table.unpack(rows) }) do
  local cells = {}
  for i, c in ipairs(r) do cells[i] = c .. string.rep(" ", width[i] - #c) end
  print("| " .. table.concat(cells, " | ") .. " |")
end
