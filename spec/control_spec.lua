-- control_spec.lua: cancel, timeouts, sleep, progress, output capture,
-- limits and the options of jobs.spawn (§2, §6).
local lu = require "luaunit"
local jobs = require "jobs"
local helpers = require "helpers"

local function spin() while true do end end

TestCancel = {}

function TestCancel.test_cancel_stops_a_busy_loop()
  local j = jobs.new(spin)
  lu.assertTrue(j:cancel())
  lu.assertEquals({ j:wait(10) }, { false, "cancelled" })
  lu.assertEquals(j.status, "cancelled")
  lu.assertEquals(j.error, "cancelled")
  lu.assertTrue(j.done)
end

function TestCancel.test_pcall_in_the_job_cannot_swallow_a_cancel()
  local j = jobs.new(function()
    while true do
      pcall(function() while true do end end)
      pcall(error, "again")
    end
  end)
  j:cancel()
  lu.assertEquals({ j:wait(10) }, { false, "cancelled" })
end

-- load catches what its reader raises and returns it as a message: a
-- cancel landing in a reader ended "completed" before, and a job loading
-- in a loop could not be stopped at all. Pool tasks the same.
function TestCancel.test_a_cancel_in_a_load_reader_is_not_swallowed()
  local function body(ready)
    local first = true
    while true do
      load(function()
        if first then first = false ready:push(true) end
        while true do end
      end)
    end
  end
  local function once(ready)
    local f, err = load(function() ready:push(true) while true do end end)
    return "went on", err
  end
  local p = jobs.pool{ size = 1 }
  for _, start in ipairs({ jobs.new, function(...) return p:submit(...) end }) do
    for _, f in ipairs({ body, once }) do
      local ready = jobs.channel()
      local j = start(f, ready)
      lu.assertEquals({ ready:pop(10) }, { true })
      j:cancel()
      lu.assertEquals({ j:wait(10) }, { false, "cancelled" })
    end
  end
  p:close()
end

-- With the user's queue of pending signals full (RLIMIT_SIGPENDING, here
-- 0), the kernel refuses the real-time cancel signal: a backup standard
-- signal carries the cancel. Before, cancel and timeout did nothing.
function TestCancel.test_a_cancel_lands_with_the_signal_queue_full()
  local status, out = helpers.run([[
    local jobs = require "jobs"
    local ready = jobs.channel()
    local j = jobs.new(function(ready) ready:push(true) while true do end end, ready)
    ready:pop()
    j:cancel()
    print(j:wait(30))
    print(jobs.spawn({ timeout = 0.01 }, function() while true do end end):wait(30))
    local pool <close> = jobs.pool{ size = 1 }
    local t = pool:submit(function(ready) ready:push(true) while true do end end, ready)
    ready:pop()
    t:cancel()
    print(t:wait(30))
  ]], "prlimit --sigpending=0")
  lu.assertEquals(status, 0, out)
  lu.assertEquals(out, "false\tcancelled\nfalse\ttimeout\nfalse\tcancelled\n")
end

-- A job cancelled while blocked in a C call (a read) ends "cancelled" once
-- the call returns, not "completed" with what it read.
function TestCancel.test_a_job_cancelled_in_a_c_call_ends_cancelled()
  local fifo = os.tmpname()
  os.remove(fifo)
  assert(os.execute("mkfifo " .. fifo))
  local w = assert(io.open(fifo, "r+"))  -- a writer that does not block
  local ready = jobs.channel()
  local j = jobs.new(function(ready, fifo)
    local r = assert(io.open(fifo))
    ready:push(true)
    return r:read("l")  -- blocks until the line comes
  end, ready, fifo)
  ready:pop()
  j:cancel()
  w:write("late\n")
  w:flush()
  lu.assertEquals({ j:wait(60) }, { false, "cancelled" })
  w:close()
  os.remove(fifo)
end

-- C code that catches the stop and goes on (a C module's lua_pcall) gets
-- it again at the end of each grace, until the job ends; so does one
-- that catches it again.
function TestCancel.test_a_stop_caught_by_c_code_comes_again()
  for _, catches in ipairs({ 1, 3 }) do
    local ready = jobs.channel()
    local j = jobs.spawn({ grace = 0.01 }, function(ready, catches)
      local catcher = require "catcher"
      ready:push(true)
      for _ = 1, catches do catcher.swallow(function() while true do end end) end
      while true do end
    end, ready, catches)
    ready:pop()
    j:cancel()
    lu.assertEquals({ j:wait(60) }, { false, "cancelled" })
  end
end

function TestCancel.test_cancel_reaches_a_coroutine_in_the_job()
  local j = jobs.new(function()
    local co = coroutine.wrap(function() while true do end end)
    co()
  end)
  j:cancel()
  lu.assertEquals({ j:wait(10) }, { false, "cancelled" })
end

function TestCancel.test_cancel_wakes_a_sleeping_job()
  local j = jobs.new(function() jobs.sleep(3600) return "slept" end)
  j:cancel()
  lu.assertEquals({ j:wait(10) }, { false, "cancelled" })
end

function TestCancel.test_cancel_wakes_a_job_waiting_for_its_own_job()
  local j = jobs.new(function()
    local inner = jobs.new(function() jobs.sleep(3600) end)
    return inner:wait()
  end)
  j:cancel()
  -- The wait is interrupted, and closing the job's state cancels 'inner'.
  lu.assertEquals({ j:wait(10) }, { false, "cancelled" })
end

function TestCancel.test_cancelling_a_finished_job_does_nothing()
  local j = jobs.new(function() return 42 end)
  j:wait(10)
  lu.assertFalse(j:cancel())
  lu.assertEquals(j.status, "completed")
  lu.assertEquals(j.result, 42)
end

function TestCancel.test_cancel_racing_completion_ends_one_way_or_the_other()
  local counts = { completed = 0, cancelled = 0 }
  for i = 1, 1000 do
    local j = jobs.new(function(i) return i, { i } end, i)
    j:cancel()
    local ok, a, b = j:wait(10)
    if ok then
      lu.assertEquals({ a, b, j.status }, { i, { i }, "completed" })
    else
      lu.assertEquals({ a, j.status, j.result }, { "cancelled", "cancelled", nil })
    end
    counts[j.status] = counts[j.status] + 1
  end
  lu.assertEquals(counts.completed + counts.cancelled, 1000)
end

function TestCancel.test_cancel_while_results_are_copied()
  local gate = helpers.gate()
  local list = {}
  for i = 1, 50 do
    list[i] = jobs.new(function(path)
      while not io.open(path) do end
      local t = {} for k = 1, 20000 do t[k] = { k } end
      return t
    end, gate.path)
  end
  gate.open()
  for i = 1, 50 do
    while not list[i].done do list[i]:cancel() end  -- cancel until it ends
    local ok, t = list[i]:wait(10)
    if ok then lu.assertEquals(#t, 20000) else lu.assertEquals(t, "cancelled") end
  end
  gate.close()
end

function TestCancel.test_a_thousand_jobs_cancelled_at_once()
  local list = {}
  for i = 1, 1000 do list[i] = jobs.new(function() jobs.sleep(3600) end) end
  for i = 1, 1000 do list[i]:cancel() end
  for i = 1, 1000 do
    lu.assertEquals({ list[i]:wait(60) }, { false, "cancelled" })
  end
end

-- A job runs with no hook of ours: Lua code runs at full speed until a
-- cancel or a timeout needs one.
function TestCancel.test_a_running_job_has_no_hook()
  for _, opts in ipairs({ {}, { timeout = 3600 } }) do
    local j = jobs.spawn(opts, function()
      local co = coroutine.create(function() return debug.gethook() end)
      return debug.gethook(), select(2, coroutine.resume(co))
    end)
    lu.assertEquals({ j:wait(10) }, { true })
  end
end

-- The job tells the spec it is about to spin, through a channel (its first
-- argument, before the others given here).
local function spinning(body, ...)
  local ready = jobs.channel()
  local j = jobs.new(body, ready, ...)
  lu.assertEquals({ ready:pop(10) }, { true })
  return j
end

-- Whatever hooks a job sets or removes, a cancel lands.
function TestCancel.test_a_job_with_its_own_hook_or_none_is_still_cancelled()
  local hooks = {
    none = function() debug.sethook() end,
    own = function() debug.sethook(function() end, "", 100) end,
    line = function() debug.sethook(function() end, "l") end,
  }
  for name, sethook in pairs(hooks) do
    local j = spinning(function(ready, set)
      set()
      ready:push(true)
      while true do end
    end, sethook)
    j:cancel()
    lu.assertEquals({ j:wait(10) }, { false, "cancelled" }, name)
  end
end

-- xpcall's message handler is the job's own, called for a stop too (as
-- plain Lua calls it): one that loops, errors or returns anything still
-- lets the cancel end the job, its <close> handler run.
function TestCancel.test_an_xpcall_handler_cannot_keep_a_cancel_from_landing()
  local handlers = {
    loops = function() while true do end end,
    errors = function() error("in handler") end,
    traceback = debug.traceback,
    returns = function() return "caught" end,
  }
  for name, handler in pairs(handlers) do
    local closed = jobs.channel()
    local j = spinning(function(ready, h, closed)
      local c <close> = setmetatable({}, { __close = function() closed:push(true) end })
      while true do
        xpcall(function() ready:push(true) while true do end end, h)
      end
    end, handler, closed)
    j:cancel()
    lu.assertEquals({ j:wait(10) }, { false, "cancelled" }, name)
    lu.assertEquals({ closed:pop(0) }, { true }, name)
  end
end

-- The same in a coroutine, with a looping handler hooked by the job, for
-- a timeout of a job and of a pool task.
function TestCancel.test_a_timeout_lands_past_a_looping_handler_in_a_coroutine()
  local function body(ready)
    local co = coroutine.wrap(function()
      debug.sethook(function() end, "l")
      xpcall(function() ready:push(true) while true do end end,
             function() while true do end end)
    end)
    co()
  end
  local ready = jobs.channel()
  local j = jobs.spawn({ timeout = 0.05 }, body, ready)
  lu.assertEquals({ j:wait(10) }, { false, "timeout" })
  local p = jobs.pool{ size = 1, timeout = 0.05 }
  local t = p:submit(body, ready)
  lu.assertEquals({ t:wait(10) }, { false, "timeout" })
  p:close()
end

-- A stop raised deep in a recursion looks only near the top of the stack
-- for what it must skip (a finalizer's frame, an xpcall's handler): a walk
-- of 190,000 levels at each raise took 26 s, a cancel that seemed to hang.
function TestCancel.test_a_cancel_lands_at_once_deep_in_a_recursion()
  local j = spinning(function(ready)
    local function rec(n)
      if n == 0 then ready:push(true) while true do end end
      return 1 + rec(n - 1)
    end
    xpcall(rec, function(m) return m end, 190000)
  end)
  j:cancel()
  lu.assertEquals({ j:wait(20) }, { false, "cancelled" })
end

-- A job that sets its own hook again and again, in its coroutine too
-- (debug.sethook(co, ...)), is cancelled all the same.
function TestCancel.test_a_job_setting_hooks_in_a_loop_is_still_cancelled()
  local j = spinning(function(ready)
    local co = coroutine.create(function()
      while true do
        debug.sethook(function() end, "l")
        debug.sethook(coroutine.running(), function() end, "c", 5)
        coroutine.yield()
      end
    end)
    ready:push(true)
    while true do
      debug.sethook(co, function() end, "r")
      coroutine.resume(co)
      debug.sethook(function() end, "", 7)
    end
  end)
  j:cancel()
  lu.assertEquals({ j:wait(10) }, { false, "cancelled" })
end

-- A job spending its time in a line hook of its own: the cancel's hook,
-- set from a signal handler, may land in the middle of the VM counting
-- down its hook count there. Each of these cancels lands (on a count hook
-- alone, about one in forty was lost for 2^32 instructions).
function TestCancel.test_a_cancel_lands_in_a_job_busy_in_its_own_hook()
  for i = 1, 300 do
    local j = spinning(function(ready)
      debug.sethook(function() for _ = 1, 3 do end end, "l")
      ready:push(true)
      while true do end
    end)
    j:cancel()
    lu.assertEquals({ j:wait(10) }, { false, "cancelled" }, i)
  end
end

function TestCancel.test_a_jobs_own_hook_works_as_in_plain_lua()
  local j = jobs.new(function()
    local counts, lines = 0, {}
    local function count() counts = counts + 1 end
    debug.sethook(count, "", 10)
    for _ = 1, 1000 do end
    local f, mask, n = debug.gethook()
    debug.sethook(function(_, line) lines[#lines + 1] = line end, "l")
    local here = debug.getinfo(1, "l").currentline
    debug.sethook()
    return counts > 50, f == count, mask, n, lines[#lines] == here + 1
  end)
  lu.assertEquals({ j:wait(10) }, { true, true, true, "", 10, true })
end

function TestCancel.test_cancel_reaches_a_coroutine_made_before_it()
  local bodies = {
    resumed = function(ready)  -- spins inside, resumed once
      local co = coroutine.create(function() while true do end end)
      ready:push(true)
      coroutine.resume(co)
    end,
    yielding = function(ready)  -- yields and is resumed, again and again
      local co = coroutine.create(function() while true do coroutine.yield() end end)
      ready:push(true)
      while true do coroutine.resume(co) end
    end,
    nested = function(ready)  -- a coroutine inside a coroutine spins
      local inner = coroutine.create(function() while true do end end)
      local outer = coroutine.wrap(function() coroutine.resume(inner) end)
      ready:push(true)
      outer()
    end,
    caught = function(ready)  -- each resume's error is caught, and it goes on
      local co = coroutine.wrap(function() while true do end end)
      ready:push(true)
      while true do pcall(co) end
    end,
  }
  for name, body in pairs(bodies) do
    local j = spinning(body)
    j:cancel()
    lu.assertEquals({ j:wait(10) }, { false, "cancelled" }, name)
  end
end

-- A cancelled job's pending <close> handlers run as it unwinds; code after
-- a pcall does not. Each handler is cancellable in turn: a further cancel
-- stops the one running, and the next runs.
function TestCancel.test_close_handlers_run_as_a_cancelled_job_unwinds()
  local log = jobs.channel()
  local j = spinning(function(ready, log)
    local function closer(what)
      return setmetatable({}, { __close = function()
        local n = 0
        for i = 1, 1000 do n = n + i end  -- Lua code runs in it
        log:push(what .. " closed " .. n)
      end })
    end
    local a <close> = closer("outer")
    pcall(function()
      local b <close> = closer("inner")
      ready:push(true)
      while true do end
    end)
    log:push("after the pcall")
  end, log)
  j:cancel()
  lu.assertEquals({ j:wait(10) }, { false, "cancelled" })
  lu.assertEquals({ log:pop(10), log:pop(10), log:pop(0) },
                  { "inner closed 500500", "outer closed 500500", nil, "timeout" })
end

-- A job whose <close> handlers never end: each logs its name and spins.
local function stuck(ready, log)
  local last <close> = setmetatable({}, { __close = function() log:push("last") end })
  local second <close> = setmetatable({}, { __close = function() log:push("second") while true do end end })
  local first <close> = setmetatable({}, { __close = function() log:push("first") while true do end end })
  ready:push(true)
  while true do end
end

-- With no limit on its handlers' time, a further cancel stops the one
-- running, and the next runs.
function TestCancel.test_each_close_handler_is_cancellable_in_turn()
  local ready, log = jobs.channel(), jobs.channel()
  local j = jobs.spawn({ grace = math.huge }, stuck, ready, log)
  ready:pop()
  j:cancel()
  lu.assertEquals(log:pop(10), "first")
  lu.assertNil(j:wait(0.05))  -- the handler runs on
  j:cancel()  -- stops it: the next one runs
  lu.assertEquals(log:pop(10), "second")
  j:cancel()
  lu.assertEquals({ j:wait(10) }, { false, "cancelled" })
  lu.assertEquals({ log:pop(0) }, { "last" })
end

-- One cancel or timeout ends a job whose <close> handlers never end: each
-- runs for the job's grace (the option 'grace'; by default JOBS_GRACE, a
-- second), then a stop of its own ends it, and the next one runs. Before,
-- one cancel left such a handler running for ever.
function TestCancel.test_one_cancel_ends_a_job_whose_handlers_never_end()
  local ready, log = jobs.channel(), jobs.channel()
  local function ends(j, why)
    lu.assertEquals({ j:wait(60) }, { false, why })
    lu.assertEquals({ log:pop(0), log:pop(0), log:pop(0) }, { "first", "second", "last" })
  end
  local none = jobs.spawn({ grace = 0 }, stuck, ready, jobs.channel())  -- handlers
  ready:pop()                                    -- stopped at once, or nearly
  none:cancel()
  lu.assertEquals({ none:wait(60) }, { false, "cancelled" })
  for _, options in ipairs({ { grace = 0.01 }, {} }) do
    local j = jobs.spawn(options, stuck, ready, log)
    ready:pop()
    j:cancel()
    ends(j, "cancelled")
  end
  local p <close> = jobs.pool{ size = 1, grace = 0.01 }
  local t = p:submit(stuck, ready, log)
  ready:pop()
  t:cancel()
  ends(t, "cancelled")
  -- A timeout may come before all the handlers are made: those made run.
  local timed = jobs.spawn({ timeout = 0.05, grace = 0.01 }, stuck, jobs.channel(), log)
  lu.assertEquals({ timed:wait(60) }, { false, "timeout" })
  local ran = {}
  for name in function() return log:pop(0) end do ran[#ran + 1] = name end
  local all = { "first", "second", "last" }
  lu.assertEquals(ran, { table.unpack(all, 4 - #ran) })
end

TestTimeout = {}

function TestTimeout.test_timeout_cancels_a_busy_job()
  local j = jobs.spawn({ timeout = 0.05 }, spin)
  lu.assertEquals({ j:wait(10) }, { false, "timeout" })
  lu.assertEquals(j.status, "cancelled")
  lu.assertTrue(j.elapsed >= 0.05)
end

function TestTimeout.test_timeout_stops_a_coroutine()
  local j = jobs.spawn({ timeout = 0.05 }, function()
    coroutine.wrap(function() while true do end end)()
  end)
  lu.assertEquals({ j:wait(10) }, { false, "timeout" })
end

-- Each of many jobs times out at its own deadline, whatever the order
-- they started in and whichever others finished before.
function TestTimeout.test_many_timeouts_each_at_its_deadline()
  local list = {}
  for i = 1, 60 do
    local early = i % 3 == 0  -- these end before their timeout, out of order
    local timeout = early and 3600 or 0.01 * ((i * 37) % 50 + 1)
    local gate = jobs.channel()
    list[i] = { timeout = timeout, early = early, gate = gate,
                job = jobs.spawn({ timeout = timeout }, function(g, early)
                  if early then return g:pop() end
                  while true do end
                end, gate, early) }
  end
  for i = 60, 1, -1 do
    if list[i].early then list[i].gate:push("released") end
  end
  for i, t in ipairs(list) do
    if t.early then
      lu.assertEquals({ t.job:wait(10) }, { true, "released" }, i)
    else
      lu.assertEquals({ t.job:wait(10) }, { false, "timeout" }, i)
      lu.assertTrue(t.job.elapsed >= t.timeout, i)
    end
  end
end

function TestTimeout.test_timeout_wakes_a_sleeping_job()
  local j = jobs.spawn({ timeout = 0.05 }, function() jobs.sleep(3600) end)
  lu.assertEquals({ j:wait(10) }, { false, "timeout" })
end

function TestTimeout.test_a_job_within_its_timeout_completes()
  local j = jobs.spawn({ timeout = 3600 }, function() return "in time" end)
  lu.assertEquals({ j:wait(10) }, { true, "in time" })
end

function TestTimeout.test_an_infinite_timeout_is_no_timeout()
  local j = jobs.spawn({ timeout = math.huge }, function() jobs.sleep(0.001) return "ok" end)
  lu.assertEquals({ j:wait(10) }, { true, "ok" })
  local k = jobs.spawn({ timeout = math.huge }, function() jobs.sleep(math.huge) end)
  lu.assertEquals({ k:wait(0.01) }, { nil, "timeout" })  -- the wait's own limit
  k:cancel()
  lu.assertEquals({ k:wait(10) }, { false, "cancelled" })
end

TestInside = {}

function TestInside.test_sleep_works_outside_a_job()
  lu.assertNil(jobs.sleep(0.001))
  lu.assertErrorMsgContains("non-negative number expected", jobs.sleep, -1)
  lu.assertErrorMsgContains("number expected, got no value", jobs.sleep)
end

function TestInside.test_self_tells_num_and_name()
  local j = jobs.spawn({ name = "me" }, function() return jobs.self() end)
  lu.assertEquals({ j:wait(10) }, { true, j.num, "me" })
  lu.assertEquals(select("#", jobs.self()), 0)
  lu.assertFalse(jobs.cancelled())
end

function TestInside.test_progress_reaches_the_owner()
  local gate = helpers.gate()
  local j = jobs.new(function(path)
    jobs.progress(0.5, "half way")
    while not io.open(path) do end
    jobs.progress(3)
  end, gate.path)
  while j.progress == nil do end
  lu.assertEquals(j.progress, 0.5)
  lu.assertEquals(j.progress_message, "half way")
  gate.open()
  j:wait(10)
  lu.assertEquals(j.progress, 3)
  lu.assertEquals(math.type(j.progress), "integer")
  lu.assertEquals(j.progress_message, "")
  gate.close()
end

function TestInside.test_progress_is_read_safely_while_the_job_updates_it()
  local j = jobs.new(function()
    for i = 1, 20000 do jobs.progress(i, "step " .. i) end
  end)
  local seen = 0
  while not j.done do
    local message = j.progress_message
    if message then
      lu.assertStrMatches(message, "step %d+")
      seen = seen + 1
    end
  end
  j:wait(10)
  lu.assertEquals(j.progress, 20000)
  lu.assertEquals(j.progress_message, "step 20000")
end

function TestInside.test_progress_takes_scalars_only()
  local j = jobs.new(function() jobs.progress({}) end)
  local ok, err = j:wait(10)
  lu.assertFalse(ok)
  lu.assertStrContains(err, "bad argument #1 to 'progress' (nil, boolean, number or string expected, got table)")
  local n = jobs.new("1")
  n:wait(10)
  lu.assertNil(n.progress)
  lu.assertNil(n.progress_message)
end

TestOptions = {}

function TestOptions.test_captured_output()
  local j = jobs.spawn({ output = "capture" }, function()
    print("hello", 1, nil, true)
    io.write("x", 2, 1.5, "\0y\n")
  end)
  j:wait(10)
  lu.assertEquals(j.output, "hello\t1\tnil\ttrue\nx21.5\0y\n")
  local k = jobs.new(function() end)
  k:wait(10)
  lu.assertNil(k.output)
end

function TestOptions.test_output_is_readable_while_the_job_runs()
  local gate = helpers.gate()
  local j = jobs.spawn({ output = "capture" }, function(path)
    print("first")
    while not io.open(path) do end
    print("second")
  end, gate.path)
  while j.output == "" do end
  lu.assertEquals(j.output, "first\n")
  gate.open()
  j:wait(10)
  lu.assertEquals(j.output, "first\nsecond\n")
  gate.close()
end

function TestOptions.test_memory_limit_kills_only_that_job()
  local gate = helpers.gate()
  local other = jobs.new(helpers.behind, gate.path, "other finished")
  local hog = jobs.spawn({ memory_limit = 4 << 20 }, function()
    local t = {}
    for i = 1, 1e8 do t[i] = ("x"):rep(100) .. i end
  end)
  lu.assertEquals({ hog:wait(30) }, { false, "not enough memory" })
  lu.assertEquals(hog.status, "dead")
  gate.open()
  lu.assertEquals({ other:wait(10) }, { true, "other finished" })
  gate.close()
end

function TestOptions.test_memory_limit_counts_small_blocks()
  local hog = jobs.spawn({ memory_limit = 256 << 10 }, function()
    local t = {}
    for i = 1, 1e8 do t[i] = {} end
  end)
  lu.assertEquals({ hog:wait(30) }, { false, "not enough memory" })
end

function TestOptions.test_memory_limit_credits_what_is_freed()
  -- 40 MB of blocks of every small size and some big ones, never more
  -- than about 1 MB alive at a time, within a 4 MiB limit.
  local j = jobs.spawn({ memory_limit = 4 << 20 }, function()
    local kept = 0
    for round = 1, 40 do
      local t = {}
      for i = 1, 2000 do t[i] = ("x"):rep((i * 7 + round) % 600) .. i end
      t[#t + 1] = ("y"):rep(100000)
      kept = kept + #t
      t = nil
      collectgarbage()
    end
    return kept
  end)
  lu.assertEquals({ j:wait(60) }, { true, 40 * 2001 })
end

function TestOptions.test_libs_chooses_the_standard_libraries()
  local j = jobs.spawn({ libs = { "string" } }, function()
    return type(string), type(math), type(io), type(os), type(require), type(print)
  end)
  lu.assertEquals({ j:wait(10) }, { true, "table", "nil", "nil", "nil", "function", "function" })
end

-- Libraries beyond base, package and string open at their first use; a
-- job sees each as a whole library all the same.
function TestOptions.test_every_library_works_from_its_first_use()
  local j = jobs.new(function()
    local seen = {}
    local ipairs, next = ipairs, next
    _G.next = nil  -- pairs over a library needs no global 'next'
    for _, name in ipairs({ "coroutine", "table", "io", "os", "math", "utf8", "debug" }) do
      local lib = _G[name]
      local n = 0
      for _ in pairs(lib) do n = n + 1 end  -- pairs first: it must see all
      seen[name] = n > 0 and lib == package.loaded[name] and lib == require(name)
    end
    _G.next = next
    math.extra = 1  -- a field set before any read keeps its value
    return seen, math.floor(2.5), math.pi > 3, math.extra, ("%d"):format(7),
           table.concat({ "a", "b" }), type(io.stdout), utf8.char(72)
  end)
  local ok, seen, floor, pi, extra, fmt, cat, out, h = j:wait(10)
  lu.assertTrue(ok, tostring(seen))
  lu.assertEquals(seen, { coroutine = true, table = true, io = true, os = true,
                          math = true, utf8 = true, debug = true })
  lu.assertEquals({ floor, pi, extra, fmt, cat, out, h },
                  { 2, true, 1, "7", "ab", "userdata", "H" })
  local k = jobs.new(function() math.x = 1 return math.floor(1.5), math.x, #os.date("%Y") end)
  lu.assertEquals({ k:wait(10) }, { true, 1, 1, 4 })
  local c = jobs.new(function() return math end)  -- crosses by name
  lu.assertEquals({ c:wait(10) }, { true, math })
end

-- A Ctrl-C (SIGINT) or any other asynchronous signal goes to the host's
-- threads: a job's thread blocks them, and a fault still reaches it.
function TestOptions.test_job_threads_block_asynchronous_signals()
  local sigmask = require "sigmask"
  local SIGINT, SIGTERM, SIGSEGV = 2, 15, 11
  lu.assertFalse(sigmask.blocked(SIGINT))
  local j = jobs.new(function(int, term, segv)
    local mask = require "sigmask"
    return mask.blocked(int), mask.blocked(term), mask.blocked(segv)
  end, SIGINT, SIGTERM, SIGSEGV)
  lu.assertEquals({ j:wait(10) }, { true, true, true, false })
end

-- The processes a job starts get the signal mask of the host, not that of
-- the job's thread. Before, their SIGCHLD was blocked ("sleep & wait" in a
-- shell never returned), SIGTERM too (kill could not stop them), SIGPIPE
-- too ("yes | head" said "Broken pipe").
function TestOptions.test_a_jobs_child_processes_get_the_hosts_signal_mask()
  local command = "grep SigBlk /proc/self/status"
  local function blocked(how)
    if how == "popen" then
      local p = assert(io.popen(command))
      local line = p:read("a")
      return line, p:close()
    end
    local path = os.tmpname()
    local ok, why, code = os.execute(command .. " > " .. path)
    local f = assert(io.open(path))
    local line = f:read("a")
    f:close()
    os.remove(path)
    return line, ok, why, code
  end
  for _, how in ipairs({ "popen", "execute" }) do
    local host = { blocked(how) }
    lu.assertStrContains(host[1], "SigBlk:")
    lu.assertEquals({ jobs.new(blocked, how):wait(10) },
                    { true, table.unpack(host) }, how)
  end
  local j = jobs.new(function()
    local yes = io.popen("(yes | head -c 4) 2>&1")  -- "Broken pipe" if blocked
    return yes:read("a"), os.execute("sleep 0.1 & wait"), yes:close()
  end)
  lu.assertEquals({ j:wait(30) }, { true, "y\ny\n", true, true, "exit", 0 })
end

-- A job cancelled while it waits for a command (os.execute, a popen'd
-- file's close) sends the command SIGTERM and ends "cancelled" once it is
-- gone; a file the cancel left open is closed as the job's state closes,
-- its command given the job's grace. Before, the job waited for the
-- command to end on its own.
function TestOptions.test_a_cancelled_job_stops_the_command_it_waits_for()
  for _, how in ipairs({ "execute", "popen", "open" }) do
    local ready = jobs.channel()
    local j = jobs.new(function(ready, how)
      ready:push(true)
      if how == "execute" then return os.execute("sleep 600") end
      local f = io.popen("sleep 600")
      if how == "open" then while true do end end
      return f:close()
    end, ready, how)
    ready:pop()
    j:cancel()
    lu.assertEquals({ j:wait(60) }, { false, "cancelled" }, how)
  end
end

-- What io.popen and os.execute give a job for the rest, as in plain Lua.
function TestOptions.test_a_jobs_popen_and_execute_behave_as_lua_s()
  local j = jobs.new(function()
    local w = io.popen("cat > /dev/null", "w")
    w:write("written")
    local closed = tostring(w):match("closed")
    return io.type(w), closed, os.execute(), select("#", w:close()),
           os.execute("exit 3"), pcall(io.popen, "true", "rw")
  end)
  lu.assertEquals({ j:wait(10) }, { true, "file", nil, true, 3, nil,
                                    false, "bad argument #2 to 'io.popen' (invalid mode)" })
end

-- The cancel's signal is one that no handler had when luajobs first
-- opened: the highest free real-time one, or JOBS_CANCELSIGNAL (SIGSYS
-- under ThreadSanitizer); its backup the first free one of SIGSTKFLT,
-- SIGURG and SIGPWR (16, 23, 30 on Linux), or none. A job's thread lets
-- through only them and what no thread can block (faults, SIGKILL, SIGSTOP,
-- glibc's own 32 and 33).
function TestOptions.test_the_cancel_signals_are_ones_the_host_left_free()
  local script = [[
    local sigmask = require "sigmask"
    for _, sig in ipairs({ %s }) do assert(sigmask.take(sig)) end
    local ok, jobs = pcall(require, "jobs")
    if not ok then print(jobs) return end
    local _, list = jobs.new(function() return require("sigmask").unblocked() end):wait()
    local rtmin = sigmask.realtime()
    local always = { [4] = true, [7] = true, [8] = true, [9] = true, [11] = true, [19] = true }
    for _, sig in ipairs(list) do
      if not always[sig] and (sig < 32 or sig >= rtmin) then io.write(sig, " ") end
    end
  ]]
  local function chosen(...)
    local status, out = helpers.run(script:format(table.concat({ ... }, ", ")))
    lu.assertEquals(status, 0, out)
    return out
  end
  local STKFLT, URG, PWR = 16, 23, 30
  local rtmin, rtmax = require("sigmask").realtime()
  local first = tonumber(chosen(STKFLT, URG, PWR))  -- the cancel's alone
  lu.assertEquals(chosen(STKFLT, URG, PWR), first .. " ")
  lu.assertEquals(chosen(), STKFLT .. " " .. first .. " ")
  lu.assertEquals(chosen(STKFLT), URG .. " " .. first .. " ")
  lu.assertEquals(chosen(STKFLT, URG), (first < PWR and first .. " " .. PWR or PWR .. " " .. first) .. " ")
  if first >= rtmin then  -- chosen at run time: the next free one then
    lu.assertEquals(first, rtmax)
    lu.assertEquals(chosen(STKFLT, URG, PWR, rtmax), (rtmax - 1) .. " ")
    local all = {}
    for sig = rtmin, rtmax do all[#all + 1] = sig end
    lu.assertStrContains(chosen(table.unpack(all)), "no free signal to cancel jobs with")
  else  -- fixed at build time
    lu.assertStrContains(chosen(first), "no free signal to cancel jobs with")
  end
end

function TestOptions.test_name_and_env_options()
  local j = jobs.spawn({ name = "adder", env = { base = 10 } }, function(x) return base + x end, 5)
  lu.assertEquals({ j:wait(10) }, { true, 15 })
  lu.assertEquals(j.name, "adder")
  local s = jobs.spawn({ env = { n = 6 } }, "n * 7")
  lu.assertEquals({ s:wait(10) }, { true, 42 })
end

function TestOptions.test_bad_options_are_errors()
  local f = function() end
  local cases = {  -- option, value, what the error says
    { "bogus", 1, "unknown option 'bogus' to 'spawn'" },
    { "timeout", -1, "bad option 'timeout' to 'spawn' (non-negative number of seconds expected, got -1)" },
    { "timeout", "1", "bad option 'timeout' to 'spawn' (non-negative number of seconds expected, got string)" },
    { "timeout", 0 / 0, "bad option 'timeout' to 'spawn' (non-negative number of seconds expected, got " },
    { "grace", -1, "bad option 'grace' to 'spawn' (non-negative number of seconds expected, got -1)" },
    { "grace", "1", "bad option 'grace' to 'spawn' (non-negative number of seconds expected, got string)" },
    { "memory_limit", 0.5, "bad option 'memory_limit' to 'spawn' (positive integer of bytes expected, got 0.5)" },
    { "memory_limit", "1e6", "bad option 'memory_limit' to 'spawn' (positive integer of bytes expected, got string)" },
    { "libs", { "nope" }, "bad option 'libs' to 'spawn' (unknown library 'nope')" },
    { "libs", "string", "bad option 'libs' to 'spawn' (table of library names expected, got string)" },
    { "libs", { 1 }, "bad option 'libs' to 'spawn' (unknown library '1')" },
    { "output", "loud", "bad option 'output' to 'spawn' (\"inherit\" or \"capture\" expected, got 'loud')" },
    { "output", true, "bad option 'output' to 'spawn' (\"inherit\" or \"capture\" expected, got boolean)" },
    { "name", {}, "bad option 'name' to 'spawn' (string expected, got table)" },
    { "name", 3, "bad option 'name' to 'spawn' (string expected, got number)" },
    { "env", 1, "bad option 'env' to 'spawn' (table expected, got number)" },
    { "daemon", "yes", "bad option 'daemon' to 'spawn' (boolean expected, got string)" },
    { "on_done", 1, "bad option 'on_done' to 'spawn' (function expected, got number)" },
  }
  for _, case in ipairs(cases) do
    local ok, err = pcall(jobs.spawn, { [case[1]] = case[2] }, f)
    lu.assertFalse(ok, case[1])
    lu.assertStrContains(err, case[3])
  end
  lu.assertErrorMsgContains("bad argument #1 to 'jobs.spawn' (table expected, got function)", jobs.spawn, f)
  lu.assertErrorMsgContains("bad argument #2 to 'jobs.spawn' (function or string expected, got no value)",
    jobs.spawn, {})
end

-- Every wait takes nil or a non-negative number of seconds, and says so.
function TestOptions.test_bad_seconds_are_errors_naming_the_call()
  local j = jobs.new(function() end)
  local cases = {
    { "bad argument #1 to 'wait_all' (non-negative number of seconds expected, got ", jobs.wait_all, 0 / 0 },
    { "bad argument #1 to 'wait_all' (non-negative number of seconds expected, got -1)", jobs.wait_all, -1 },
    { "bad argument #2 to 'wait_any' (non-negative number of seconds expected, got -1)", jobs.wait_any, nil, -1 },
    { "bad argument #1 to 'wait_any' (non-negative number of seconds expected, got -1)", jobs.wait_any, -1 },
    { "bad argument #2 to 'wait_any' (non-negative number of seconds expected, got string)", jobs.wait_any, { j }, "1" },
  }
  for _, case in ipairs(cases) do
    local ok, err = pcall(table.unpack(case, 2))
    lu.assertFalse(ok)
    lu.assertStrContains(err, case[1])
    lu.assertNotStrContains(err, "jobs.lua")  -- the caller's line, not ours
  end
  j:wait(10)
end

-- A memory limit too small for the job's state or its arguments is the
-- job's death, as any other memory error under its limit; the caller goes on.
function TestOptions.test_a_memory_limit_too_small_to_start_is_the_jobs_death()
  for _, case in ipairs({ { 1000 }, { 8 << 10 }, { 64 << 10, ("x"):rep(1 << 20) } }) do
    local j = jobs.spawn({ memory_limit = case[1] }, function() return "ran" end, case[2])
    lu.assertEquals({ j:wait(10) }, { false, "not enough memory" }, case[1])
    lu.assertEquals(j.status, "dead")
    lu.assertTrue(j.done)
  end
  local polled = false
  for _, job in ipairs(jobs.poll()) do polled = polled or job.status == "dead" end
  lu.assertTrue(polled)  -- it is reported like any job that ended
end

os.exit(lu.LuaUnit.run(), true)
