-- core_spec.lua: jobs.new on functions and strings, and the job object (§2, §3).
local lu = require "luaunit"
local jobs = require "jobs"
local helpers = require "helpers"

TestCore = {}

function TestCore.test_function_job_returns_all_its_results()
  local j = jobs.new(function(a, b) return a + b, a * b end, 6, 7)
  lu.assertEquals({ j:wait(10) }, { true, 13, 42 })
  lu.assertEquals(j.result, 13)
  lu.assertEquals({ j:results() }, { 13, 42 })
  lu.assertEquals(j.status, "completed")
  lu.assertTrue(j.done)
end

function TestCore.test_job_without_results_completes_with_none()
  local j = jobs.new(function() end)
  lu.assertEquals(select("#", j:wait(10)), 1)
  lu.assertNil(j.result)
  lu.assertEquals(select("#", j:results()), 0)
end

function TestCore.test_nil_results_keep_their_count()
  local j = jobs.new(function() return nil, 2, nil end)
  lu.assertEquals(select("#", j:wait(10)), 4)
  lu.assertEquals(select("#", j:results()), 3)
end

function TestCore.test_string_is_tried_as_an_expression()
  lu.assertEquals({ jobs.new("2+3"):wait(10) }, { true, 5 })
end

function TestCore.test_string_is_then_tried_as_a_chunk()
  local j = jobs.new("for i = 1, 3 do x = i end return x")
  lu.assertEquals({ j:wait(10) }, { true, 3 })
end

function TestCore.test_string_env_supplies_the_globals()
  local j = jobs.new("x * y + #string.rep('a', 2)", { x = 6, y = 7 })
  lu.assertEquals({ j:wait(10) }, { true, 44 })
end

function TestCore.test_string_env_overrides_the_standard_library()
  local j = jobs.new("print", { print = 5 })
  lu.assertEquals({ j:wait(10) }, { true, 5 })
end

function TestCore.test_job_state_has_all_standard_libraries()
  local j = jobs.new(function()
    return type(string), type(table), type(math), type(io), type(os),
           type(coroutine), type(utf8), type(debug), type(package), type(require)
  end)
  lu.assertEquals({ j:wait(10) }, { true, "table", "table", "table", "table",
    "table", "table", "table", "table", "table", "function" })
end

function TestCore.test_job_state_inherits_package_paths()
  local j = jobs.new("package.path .. '|' .. package.cpath")
  j:wait(10)
  lu.assertEquals(j.result, package.path .. "|" .. package.cpath)
end

function TestCore.test_jobs_can_be_required_inside_a_job()
  local j = jobs.new(function()
    local inner = require("jobs").new(function(x) return x * 2 end, 21)
    return select(2, inner:wait(10))
  end)
  lu.assertEquals({ j:wait(10) }, { true, 42 })
end

-- The module works in a job whatever libraries the job opened: its own
-- functions, its printing and its checks need none of them.
function TestCore.test_jobs_can_be_required_in_a_job_with_no_libraries()
  for _, libs in ipairs({ {}, { "string", "table" } }) do
    local j = jobs.spawn({ libs = libs }, function()
      local jobs = require "jobs"
      local m = jobs.manager()
      m.config{ max_threads = 2 }
      local inner = m.new(function(x) return x * 2 end, 21)
      assert(m.wait_all(10))
      local ok, err = pcall(m.wait_all, -1)
      return select(2, inner:wait(10)), m.describe(inner), not ok
    end)
    local ok, answer, line, refused = j:wait(10)
    lu.assertEquals({ ok, answer, refused }, { true, 42, true }, tostring(answer))
    lu.assertStrContains(line, "[1] completed")
  end
end

-- lua5.4 and luajobs run scripts with a generational collector; a job's
-- state collects the same way, so that the same code runs alike in both.
function TestCore.test_a_job_state_collects_in_generational_mode()
  local j = jobs.new(function()
    local before = collectgarbage("incremental")
    local t = {}
    for i = 1, 1000 do t[i] = { i } end  -- and it still collects after
    collectgarbage()
    return before, collectgarbage("generational"), #t
  end)
  lu.assertEquals({ j:wait(10) }, { true, "generational", "incremental", 1000 })
end

-- A job's coroutine library follows the coroutine running (for cancels);
-- what it does is Lua's own, to the error messages.
function TestCore.test_coroutines_in_a_job_behave_as_in_lua()
  local function exercise()
    local out = {}
    local function add(...) out[#out + 1] = table.pack(...) end
    local co = coroutine.create(function(a, b)
      local c = coroutine.yield(a + b)
      local d, e = coroutine.yield(c * 2)
      return d, e, coroutine.isyieldable(), coroutine.status(coroutine.running())
    end)
    add(coroutine.resume(co, 1, 2))
    add(coroutine.resume(co, 10))
    add(coroutine.resume(co, "x", nil))
    add(coroutine.resume(co))  -- dead
    add(coroutine.resume(coroutine.running()))  -- not suspended
    add(pcall(coroutine.resume, 42))
    local bad = coroutine.create(function() error({ code = 7 }) end)
    local ok, e = coroutine.resume(bad)
    add(ok, type(e), e.code, coroutine.status(bad))
    local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
    add(gen(), gen(), gen())
    local closed = false
    local failing = coroutine.wrap(function()
      local _ <close> = setmetatable({}, { __close = function() closed = true end })
      coroutine.yield()
      error("inside")
    end)
    failing()
    add(pcall(failing))
    add(closed)
    add(pcall(coroutine.wrap, 1))
    local sleeping = coroutine.create(function()
      local _ <close> = setmetatable({}, { __close = function() add("closed") end })
      coroutine.yield()
    end)
    coroutine.resume(sleeping)
    add(coroutine.close(sleeping), coroutine.status(sleeping))
    add(pcall(coroutine.close, coroutine.running()))
    return out
  end
  local here = exercise()
  local ok, there = jobs.new(exercise):wait(10)
  lu.assertTrue(ok, tostring(there))
  lu.assertEquals(there, here)
end

-- A job's globals are its own: the names its function reads arrive as
-- copies, and what it sets stays in the job.
function TestCore.test_job_has_its_own_globals()
  shared_global_of_core_spec = "caller's"
  local j = jobs.new(function()
    local seen = shared_global_of_core_spec
    shared_global_of_core_spec = "job's"
    return seen
  end)
  lu.assertEquals({ j:wait(10) }, { true, "caller's" })
  lu.assertEquals(shared_global_of_core_spec, "caller's")
  shared_global_of_core_spec = nil
end

function TestCore.test_numbers_count_up_from_the_previous_job()
  local a, b = jobs.new("1"), jobs.new("2")
  lu.assertEquals(b.num, a.num + 1)
  a:wait(10) b:wait(10)
end

function TestCore.test_name_is_the_string_or_the_function_source()
  local s = jobs.new("1 + 1")
  lu.assertEquals(s.name, "1 + 1")
  local line = debug.getinfo(1, "l").currentline + 1
  local f = jobs.new(function() end)
  lu.assertEquals(f.name, ("function <spec/core_spec.lua:%d>"):format(line))
  s:wait(10) f:wait(10)
end

function TestCore.test_running_job_reads_as_running_until_it_finishes()
  local gate = helpers.gate()
  local j = jobs.new(helpers.behind, gate.path, "out")
  lu.assertEquals(j.status, "running")
  lu.assertFalse(j.done)
  lu.assertNil(j.result)
  lu.assertEquals(select("#", j:results()), 0)
  lu.assertEquals({ j:wait(0.05) }, { nil, "timeout" })
  lu.assertStrContains(tostring(j), ("<job #%d running: function <"):format(j.num))
  gate.open()
  lu.assertEquals({ j:wait(10) }, { true, "out" })
  lu.assertEquals(j.status, "completed")
  gate.close()
end

function TestCore.test_elapsed_grows_while_running_and_is_final_when_done()
  local gate = helpers.gate()
  local j = jobs.new(helpers.behind, gate.path)
  local e1 = j.elapsed
  lu.assertTrue(e1 >= 0)
  j:wait(0.02)
  lu.assertTrue(j.elapsed > e1)
  gate.open()
  j:wait(10)
  local final = j.elapsed
  j:wait(0.02)
  lu.assertEquals(j.elapsed, final)
  gate.close()
end

function TestCore.test_wait_with_zero_seconds_polls()
  local j = jobs.new("1")
  j:wait()  -- no timeout: waits for good
  lu.assertEquals({ j:wait(0) }, { true, 1 })
end

function TestCore.test_tostring_shows_number_status_and_name()
  local j = jobs.new("40 + 2")
  j:wait(10)
  lu.assertEquals(tostring(j), ("<job #%d completed: 40 + 2>"):format(j.num))
  local long = jobs.new("--" .. ("x"):rep(100) .. "\nreturn 2")
  long:wait(10)
  lu.assertEquals(tostring(long),
    ("<job #%d completed: --%s...>"):format(long.num, ("x"):rep(38)))
  local lines = jobs.new("--short\nreturn 2")
  lines:wait(10)
  lu.assertEquals(tostring(lines),
    ("<job #%d completed: --short...>"):format(lines.num))
end

function TestCore.test_unknown_fields_are_nil()
  local j = jobs.new("1")
  lu.assertNil(j.nonsense)
  j:wait(10)
end

function TestCore.test_jobs_run_in_parallel()
  -- Each job waits for the other's gate: they can only finish together.
  local g1, g2 = helpers.gate(), helpers.gate()
  local function meet(mine, theirs)
    assert(io.open(mine, "w")):close()
    while true do
      local f = io.open(theirs)
      if f then f:close() return true end
    end
  end
  local a = jobs.new(meet, g1.path, g2.path)
  local b = jobs.new(meet, g2.path, g1.path)
  lu.assertEquals({ a:wait(10) }, { true, true })
  lu.assertEquals({ b:wait(10) }, { true, true })
  g1.close() g2.close()
end

function TestCore.test_two_hundred_jobs_at_once_are_all_collected()
  local list = {}
  for i = 1, 200 do list[i] = jobs.new(function(n) return n * n end, i) end
  for i = 1, 200 do
    lu.assertEquals({ list[i]:wait(30) }, { true, i * i })
  end
  list = nil
  collectgarbage()
  collectgarbage()
  lu.assertEquals(jobs.new("'still healthy'"):wait(10), true)
end

function TestCore.test_dropped_running_job_runs_to_its_end()
  local gate, out = helpers.gate(), jobs.channel()
  jobs.new(function(path, out)  -- nobody keeps it
    out:push(require("helpers").behind(path, "got out"))
  end, gate.path, out)
  collectgarbage()
  collectgarbage()
  gate.open()
  lu.assertEquals(out:pop(10), "got out")
  gate.close()
end

function TestCore.test_a_collected_job_closes_its_state_at_once()
  local closed, m = jobs.channel(), jobs.manager()
  local j = m.new(function(ch)
    keep = setmetatable({}, { __gc = function() ch:push("closed") end })
  end, closed)
  lu.assertIs(m.wait_any({ j }, 10), j)  -- over, and never looked at
  j, m = nil, nil
  collectgarbage()
  collectgarbage()
  lu.assertEquals(closed:pop(10), "closed")  -- no poll, no new job needed
end

-- A finalizer left in a finished job's state runs as the state closes, on
-- a job's thread, never the caller's: looking at the job never waits for
-- it. The job's cancel and timeout reach it there, where it waits.
function TestCore.test_a_jobs_finalizers_run_off_the_callers_thread()
  local function leaving(gate, done)  -- a job leaving a finalizer behind
    keep = setmetatable({}, { __gc = function()
      local blocked = require("sigmask").blocked(2)  -- SIGINT: a job's thread
      local got
      local report <close> = setmetatable({}, { __close = function(_, err)
        done:push(blocked, err or got)  -- as it ends, or is stopped
      end })
      got = gate:pop()
    end })
    return "result"
  end
  local gate, done = jobs.channel(), jobs.channel()
  local j = jobs.new(leaving, gate, done)
  lu.assertEquals({ j:wait(10) }, { true, "result" })  -- the caller goes on
  lu.assertEquals(j.result, "result")
  gate:push("let go")
  lu.assertEquals({ done:pop(10) }, { true, "let go" })
  local k = jobs.new(leaving, gate, done)
  lu.assertEquals({ k:wait(10) }, { true, "result" })
  lu.assertFalse(k:cancel())  -- over: it reaches only the finalizer
  lu.assertEquals({ done:pop(10) }, { true, "cancelled" })
  lu.assertEquals(k.status, "completed")
  local t = jobs.spawn({ timeout = 0.2 }, leaving, gate, done)
  lu.assertEquals({ t:wait(10) }, { true, "result" })
  lu.assertEquals({ done:pop(10) }, { true, "timeout" })
end

-- A burst of states to close takes one pool thread, not one each.
function TestCore.test_closing_a_burst_of_states_starts_no_crowd_of_threads()
  local function threads()
    local f = assert(io.open("/proc/self/status"))
    local n = tonumber(f:read("a"):match("Threads:%s*(%d+)"))
    f:close()
    return n
  end
  local m, list = jobs.manager(), {}
  m.config{ max_threads = 2 }
  local before = threads()
  for i = 1, 300 do
    list[i] = m.new(function(i)  -- its state is slow to close
      keep = setmetatable({}, { __gc = function() local x = 0 for k = 1, 1e5 do x = x + k end end })
      return { i }
    end, i)
  end
  m.wait_all(60)  -- reads each job's status: that closes its state
  local most = threads()
  for i = 1, 300 do
    lu.assertEquals(list[i].result, { i })
    most = math.max(most, threads())
  end
  -- the two running jobs' threads, one closing, one to spare
  lu.assertTrue(most <= before + 4, ("%d threads, from %d"):format(most, before))
end

function TestCore.test_fetching_the_outcome_closes_the_state()
  local closed = jobs.channel()
  for _, size in ipairs({ 0, 4 << 20 }) do  -- a big one closes on a pool thread
    local j = jobs.new(function(ch, n)
      keep = setmetatable({ ("x"):rep(n) }, {
        __gc = function() ch:push("closed") end })
      return { 1, 2, 3 }
    end, closed, size)
    lu.assertEquals(select(2, j:wait(10)), { 1, 2, 3 })
    lu.assertEquals(closed:pop(10), "closed")  -- the job object still lives
    lu.assertEquals(j.result, { 1, 2, 3 })
  end
end

os.exit(lu.LuaUnit.run(), true)
