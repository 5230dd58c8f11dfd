-- await_spec.lua: jobs.await(job, sleep [, seconds]), for hosts whose Lua
-- may sleep but not block (HAProxy's core.msleep): it waits by calling the
-- host's sleep, so the host's other work goes on.
local lu = require "luaunit"
local jobs = require "jobs"
jobs.config{ at_close = "cancel" }  -- a failing test leaves no job waiting

TestAwait = {}

function TestAwait.test_it_returns_what_wait_returns_sleeping_between_looks()
  local gate = jobs.channel()
  local j = jobs.new(function(gate) return gate:pop(), "two" end, gate)
  local naps = {}
  local function sleep(s)
    naps[#naps + 1] = s
    if #naps == 3 then gate:push("one") end
    jobs.sleep(s)
  end
  lu.assertEquals({ jobs.await(j, sleep) }, { true, "one", "two" })
  lu.assertTrue(#naps >= 3)
  for i = 2, #naps do lu.assertTrue(naps[i] >= naps[i - 1] and naps[i] <= 0.02) end
  local dead = jobs.new(function() error("boom", 0) end)
  dead:wait()
  local slept = false
  lu.assertEquals({ jobs.await(dead, function() slept = true end) }, { false, "boom" })
  lu.assertFalse(slept)  -- done already: no nap
end

function TestAwait.test_a_timeout_and_bad_arguments()
  local gate = jobs.channel()
  local j = jobs.new(function(gate) return gate:pop() end, gate)
  lu.assertEquals({ jobs.await(j, jobs.sleep, 0.01) }, { nil, "timeout" })
  lu.assertErrorMsgContains("bad argument #2 to 'await' (sleep function expected, got number)",
                            jobs.await, j, 42)
  lu.assertErrorMsgContains("bad argument #3 to 'await' (non-negative number of seconds",
                            jobs.await, j, jobs.sleep, -1)
  local callable = setmetatable({}, { __call = function(_, s) jobs.sleep(s) end })
  gate:push(7)
  lu.assertEquals({ jobs.await(j, callable) }, { true, 7 })
end

-- A host that runs its tasks as coroutines, each sleep a yield to its
-- scheduler (HAProxy's register_task and core.msleep): two tasks await
-- their jobs at once, and a third, dispatching on_done, goes on meanwhile.
function TestAwait.test_tasks_of_a_cooperative_host_await_side_by_side()
  local gates = { jobs.channel(), jobs.channel() }
  local got, dispatched, ticks = {}, {}, 0
  local tasks = {}
  for i = 1, 2 do
    tasks[i] = coroutine.wrap(function()
      local j = jobs.new(function(gate, i) return gate:pop() * i end, gates[i], i)
      j:on_done(function(job) dispatched[#dispatched + 1] = job.result end)
      got[i] = { jobs.await(j, coroutine.yield) }
      return "over"
    end)
  end
  tasks[3] = function() ticks = ticks + 1 jobs.poll() end  -- the dispatcher
  local running = { true, true }
  while running[1] or running[2] or #dispatched < 2 do
    for i = 1, 2 do
      if running[i] and tasks[i]() == "over" then running[i] = false end
    end
    tasks[3]()
    if ticks == 5 then gates[2]:push(10) end  -- the second finishes first
    if ticks == 50 then gates[1]:push(3) end
    jobs.sleep(0.001)
  end
  lu.assertEquals(got, { { true, 3 }, { true, 20 } })
  table.sort(dispatched)
  lu.assertEquals(dispatched, { 3, 20 })
end

os.exit(lu.LuaUnit.run(), true)
