-- pool_spec.lua: pools, many small tasks on warm states (§10).
local lu = require "luaunit"
local jobs = require "jobs"

local helpers = require "helpers"
local UNCOPYABLE = helpers.uncopyable

-- Each state of a pool made with this init knows itself by a name of its
-- own: tasks tell which state ran them.
local function named()
  state = tostring({}):match("0x%x+")
  inits = (inits or 0) + 1
end

local function whoami() return state, inits end

TestPool = {}

function TestPool.test_a_task_runs_on_a_warm_state_with_inits_globals()
  local p = jobs.pool{ size = 2, init = function() base = 40 end }
  local j = p:submit(function(x) return base + x end, 2)
  lu.assertEquals({ j:wait(10) }, { true, 42 })
  lu.assertEquals({ p:submit("base + 1"):wait(10) }, { true, 41 })
  p:close()
end

-- A pool's init, function or string, takes the globals it names, and a
-- task's function those of the functions in its tables (issue 29: each
-- failed with "attempt to call a nil value (global 'pool_helper')").
function TestPool.test_init_and_functions_in_tables_take_their_names()
  pool_helper = function(x) return x * 2 end
  local p = jobs.pool{ size = 1, init = function()
    util = { twice = function(x) return pool_helper(x) end }
  end }
  lu.assertEquals({ p:submit(function(x) return util.twice(x) end, 4):wait(10) }, { true, 8 })
  local q = jobs.pool{ size = 1, init = "util = { f = function(x) return pool_helper(x) + 1 end }" }
  lu.assertEquals({ q:submit(function(x) return util.f(x) end, 4):wait(10) }, { true, 9 })
  local mod = { f = function(x) return pool_helper(x) end }
  for i = 1, 2 do  -- the function known the second time
    lu.assertEquals({ q:submit(function(x) return mod.f(x) end, i):wait(10) }, { true, 2 * i })
  end
  lu.assertEquals({ q:submit(function(t) return t.f(7) end, mod):wait(10) }, { true, 14 })
  pool_mod = mod  -- a string task's free name holding such a function
  lu.assertEquals({ q:submit("pool_mod.f(8)"):wait(10) }, { true, 16 })
  lu.assertEquals({ q:submit("rawget(_G, 'pool_mod')"):wait(10) }, { true, nil })
  pool_mod = nil
  p:close()
  q:close()
  pool_helper = nil
end

-- The globals a pool's init assigns are the worker's: neither a task's
-- function naming one nor the init itself looks it up in the caller, whose
-- _ENV may warn of a name it lacks (Prosody's plugins do: on every submit,
-- and as the pool was made, before).
function TestPool.test_names_the_init_assigns_are_not_looked_up_in_the_caller()
  local asked = {}
  local env = setmetatable({}, { __index = function(_, k)
    asked[#asked + 1] = k
    return _G[k]
  end })
  local function plugin(code) return load("return " .. code, "=plugin", "t", env)() end
  local encode = plugin("function(x) return codec.encode(x) end")
  local p = jobs.pool{ size = 1, init = plugin([[function()
    codec = { encode = function(x) return "[" .. x .. "]" end }
  end]]) }
  lu.assertEquals({ p:submit(encode, 1):wait(10) }, { true, "[1]" })
  lu.assertEquals(asked, {})
  p:close()
end

-- A task says which pool it belongs to, everywhere a job says its number
-- (before, "<job #1 ...>" and "[1] dead" beside the default manager's job
-- 1), and jobs.traceback shows a dead one's given the task.
function TestPool.test_a_task_says_which_pool_it_belongs_to()
  local p, q = jobs.pool{ size = 1 }, jobs.pool{ size = 1 }
  lu.assertEquals(q:submit("1").pool, p:submit("1").pool + 1)
  local line = debug.getinfo(1, "l").currentline + 1
  local t = q:submit(function() error("boom") end)
  t:wait(10)
  lu.assertEquals(tostring(t), ("<task 2 of pool %d dead: function <%s:%d>>")
                  :format(q:submit("1").pool, debug.getinfo(1, "S").short_src, line))
  lu.assertStrContains(jobs.describe(t), ("[p%d:2] dead"):format(t.pool))
  lu.assertStrContains(helpers.written(function() jobs.traceback(t) end), "stack traceback:")
  lu.assertNil(jobs.new("1").pool)
  p:close()
  q:close()
end

-- A string's free names are its own, over the state's globals; what it
-- sets goes to the globals, for the tasks after it.
function TestPool.test_a_strings_names_are_its_own_and_its_globals_stay()
  local p = jobs.pool{ size = 1 }
  local x = 21
  lu.assertEquals({ p:submit("x * 2"):wait(10) }, { true, 42 })
  lu.assertEquals({ p:submit("rawget(_G, 'x')"):wait(10) }, { true, nil })
  lu.assertEquals({ p:submit("y = x"):wait(10) }, { true })
  lu.assertEquals({ p:submit("return rawget(_G, 'y')"):wait(10) }, { true, 21 })
  p:close()
end

function TestPool.test_init_runs_once_in_each_state_and_no_more_states_than_size()
  local p = jobs.pool{ size = 2, init = named }
  local tasks, states = {}, {}
  for i = 1, 200 do tasks[i] = p:submit(whoami) end
  for i = 1, 200 do
    local ok, s, inits = tasks[i]:wait(10)
    lu.assertTrue(ok)
    lu.assertEquals(inits, 1)  -- its state's init ran once, before its first task
    states[s] = true
  end
  local n = 0
  for _ in pairs(states) do n = n + 1 end
  lu.assertTrue(n >= 1 and n <= 2, tostring(n))
  p:close()
end

function TestPool.test_size_defaults_to_the_cpus_and_must_be_a_positive_integer()
  local p = jobs.pool()
  lu.assertStrContains(tostring(p), " states, open>")
  p:close()
  for _, bad in ipairs({ 0, -1, 1.5, "two", true }) do
    lu.assertErrorMsgContains("bad option 'size' to 'pool'", jobs.pool, { size = bad })
  end
end

function TestPool.test_options_of_the_wrong_type_are_errors()
  lu.assertErrorMsgContains("bad option 'init' to 'pool' (function or string expected, got number)",
    jobs.pool, { init = 5 })
  lu.assertErrorMsgContains("bad option 'memory_limit' to 'pool'", jobs.pool, { memory_limit = -1 })
  lu.assertErrorMsgContains("unknown library 'nope'", jobs.pool, { libs = { "nope" } })
  lu.assertErrorMsgContains("[string \"x = = 1\"]", jobs.pool, { init = "x = = 1" })
  lu.assertErrorMsgContains("table expected, got number", jobs.pool, 5)
  lu.assertErrorMsgContains("unknown option 'sise' to 'pool'", jobs.pool, { sise = 2 })
  lu.assertErrorMsgContains("bad option 'grace' to 'pool' (non-negative number of seconds expected, got number)",
    jobs.pool, { grace = -1 })
  lu.assertErrorMsgContains("bad option 'timeout' to 'pool' (positive number of seconds expected, got number)",
    jobs.pool, { timeout = 0 })
  local p = jobs.pool(nil)  -- as no options
  p:close()
end

function TestPool.test_libs_are_the_states_libraries()
  local p = jobs.pool{ size = 1, libs = { "string" } }
  lu.assertEquals({ p:submit(function() return type(math), type(string.rep) end):wait(10) },
                  { true, "nil", "function" })
  p:close()
end

-- One function submitted again and again is loaded once per state: its
-- upvalues live on in that state from task to task.
function TestPool.test_a_function_is_loaded_once_per_state()
  local p = jobs.pool{ size = 1 }
  local count = 0
  local function counter() count = count + 1 return count end
  local tasks = {}
  for i = 1, 100 do tasks[i] = p:submit(counter) end
  for i = 1, 100 do lu.assertEquals({ tasks[i]:wait(10) }, { true, i }) end
  -- a new closure is a new function: loaded afresh
  lu.assertEquals({ p:submit(function() count = count + 1 return count end):wait(10) },
                  { true, 1 })
  p:close()
end

-- Its upvalues live on however many other functions go through the state
-- meanwhile (p:map makes one each time): before, the state started a new
-- set of functions after 256, and a counter went 1 2 3 4 5 1 2 3. What the
-- owner let go of goes: 20,000 closures, each submitted once, leave little.
function TestPool.test_a_functions_upvalues_outlive_other_functions()
  local p = jobs.pool{ size = 1 }
  local count = 0
  local function counter() count = count + 1 return count end
  for i = 1, 5 do lu.assertEquals({ p:submit(counter):wait(10) }, { true, i }) end
  for _ = 1, 300 do p:map(function(x) return x end, { 1 }) end
  for i = 1, 1000 do p:submit(function() return i end):wait(10) end
  for i = 6, 8 do lu.assertEquals({ p:submit(counter):wait(10) }, { true, i }) end
  local before = helpers.settled()
  for i = 1, 20000 do p:submit(function() return i end):wait(10) end
  local grown = helpers.settled() - before
  p:close()
  lu.assertTrue(grown < 512 * 1024, ("%.1f KiB more held"):format(grown / 1024))
end

-- Functions come and go: a pool fed a new closure for each task runs each
-- as its own, however many there are.
function TestPool.test_a_new_closure_each_time_runs_as_itself()
  local p = jobs.pool{ size = 2 }
  local tasks = {}
  for i = 1, 2000 do tasks[i] = p:submit(function() return i end) end
  for i = 1, 2000 do lu.assertEquals({ tasks[i]:wait(10) }, { true, i }) end
  p:close()
end

function TestPool.test_a_task_is_a_job_object_with_the_whole_api()
  local p = jobs.pool{ size = 1 }
  local ch = jobs.channel()
  local first = p:submit(function(ch)
    jobs.progress(0.5, "half")
    return ch:pop()
  end, ch)
  local second = p:submit(function(a, b) return a, b end, "x", { 1 })
  lu.assertEquals(second.status, "created")  -- behind the first, in line
  lu.assertEquals(#p, 2)
  lu.assertEquals({ first.num, second.num }, { 1, 2 })
  lu.assertStrContains(tostring(second), ("<task 2 of pool %d created: function <"):format(second.pool))
  ch:push("go")
  lu.assertEquals({ first:wait(10) }, { true, "go" })
  lu.assertEquals(first.progress, 0.5)
  lu.assertEquals(first.progress_message, "half")
  lu.assertTrue(first.elapsed >= 0)
  local ok, a, b = second:wait(10)
  lu.assertEquals({ ok, a, b }, { true, "x", { 1 } })
  lu.assertEquals({ second:results() }, { "x", { 1 } })
  lu.assertEquals(second.result, "x")
  lu.assertTrue(second.done)
  lu.assertEquals(#p, 0)
  p:close()
end

function TestPool.test_tasks_are_in_no_manager_but_poll_reports_them()
  jobs.poll()
  local p = jobs.pool{ size = 1 }
  local before = #jobs.list()
  local seen
  local t = p:submit(function() return 7 end)
  t:on_done(function(job) seen = job.result end)
  lu.assertEquals({ t:wait(10) }, { true, 7 })
  lu.assertEquals(#jobs.list(), before)
  lu.assertTrue(require("pollfd").readable(jobs.fd(), 10))
  local reported = false
  for _, job in ipairs(jobs.poll()) do reported = reported or job == t end
  lu.assertTrue(reported)
  lu.assertEquals(seen, 7)
  p:close()
end

function TestPool.test_a_task_that_raises_fails_alone_and_its_state_stays()
  local p = jobs.pool{ size = 1, init = named }
  local s1 = select(2, p:submit(whoami):wait(10))
  local bad = p:submit(function() error("boom") end)
  local ok, err = bad:wait(10)
  lu.assertFalse(ok)
  lu.assertStrContains(err, "boom")
  lu.assertEquals(bad.status, "dead")
  lu.assertStrContains(bad:traceback(), "stack traceback")
  lu.assertEquals(select(2, p:submit(whoami):wait(10)), s1)
  p:close()
end

function TestPool.test_a_cancelled_task_stops_and_its_state_starts_over()
  local p = jobs.pool{ size = 1, init = named }
  local s1, n1 = select(2, p:submit(whoami):wait(10))
  lu.assertEquals(n1, 1)
  local ch = jobs.channel()
  local spin = p:submit(function(ch) ch:push("in") while true do end end, ch)
  lu.assertEquals(ch:pop(10), "in")
  lu.assertTrue(spin:cancel())
  lu.assertEquals({ spin:wait(10) }, { false, "cancelled" })
  lu.assertEquals(spin.status, "cancelled")
  local s2, n2 = select(2, p:submit(whoami):wait(10))
  lu.assertNotEquals(s2, s1)  -- a fresh state, init run again
  lu.assertEquals(n2, 1)
  p:close()
end

-- A stopped task's jobs stop with it, as a stopped job's do: its state
-- closes with them cancelled. Before, the close waited for them for ever
-- (here, the script's end). A task timed out may stop before it starts its
-- job: the spec waits for nothing then.
function TestPool.test_a_stopped_tasks_jobs_stop_with_it()
  for _, how in ipairs({ "cancel", "timeout" }) do
    local status, out = helpers.run(([[
      local jobs = require "jobs"
      local ready = jobs.channel()
      local p = jobs.pool{ size = 1, timeout = %s }
      local t = p:submit(function(ready)
        local jobs = require "jobs"
        jobs.new(function(ready) ready:push("job") while true do end end, ready)
        ready:push("task")
        while true do end
      end, ready)
      if %q == "cancel" then  -- (a timeout may come before the job starts)
        assert(ready:pop() and ready:pop())
        t:cancel()
      end
      print(t:wait())
      p:close()
    ]]):format(how == "timeout" and 0.05 or "nil", how))
    lu.assertEquals(status, 0, out)
    lu.assertEquals(out, "false\t" .. (how == "timeout" and "timeout" or "cancelled") .. "\n")
  end
end

-- A task with a timeout gives back its room in the hub's heap of timeouts
-- as it ends: 20,000 of them leave nothing behind. Before, each kept its
-- 8 bytes there for ever (256 KiB here).
function TestPool.test_timed_tasks_leave_nothing_behind()
  local p = jobs.pool{ size = 2, timeout = 600 }
  local f = function(i) return i end
  for i = 1, 2000 do p:submit(f, i):wait() end  -- threads and arenas settle
  local before = helpers.settled()
  for i = 1, 20000 do p:submit(f, i):wait() end
  local grown = helpers.settled() - before
  p:close()
  lu.assertTrue(grown < 128 * 1024, ("%.1f KiB more held"):format(grown / 1024))
end

function TestPool.test_a_task_past_the_pools_timeout_stops_and_its_state_starts_over()
  local p = jobs.pool{ size = 1, init = named, timeout = 0.2 }
  local s1 = select(2, p:submit(whoami):wait(10))
  local spin = p:submit(function() while true do end end)
  local outcome = { spin:wait(10) }
  spin:cancel()  -- should the timeout fail, the pool's closing is not held
  lu.assertEquals(outcome, { false, "timeout" })
  lu.assertEquals(spin.status, "cancelled")
  lu.assertNotEquals(select(2, p:submit(whoami):wait(10)), s1)
  p:close()
  lu.assertErrorMsgContains("bad option 'timeout' to 'pool'", jobs.pool, { timeout = 0 })
end

function TestPool.test_a_queued_task_cancelled_ends_at_once()
  local p = jobs.pool{ size = 1 }
  local ch = jobs.channel()
  local first = p:submit(function(ch) return ch:pop() end, ch)
  local queued = p:submit(function() return "ran" end)
  lu.assertTrue(queued:cancel())
  lu.assertEquals(queued.status, "cancelled")  -- at once, without a wait
  ch:push(1)
  lu.assertEquals({ first:wait(10) }, { true, 1 })
  lu.assertEquals({ queued:wait(10) }, { false, "cancelled" })
  p:close()
end

function TestPool.test_a_task_out_of_memory_dies_and_its_state_starts_over()
  local p = jobs.pool{ size = 1, init = named, memory_limit = 4 << 20 }
  local s1 = select(2, p:submit(whoami):wait(10))
  local big = p:submit(function() local t = {} for i = 1, 1e7 do t[i] = i end return #t end)
  local ok, err = big:wait(10)
  lu.assertFalse(ok)
  lu.assertStrContains(err, "not enough memory")
  lu.assertNotEquals(select(2, p:submit(whoami):wait(10)), s1)
  p:close()
end

function TestPool.test_an_init_that_raises_fails_the_tasks_clearly_and_close_works()
  local p = jobs.pool{ size = 1, init = function() error("no config") end }
  local ok, err = p:submit(function() return 1 end):wait(10)
  lu.assertFalse(ok)
  lu.assertStrContains(err, "pool init: ")
  lu.assertStrContains(err, "no config")
  lu.assertFalse((p:submit(function() return 1 end):wait(10)))  -- each time
  p:close()
end

function TestPool.test_an_uncopyable_argument_is_raised_in_the_caller_and_nothing_queues()
  local p = jobs.pool{ size = 1 }
  lu.assertErrorMsgEquals("cannot copy userdata (FILE*) at argument 2" .. UNCOPYABLE,
    p.submit, p, function() end, 1, io.stdout)
  lu.assertEquals(#p, 0)
  -- the pool itself cannot go into its own tasks: closing it from one
  lu.assertErrorMsgContains("cannot copy userdata (jobs.pool) at function<upvalue p>",
    p.submit, p, function() p:close() end)
  lu.assertErrorMsgContains("bad argument #1 to 'submit' (function or string expected",
    function() p:submit(42) end)
  lu.assertEquals({ p:submit(function() return "fine" end):wait(10) }, { true, "fine" })
  p:close()
end

function TestPool.test_close_waits_for_the_tasks_then_refuses_more()
  local p = jobs.pool{ size = 2 }
  local tasks = {}
  for i = 1, 50 do tasks[i] = p:submit(function(i) return i * i end, i) end
  p:close()
  for i = 1, 50 do
    lu.assertTrue(tasks[i].done)  -- done before close returned
    lu.assertEquals(tasks[i].result, i * i)
  end
  lu.assertErrorMsgContains("the pool is closed", p.submit, p, print)
  lu.assertStrContains(tostring(p), "closed>")
  p:close()  -- again: nothing to do
end

-- A pool let go of waits for nothing as it is collected: its task running
-- ends in the background (here it waits for this state, which would have
-- hung in the finalizer before), the tasks in line end cancelled; one made
-- in a job closes with the job's state, which does not wait for them.
function TestPool.test_a_pool_collected_waits_for_nothing_and_cancels_its_line()
  local started, go = jobs.channel(), jobs.channel()
  local p = jobs.pool{ size = 1 }
  local running = p:submit(function(started, go)
    started:push(true)
    return go:pop(60)
  end, started, go)
  local queued = p:submit(function() return "ran" end)
  lu.assertEquals(started:pop(10), true)
  p = nil
  collectgarbage()
  collectgarbage()
  lu.assertEquals({ queued:wait(10) }, { false, "cancelled" })
  go:push("kept")
  lu.assertEquals({ running:wait(10) }, { true, "kept" })
  local j = jobs.new(function()
    local jobs = require "jobs"
    local q = jobs.pool{ size = 2 }
    local ts = {}
    for i = 1, 20 do ts[i] = q:submit(function(i) return i end, i) end
    return #q >= 0
  end)
  lu.assertEquals({ j:wait(10) }, { true, true })
end

-- A to-be-closed pool closes as p:close() does: it waits for its tasks.
function TestPool.test_a_to_be_closed_pool_waits_for_its_tasks()
  local t
  do
    local p <close> = jobs.pool{ size = 1 }
    t = p:submit(function() return "done" end)
  end
  lu.assertEquals({ t.done, t.result }, { true, "done" })
end

-- A job cancelled while its pool's task spins: its state closes, and the
-- pool's tasks stop with it, as its jobs would.
function TestPool.test_a_stopping_job_stops_its_pools_tasks()
  local ch = jobs.channel()
  local j = jobs.new(function(ch)
    local jobs = require "jobs"
    local q = jobs.pool{ size = 1 }
    q:submit(function(ch) ch:push("spinning") while true do end end, ch)
    jobs.sleep(math.huge)
  end, ch)
  lu.assertEquals(ch:pop(10), "spinning")
  j:cancel()
  lu.assertEquals({ j:wait(10) }, { false, "cancelled" })
end

function TestPool.test_map_returns_the_results_in_order()
  local p = jobs.pool{ size = 2 }
  local list = {}
  for i = 1, 1000 do list[i] = i end
  local out = p:map(function(x) return x * 2 end, list)
  lu.assertEquals(#out, 1000)
  for i = 1, 1000 do lu.assertEquals(out[i], 2 * i) end
  lu.assertEquals(p:map(function(s) return #s end, { "a", "bb", "ccc" }), { 1, 2, 3 })
  lu.assertEquals(p:map(print, {}), {})
  p:close()
end

function TestPool.test_map_raises_the_first_failing_item_by_index_and_the_pool_goes_on()
  local p = jobs.pool{ size = 2 }
  local list = {}
  for i = 1, 500 do list[i] = i end
  local ok, err = pcall(p.map, p, function(x)
    if x == 123 or x == 400 then error("bad item") end
    return x
  end, list)
  lu.assertFalse(ok)
  lu.assertStrContains(err, "map: item 123: ")
  lu.assertStrContains(err, "bad item")
  lu.assertErrorMsgContains("bad argument #2 to 'map' (table expected, got number)",
    p.map, p, print, 5)
  lu.assertEquals(p:map(function(x) return -x end, { 1, 2 }), { -1, -2 })
  p:close()
end

-- map's errors name the item by its place in the list, from the caller's
-- line (before: "jobs.lua:261: ... at argument 1[1]" for item 2, a table
-- error turned into a string, and nothing of the item for a result).
function TestPool.test_map_errors_name_the_item_and_keep_the_error_value()
  local p = jobs.pool{ size = 1 }
  local line = debug.getinfo(1, "l").currentline
  local ok, err = pcall(function() local r = p:map(function(x) return x end, { 1, io.stdout }) return r end)
  lu.assertFalse(ok)
  lu.assertEquals(err, ("%s:%d: map: item 2: cannot copy userdata (FILE*) at item 2%s")
                  :format(debug.getinfo(1, "S").short_src, line + 1, UNCOPYABLE))
  ok, err = pcall(p.map, p, function(x) return x == 2 and { f = io.stdout } or x end, { 1, 2 })
  lu.assertEquals(err, "map: item 2: cannot copy userdata (FILE*) at the result of item 2.f"
                  .. UNCOPYABLE)
  local thrown = { code = 7 }
  ok, err = pcall(p.map, p, function(x) if x == 2 then error(thrown) end return x end, { 1, 2 })
  lu.assertEquals(err, { code = 7 })
  p:close()
end

os.exit(lu.LuaUnit.run(), true)
