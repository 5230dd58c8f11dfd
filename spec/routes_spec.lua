-- routes_spec.lua: a random tester of every route a value takes (§4, §6,
-- §10): generated graphs (spec/graphs.lua) as a job's argument and result,
-- as a result alone, through a channel within a state and to a job, as a
-- pool task's argument and result, through p:map, as globals a function
-- or a string names, and as bytes (jobs.encode, to a job and back); each
-- compared with the original. A fixed seed on every build; FUZZ_RUNS=5000
-- FUZZ_SEED=9 runs it longer.
local lu = require "luaunit"
local jobs = require "jobs"
local graphs = require "graphs"

local RUNS = tonumber(os.getenv("FUZZ_RUNS")) or 120
local SEED = tonumber(os.getenv("FUZZ_SEED")) or 20261206
local STEP = 3
local KEY = "routes' key"

-- What the job side of a route gives back: the value, and what its chains
-- return there (the names they need are set first).
local function echo(v)
  GRAPH_STEP = 3
  return v, graphs.calls(v)
end

local pool = jobs.pool { size = 2 }

-- A callable table, submitted again and again: a user value a pool must
-- never take for its own record of a task.
local callable = setmetatable({ 1, false, 3, 1 << 40 },
                              { __call = function(_, v) return echo(v) end })

-- Each route takes a value and returns its copy and the calls made where
-- it went (or nil where it went nowhere that runs code).
local routes = {
  argument = function(v)
    local ok, c, calls = jobs.new(echo, v):wait(60)
    assert(ok, c)
    return c, calls
  end,
  result = function(_, seed)  -- made in the job, from the same seed
    local ok, c, calls = jobs.new(function(s)
      return echo(graphs.make(s))
    end, seed):wait(60)
    assert(ok, c)
    return c, calls
  end,
  channel = function(v)
    local ch = jobs.channel()
    ch:push(v)
    return ch:pop()
  end,
  channel_to_job = function(v)
    local ch = jobs.channel()
    ch:push(v)
    local ok, c, calls = jobs.new(function(q) return echo(q:pop()) end, ch)
                           :wait(60)
    assert(ok, c)
    return c, calls
  end,
  submit = function(v)
    local ok, c, calls = pool:submit(echo, v):wait(60)
    assert(ok, c)
    return c, calls
  end,
  submit_callable = function(v)
    local ok, c, calls = pool:submit(callable, v):wait(60)
    assert(ok, c)
    return c, calls
  end,
  map = function(v)
    return pool:map(function(x) return x end, { v, v })[2]
  end,
  global = function(v)
    GRAPH_VALUE = v
    local ok, c, calls = jobs.new(function() return echo(GRAPH_VALUE) end)
                           :wait(60)
    GRAPH_VALUE = nil
    assert(ok, c)
    return c, calls
  end,
  bytes = function(v)  -- within a state, through a tagged frame (§12)
    return jobs.decode({ key = KEY }, jobs.encode({ key = KEY }, v))
  end,
  bytes_to_job = function(v)  -- to another state and back, as bytes
    local ok, frame = jobs.new(function(f, key)
      local w = jobs.decode({ key = key }, f)
      return jobs.encode({ key = key }, echo(w))
    end, jobs.encode({ key = KEY }, v), KEY):wait(60)
    assert(ok, frame)
    return jobs.decode({ key = KEY }, frame)
  end,
  string_global = function(v)
    GRAPH_VALUE = v
    local ok, c = jobs.new("return GRAPH_VALUE"):wait(60)
    GRAPH_VALUE = nil
    assert(ok, c)
    return c
  end,
}

local names = {}
for name in pairs(routes) do names[#names + 1] = name end
table.sort(names)

TestRoutes = {}

function TestRoutes.test_each_generated_value_survives_every_route()
  GRAPH_STEP = STEP
  for i = 1, RUNS do
    local seed = SEED + i
    local v = graphs.make(seed)
    local want = graphs.calls(v)
    for _, name in ipairs(names) do
      local ok, c, calls = pcall(routes[name], v, seed)
      lu.assertTrue(ok, ("seed %d, route %s: %s"):format(seed, name, tostring(c)))
      lu.assertTrue(graphs.same(v, c), ("seed %d, route %s"):format(seed, name))
      if calls ~= nil then
        lu.assertEquals(calls, want, ("seed %d, route %s"):format(seed, name))
      end
    end
  end
end

function TestRoutes.test_a_chain_a_job_runs_takes_every_name()
  GRAPH_STEP = STEP
  local r = graphs.rng(SEED)
  for _ = 1, RUNS do
    local n = r(2) == 1 and r(500) or r(40)
    lu.assertEquals({ jobs.new(graphs.chain(n, true)):wait(60) },
                    { true, n * STEP })
    lu.assertEquals({ pool:submit(graphs.chain(n, true)):wait(60) },
                    { true, n * STEP })
  end
end

local ok = lu.LuaUnit.run()
pool:close()
os.exit(ok, true)
