-- eventloop_spec.lua: jobs.luv and jobs.cqueues, the glue of SPEC §11, and
-- the examples that use them.
local lu = require "luaunit"
local jobs = require "jobs"
local helpers = require "helpers"

TestLoops = {}

-- A job that sleeps 'secs' then returns 'value'.
local function sleeper(secs, value)
  return jobs.new(function(secs, value) require("jobs").sleep(secs) return value end,
                  secs, value)
end

-- Requiring the glue loads no loop: a program that never uses one pays
-- nothing for it.
function TestLoops.test_the_modules_load_their_loop_only_when_used()
  local code, out = helpers.run([[
    local luv, cq = require "jobs.luv", require "jobs.cqueues"
    print(package.loaded.luv, package.loaded.cqueues, type(luv.start), type(cq.await))
  ]])
  lu.assertEquals({ code, out }, { 0, "nil\tnil\tfunction\tfunction\n" })
end

-- luv: on_done callbacks run from the loop, a coroutine awaits, and
-- uv.run() returns when the work is done, a job started from the loop
-- included.
function TestLoops.test_luv_runs_callbacks_and_returns_when_the_work_is_done()
  local uv = require "luv"
  local jobsluv = require "jobs.luv"
  jobsluv.start()
  jobsluv.start()  -- twice: nothing more
  local got = {}
  sleeper(0.05, "a"):on_done(function(job) got[#got + 1] = job.result end)
  local timer = uv.new_timer()
  timer:start(10, 0, function()  -- from the loop, once the rest is on
    timer:close()
    sleeper(0.1, "late"):on_done(function(job) got[#got + 1] = job.result end)
  end)
  coroutine.wrap(function()
    local r = { jobsluv.await(sleeper(0.02, "awaited")) }
    got[#got + 1] = r[2]
    for i = 1, 20 do  -- awaits again from the resume: new waiters meanwhile
      r = { jobsluv.await(sleeper(0, i)) }
    end
    got.again = r[2]
  end)()
  uv.run()
  table.sort(got)  -- in whatever order their sleeps end (under load, any)
  lu.assertEquals(got, { "a", "awaited", "late", again = 20 })
  lu.assertEquals(jobs.unfinished(), 0)
  uv.run()  -- nothing unfinished: returns at once
end

-- Two coroutines awaiting one job are both resumed (before, the first was
-- lost and uv.run() returned anyway). The job ends behind a channel the
-- loop's timer opens once both wait.
function TestLoops.test_luv_resumes_every_coroutine_awaiting_a_job()
  local uv = require "luv"
  local jobsluv = require "jobs.luv"
  local gate = jobs.channel()
  local job = jobs.new(function(gate) return gate:pop() end, gate)
  local got = {}
  for i = 1, 2 do
    coroutine.wrap(function()
      got[i] = select(2, jobsluv.await(job))
    end)()
  end
  local timer = uv.new_timer()
  timer:start(0, 0, function() timer:close() gate:push("done") end)
  uv.run()
  lu.assertEquals(got, { "done", "done" })
end

-- cqueues: awaits in several coroutines, one with a timeout, while another
-- ticks: none blocks the others.
function TestLoops.test_cqueues_awaits_without_blocking_the_controller()
  local cqueues = require "cqueues"
  local jobscq = require "jobs.cqueues"
  local cq, got, ticks = cqueues.new(), {}, 0
  for i = 1, 3 do
    cq:wrap(function()
      local r = { jobscq.await(sleeper(0.05 * i, i)) }
      got[i] = r[2]
    end)
  end
  local never = jobs.channel()  -- 'slow' ends only when cancelled: its
  local slow = jobs.new(function(ch) return ch:pop() end, never)  -- await
  cq:wrap(function() got.timeout = { jobscq.await(slow, 0.05) } end)  -- times out
  cq:wrap(function() for _ = 1, 3 do cqueues.sleep(0.02) ticks = ticks + 1 end end)
  assert(cq:loop())
  slow:cancel()
  lu.assertEquals(got, { 1, 2, 3, timeout = { nil, "timeout" } })
  lu.assertEquals(ticks, 3)
end

-- A job running a cqueues loop is cancelled, whatever its coroutines do:
-- cqueues resumes them from C, past the job's coroutine library, so the
-- cancel's hook cannot find them; they stop as they yield back, or at the
-- next cycle of the job's collector if they allocate (doc/design.md says
-- why one that does neither cannot be reached). Before, one that spun
-- allocating was never cancelled.
function TestLoops.test_a_job_running_a_cqueues_loop_is_cancelled()
  for _, body in ipairs({ "while true do cqueues.sleep(0) end",
                          "while true do local t = {} end",
                          "while true do local s = ('x'):rep(100) .. i end" }) do
    local ready = jobs.channel()
    local j = jobs.new(function(ready, body)
      local cqueues = require "cqueues"
      local cq = cqueues.new()
      local spin = assert(load("local cqueues, i = ... " .. body))
      cq:wrap(function() ready:push(true) spin(cqueues, 1) end)
      cq:wrap(function() while true do cqueues.sleep(0.01) end end)
      assert(cq:loop())
    end, ready, body)
    ready:pop()
    j:cancel()
    lu.assertEquals({ j:wait(60) }, { false, "cancelled" }, body)
  end
end

-- Waiting costs no CPU: no busy loop over a one-second wait.
function TestLoops.test_waiting_in_a_loop_costs_no_cpu()
  local uv, cqueues = require "luv", require "cqueues"
  local jobsluv, jobscq = require "jobs.luv", require "jobs.cqueues"
  local c0 = os.clock()
  coroutine.wrap(function() jobsluv.await(sleeper(1, true)) end)()
  uv.run()
  local cq = cqueues.new()
  cq:wrap(function() jobscq.await(sleeper(1, true)) end)
  assert(cq:loop())
  local cpu = os.clock() - c0
  lu.assertTrue(cpu < 0.2, ("%.3f s of CPU over 2 s of waiting"):format(cpu))
end

-- The examples run and say what they did.
function TestLoops.test_the_examples_run()
  for _, name in ipairs({ "luv", "cqueues" }) do
    local f = assert(io.open("examples/" .. name .. ".lua"))
    local code, out = helpers.run(f:read("a"))
    f:close()
    lu.assertEquals(code, 0, out)
    lu.assertStrContains(out, "job 3 done:")
    lu.assertStrContains(out, "ticked 4 times")
  end
end

os.exit(lu.LuaUnit.run(), true)
