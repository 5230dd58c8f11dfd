-- lifecycle.lua: one run of the random tester of lifecycle_spec.lua: a
-- random sequence of operations on jobs, pools, managers and channels
-- (start, submit, map, cancel queued or running, timeouts, close, drop,
-- collect, reload the module, memory limits from a few hundred bytes up),
-- with finalizers that use every kind of object after its own finalizer
-- may have run. Prints "ok SEED" once its checks pass; the process must
-- then end cleanly (its finalizers run as it closes).
--   lua5.4 spec/lifecycle.lua SEED [OPS]
local seed = assert(tonumber(arg[1]), "seed expected")
local ops = tonumber(arg[2]) or 200
local jobs = require "jobs"
local graphs = require "graphs"
local r = graphs.rng(seed)

local STATUSES = { created = true, running = true, completed = true,
                   dead = true, cancelled = true }

local live = {}  -- objects of every kind, some dropped as it goes
local gates = {}  -- channels that blocked jobs wait on, opened at the end
local spinners = {}  -- jobs that spin until cancelled, dropped or not
local checks = 0

local function pick(kind)
  local found = {}
  for _, o in pairs(live) do
    if kind == nil or o.kind == kind then found[#found + 1] = o end
  end
  return found[1] and found[r(#found)]
end

local function add(kind, obj, want)
  live[#live + 1] = { kind = kind, obj = obj, want = want }
  if kind == "job" and want[1] == "spin" then spinners[#spinners + 1] = obj end
end

-- A function for a job or task: quick (returns its argument), failing,
-- blocked on a gate until the end (or cancelled), or a spinner that
-- cancel or its timeout stops (it gives up after a minute: no hang).
local function body()
  local k = r(4)
  if k == 1 then
    return function(x) return x end, "quick"
  elseif k == 2 then
    return function() error("planned") end, "error"
  elseif k == 3 then
    local gate = jobs.channel()
    gates[#gates + 1] = gate
    return function(x) gate:pop(60); return x end, "gated"
  end
  return function(x)
    local t = os.time() + 60
    while os.time() < t do jobs.sleep(0.001) end
    return x
  end, "spin"
end

-- Whether the outcome (ok, v) of a finished job made of a 'want' body
-- with argument 'x' is one it may have.
local function check(want, ok, v, x, status)
  checks = checks + 1
  assert(STATUSES[status], "bad status " .. tostring(status))
  if ok and (want == "quick" or want == "gated") then
    assert(graphs.same(v, x), "wrong result")
  elseif ok and want == "error" then
    error("a failing body succeeded")
  elseif not ok and v ~= "timeout" then
    assert(type(v) == "string" or type(v) == "table", "bad error")
  end
end

-- Lets every job end: gated ones pass, spinning ones are cancelled.
local function release()
  for _, g in ipairs(gates) do g:close() end
  for _, j in ipairs(spinners) do j:cancel() end
end

-- Uses 'o' as a finalizer might: whatever it raises is caught.
local function use(o)
  if o.kind == "job" then
    local ok, v = o.obj:wait(0)
    return o.obj.status, ok, v
  elseif o.kind == "pool" then
    return o.obj:submit(function() return 1 end):wait(0)
  elseif o.kind == "channel" then
    if #o.obj < o.want then o.obj:push(1) end
    return o.obj:pop(0)
  elseif o.kind == "manager" then
    return o.obj.new("return 1"):wait(0), o.obj.list()
  end
end

local function finalizer(o)
  return setmetatable({ o = o }, { __gc = function(self)
    pcall(use, self.o)
    pcall(function() return require("jobs").new("return 1"):wait(0) end)
  end })
end

local operations = {
  function()  -- a job, maybe with options
    local fn, want = body()
    local x = graphs.make(r(1000), 2)
    local j
    if r(3) == 1 then
      j = jobs.spawn({ timeout = r(2) == 1 and 0.001 * r(50) or nil,
                       memory_limit = r(2) == 1 and 200 * r(1000) or nil },
                     fn, x)
    else
      j = jobs.new(fn, x)
    end
    add("job", j, { want, x })
  end,
  function()  -- a pool
    local opts = { size = r(3) }
    if r(3) == 1 then opts.memory_limit = 100 * r(2000) end
    if r(4) == 1 then opts.timeout = 0.001 * r(100) end
    if r(4) == 1 then opts.init = r(2) == 1 and "POOLED = true" or "error('init')" end
    add("pool", jobs.pool(opts))
  end,
  function()  -- a task
    local p = pick("pool")
    if not p then return end
    local fn, want = body()
    local x = graphs.make(r(1000), 2)
    local ok, t = pcall(p.obj.submit, p.obj, fn, x)
    if ok then add("job", t, { want, x }) end
  end,
  function()  -- a map
    local p = pick("pool")
    if not p then return end
    local list = {}
    for i = 1, r(20) do list[i] = i end
    release()  -- it waits for its tasks, behind those of the pool
    local ok, out = pcall(p.obj.map, p.obj, function(v) return v * 2 end, list)
    if ok then for i = 1, #list do assert(out[i] == 2 * i, "map") end end
  end,
  function()  -- a cancel
    local j = pick("job")
    if j then j.obj:cancel() end
  end,
  function()  -- a wait
    local j = pick("job")
    if not j then return end
    local ok, v = j.obj:wait(r(3) == 1 and 0.01 or 0)
    if ok ~= nil or v ~= "timeout" then
      check(j.want[1], ok, v, j.want[2], j.obj.status)
    end
  end,
  function()  -- a channel and its traffic
    local c = pick("channel")
    if not c or r(3) == 1 then
      local capacity = r(2) == 1 and r(4) or math.huge
      add("channel", jobs.channel(capacity < math.huge and capacity or nil),
          capacity)
      return
    end
    if #c.obj < c.want then  -- a push to a full one would wait for good
      pcall(c.obj.push, c.obj, graphs.make(r(1000), 2))
    end
    if r(2) == 1 then pcall(c.obj.pop, c.obj, 0) end
    if r(8) == 1 then c.obj:close() end
  end,
  function()  -- a manager
    local m = pick("manager")
    if not m or r(3) == 1 then add("manager", jobs.manager()) return end
    local fn, want = body()
    local ok, j = pcall(m.obj.new, fn, 7)
    if ok then add("job", j, { want, 7 }) end
    if r(4) == 1 then m.obj.flush() end
  end,
  function()  -- a pool closed
    local p = pick("pool")
    if p and r(2) == 1 then
      release()  -- its tasks can end
      p.obj:close()
    end
  end,
  function()  -- drop something, and collect
    if #live > 0 then
      -- A pool collected waits for its tasks (gated ones would hold it)
      if table.remove(live, r(#live)).kind == "pool" then release() end
    end
    if r(2) == 1 then collectgarbage() else collectgarbage("step") end
  end,
  function()  -- a finalizer over some object
    local o = pick()
    if o then live[#live + 1] = { kind = "finalizer", obj = finalizer(o) } end
  end,
  function()  -- the module reloaded; objects of the old one live on
    if r(4) == 1 then
      package.loaded.jobs = nil
      jobs = require "jobs"
    end
  end,
}

for _ = 1, ops do
  local k = r(#operations)
  if os.getenv("LIFECYCLE_TRACE") then io.stderr:write("op ", k, "\n") end
  operations[k]()
end
release()
for _, o in ipairs(live) do
  if o.kind == "job" then
    local ok, v = o.obj:wait(60)
    assert(ok ~= nil or v ~= "timeout", "a job did not end")
    check(o.want[1], ok, v, o.want[2], o.obj.status)
  end
end
-- Some objects go with the state, their finalizers using one another.
for _ = 1, 5 do
  local o = pick()
  if o then live[#live + 1] = { kind = "finalizer", obj = finalizer(o) } end
end
keep = live
print("ok " .. seed .. " " .. checks)
