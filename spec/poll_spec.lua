-- poll_spec.lua: completion without blocking: on_done, jobs.poll, jobs.fd (§6).
local lu = require "luaunit"
local jobs = require "jobs"
local pollfd = require "pollfd"  -- spec/pollfd.c: poll(2)
local helpers = require "helpers"

TestPoll = {}

function TestPoll.setUp()
  local list = jobs.poll()  -- start each test with nothing to report
  lu.assertNotNil(list)
end

function TestPoll.test_fd_becomes_readable_when_a_job_finishes()
  local gate = helpers.gate()
  local j = jobs.new(helpers.behind, gate.path)
  lu.assertFalse(pollfd.readable(jobs.fd(), 0))
  gate.open()
  lu.assertTrue(pollfd.readable(jobs.fd(), 10))  -- waits in poll(2)
  local list = jobs.poll()
  lu.assertEquals(#list, 1)
  lu.assertIs(list[1], j)
  lu.assertFalse(pollfd.readable(jobs.fd(), 0))  -- drained by jobs.poll
  gate.close()
end

function TestPoll.test_poll_reports_each_job_once_in_finishing_order()
  local first = jobs.new("1")
  first:wait(10)
  local second = jobs.new("2")
  second:wait(10)
  lu.assertTrue(pollfd.readable(jobs.fd(), 10))
  local list = jobs.poll()
  lu.assertEquals(#list, 2)
  lu.assertIs(list[1], first)
  lu.assertIs(list[2], second)
  lu.assertEquals(#jobs.poll(), 0)
end

function TestPoll.test_on_done_runs_at_poll_on_this_thread()
  local ran = {}
  local j = jobs.new(function() return 5 end)
  j:on_done(function(job) ran[#ran + 1] = job.result end)
  local k = jobs.spawn({ on_done = function(job) ran[#ran + 1] = job.status end },
                       function() error("no") end)
  j:wait(10)
  k:wait(10)
  lu.assertEquals(ran, {})  -- nothing runs behind our back
  jobs.poll()
  table.sort(ran, function(a, b) return tostring(a) < tostring(b) end)
  lu.assertEquals(ran, { 5, "dead" })
end

function TestPoll.test_on_done_after_the_poll_runs_at_once()
  local j = jobs.new("1")
  j:wait(10)
  jobs.poll()
  local ran = false
  j:on_done(function() ran = true end)
  lu.assertTrue(ran)
end

function TestPoll.test_a_failing_callback_loses_no_other()
  local ran = {}
  local a = jobs.new("1")
  a:wait(10)
  local b = jobs.new("2")
  b:wait(10)
  a:on_done(function() error("callback failed") end)
  b:on_done(function() ran[#ran + 1] = "b" end)
  lu.assertErrorMsgContains("callback failed", jobs.poll)
  jobs.poll()
  lu.assertEquals(ran, { "b" })
end

function TestPoll.test_dropped_jobs_are_not_reported_and_do_not_wake()
  local gate, ch = helpers.gate(), jobs.channel()
  local m = jobs.manager()  -- a manager lists its jobs: drop it with them
  for _ = 1, 20 do
    m.new(function(path, out) helpers.behind(path) out:push(1) end,
          gate.path, ch)
  end
  m = nil
  collectgarbage()
  collectgarbage()  -- every job object is gone while the jobs still run
  gate.open()
  for _ = 1, 20 do lu.assertEquals(ch:pop(10), 1) end
  -- they are ending now: none may make the descriptor readable
  lu.assertFalse(pollfd.readable(jobs.fd(), 1))
  lu.assertEquals(#jobs.poll(), 0)
  gate.close()
end

function TestPoll.test_on_done_must_be_a_function()
  local j = jobs.new("1")
  lu.assertErrorMsgContains("bad argument #1 to 'on_done' (function expected",
    function() j:on_done(1) end)
  lu.assertErrorMsgContains("bad option 'on_done' to 'spawn' (function expected, got number)",
    jobs.spawn, { on_done = 1 }, "1")
  j:wait(10)
end

os.exit(lu.LuaUnit.run(), true)
