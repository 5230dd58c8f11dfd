-- soak_spec.lua: the soak rows of bench/ (SPEC §5, flat memory) at a tenth
-- of their size, with their bounds scaled: the memory malloc holds (Lua's
-- heap included) after 100,000 jobs, tasks or messages is within 1.6 MiB of
-- what it held after 10,000, and a kept job costs at most 2 KiB. Nothing
-- here calls the collector: a script that makes jobs and drops them must
-- get their memory back at the pace it makes them.
local lu = require "luaunit"
local jobs = require "jobs"
local heap = require "heap"

local GROWTH = 1.6 * 1048576  -- 16 MiB per 900,000, per 90,000 here

-- The median of samples 'from' to 'from' + 9 of 's': the heap breathes
-- with the jobs in flight and the collector's phase.
local function median(s, from)
  local t = table.move(s, from, from + 9, 1, {})
  table.sort(t)
  return (t[5] + t[6]) / 2
end

-- Runs 'batch' (1,000 jobs, tasks or messages) 100 times; returns how
-- much more malloc holds after the last ten than after the 11th to 20th.
local function growth(batch)
  local samples = {}
  for b = 1, 100 do
    batch(b)
    samples[b] = heap.inuse()
  end
  return median(samples, 91) - median(samples, 11)
end

local function check(grown)
  lu.assertTrue(grown <= GROWTH, ("%.1f MiB more held"):format(grown / 1048576))
end

TestSoak = {}

-- Jobs of 'f' in batches of 1,000, each awaited with wait_all, flushed.
local function flushed(f)
  local m = jobs.manager()
  check(growth(function()
    for i = 1, 1000 do m.new(f, i) end
    m.wait_all()
    m.flush()
  end))
end

-- Before, each finished job kept its state (15 KiB) until its object was
-- collected, which a collector that sees only the object put off: 345 MiB
-- RSS at 100,000 jobs, growing.
function TestSoak.test_jobs_made_and_flushed_in_batches()
  flushed(function(i) return i end)
end

function TestSoak.test_jobs_each_waited_for()
  local m, f = jobs.manager(), function(i) return i end
  check(growth(function()
    local list = {}
    for i = 1, 1000 do list[i] = m.new(f, i) end
    for i = 1, 1000 do list[i]:wait() end
    m.flush()
  end))
end

-- Results that do not fit a job's record keep its state until they are
-- read: the collector is told of those states too.
function TestSoak.test_jobs_whose_tables_nobody_reads()
  flushed(function(i) return { i } end)
end

function TestSoak.test_pool_tasks_in_batches()
  local p, f = jobs.pool{ size = 2 }, function(i) return i end
  check(growth(function()
    local list = {}
    for i = 1, 1000 do list[i] = p:submit(f, i) end
    for i = 1, 1000 do list[i]:wait() end
  end))
  p:close()
end

function TestSoak.test_messages_through_a_channel_between_two_jobs()
  local ch, ticks = jobs.channel(1000), jobs.channel()
  local producer = jobs.new(function(ch, n)
    for i = 1, n do ch:push({ i, "x" }) end
  end, ch, 100000)
  local consumer = jobs.new(function(ch, ticks)
    for _ = 1, 100 do
      for _ = 1, 1000 do ch:pop() end
      ticks:push(true)  -- the caller samples the heap meanwhile
    end
  end, ch, ticks)
  check(growth(function()
    ticks:pop()
  end))
  lu.assertTrue(producer:wait())
  lu.assertTrue(consumer:wait())
end

-- What malloc holds for each of 10,000 finished jobs of 'f' a manager
-- keeps, their outcomes never read.
local function kept(f)
  local m, n = jobs.manager(), 10000
  collectgarbage()
  local before = heap.inuse()
  for i = 1, n do
    m.new(f, i)
    if i % 1000 == 0 then m.wait_all() end
  end
  m.wait_all()
  collectgarbage()
  return (heap.inuse() - before) / n, m[n]
end

-- A finished job whose outcome nobody reads holds its record, its results
-- or its error in it, not its state. Before: 16 KiB a job.
function TestSoak.test_a_kept_job_costs_little()
  local each, last = kept(function(i) return i end)
  lu.assertTrue(each <= 2048, ("%.0f bytes a job"):format(each))
  lu.assertEquals(last.result, 10000)
  each, last = kept(function(i) error("job " .. i .. " failed") end)
  lu.assertTrue(each <= 2048, ("%.0f bytes a dead job"):format(each))
  lu.assertStrContains(last.error, "job 10000 failed")
  lu.assertStrContains(last:traceback(), "in function 'error'")
end

-- A new job waits while 256 states wait to be closed, until half of
-- them are; but states whose finalizers wait for something (here, for
-- the caller) hold up every thread that closes them, and the new job must
-- not wait for them for ever.
function TestSoak.test_states_slow_to_close_hold_no_job_for_ever()
  local m, gate = jobs.manager(), jobs.channel()
  for _ = 1, 400 do
    m.new(function(gate)
      keep = setmetatable({}, { __gc = function() gate:pop() end })
      return {}  -- a table: the state waits for its object to go
    end, gate)
  end
  lu.assertTrue(m.wait_all(60))
  m.flush()
  collectgarbage()
  collectgarbage()  -- 400 states to close, each closing waits for the gate
  lu.assertEquals({ jobs.new(function() return 1 end):wait(60) }, { true, 1 })
  gate:close()
end

os.exit(lu.LuaUnit.run(), true)
