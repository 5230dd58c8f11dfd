-- manager_spec.lua: numbering, listing, status, remove/flush, waits and the
-- thread limit of a manager (§5).
local lu = require "luaunit"
local jobs = require "jobs"
local helpers = require "helpers"

TestManager = {}

-- Each test gets a manager of its own: numbers start at 1.
local m

function TestManager.setUp()
  m = jobs.manager()
end

local written = helpers.written

function TestManager.test_numbers_count_from_one_per_manager()
  local a, b = m.new("1"), m.new("2")
  local other = jobs.manager().new("3")
  lu.assertEquals({ a.num, b.num, other.num }, { 1, 2, 1 })
  lu.assertIs(m[1], a)
  lu.assertIs(m[2], b)
  lu.assertNil(m[3])
  m.wait_all(10)
end

function TestManager.test_module_functions_use_the_default_manager()
  local j = jobs.new("'default'")
  lu.assertIs(jobs[j.num], j)
  lu.assertIs(jobs.list()[#jobs.list()], j)
  j:wait(10)
  lu.assertEquals(jobs.result(j.num), "default")
  jobs.remove(j.num)
  lu.assertNil(jobs[j.num])
end

function TestManager.test_numbers_are_never_reused_after_flush()
  m.new("1")
  m.new("2")
  lu.assertTrue(m.wait_all(10))
  lu.assertEquals(m.flush(), 2)
  lu.assertEquals(#m.list(), 0)
  lu.assertEquals(m.new("3").num, 3)
  m[3]:wait(10)
  lu.assertEquals(m.flush(), 1)
  lu.assertEquals(m.new("4").num, 4)
  m.wait_all(10)
end

function TestManager.test_list_filters_by_status_in_number_order()
  local gate = helpers.gate()
  local running = m.spawn({ name = "gated" }, helpers.behind, gate.path)
  local done = m.new("'done'")
  local dead = m.new(function() error("boom") end)
  done:wait(10)
  dead:wait(10)
  lu.assertEquals(m.list(), { running, done, dead })
  lu.assertEquals(m.list("running"), { running })
  lu.assertEquals(m.list("completed"), { done })
  lu.assertEquals(m.list("dead"), { dead })
  lu.assertEquals(m.list("cancelled"), {})
  lu.assertErrorMsgContains("unknown status 'finished'", m.list, "finished")
  gate.open()
  running:wait(10)
  gate.close()
end

function TestManager.test_status_groups_jobs_one_line_each()
  local gate = helpers.gate()
  m.spawn({ name = "gated" }, helpers.behind, gate.path)
  m.new("6 * 7")
  m.spawn({ name = "failing" }, function() error("boom", 0) end)
  m.new("error('oops')")  -- its own code: "line 1:" says enough
  m.spawn({ name = "loader" }, function() return load("error('x')")() end)
  m.spawn({ name = "sleeper" }, jobs.sleep, math.huge):cancel()
  m.spawn({ name = "long" }, "string.rep('x', 100)")
  for i = 2, 7 do m[i]:wait(10) end
  m.config{ max_threads = 1 }  -- "gated" holds the only thread
  m.spawn({ name = "waiting" }, "1")
  local expected = table.concat({
    "Running:",
    "  [1] running    gated          T",
    "Completed:",
    "  [2] completed  6 * 7          T  -> 42",
    "  [7] completed  long           T  -> \"" .. ("x"):rep(36) .. "...",
    "Dead:",
    "  [3] dead       failing        T  -- boom",
    "  [4] dead       error('oops')  T  -- line 1: oops",
    "  [5] dead       loader         T  -- [string \"error('x')\"]:1: x",
    "Cancelled:",
    "  [6] cancelled  sleeper        T",
    "Queued:",
    "  [8] created    waiting        T",
    "" }, "\n")
  local function shown(fn)  -- elapsed times vary: "0.00s" becomes "T"
    return (written(fn):gsub("%d+%.%d%ds", "T"))
  end
  lu.assertEquals(shown(m.status), expected)
  lu.assertEquals(shown(function() m() end), expected)
  lu.assertEquals(shown(function() io.write(tostring(m), "\n") end), expected)
  gate.open()
  m.wait_all(10)
  gate.close()
end

-- Numbers of different widths keep the columns in line.
function TestManager.test_status_columns_line_up_past_job_nine()
  for _ = 1, 12 do m.new("1") end
  m.wait_all(10)
  local columns = {}
  for line in written(m.status):gmatch("[^\n]+") do
    local at = line:find("completed", 1, true)
    if at then columns[at] = true end
  end
  lu.assertEquals(columns, { [8] = true })
  lu.assertEquals(m.describe(m[12]):sub(1, 15), "[12] completed ")
end

-- A manager is a table with every function of the manager's reference.
function TestManager.test_a_manager_has_every_function_the_module_has()
  for _, name in ipairs({ "list", "status", "result", "traceback", "remove",
                          "flush", "wait_all", "wait_any", "cancel_all",
                          "config", "describe", "new", "spawn", "manager" }) do
    lu.assertEquals(type(m[name]), "function", name)
    lu.assertEquals(type(jobs[name]), "function", name)
  end
  m.new("6 * 7"):wait(10)
  lu.assertStrContains(m.describe(m[1]), "[1] completed  6 * 7")
end

-- Statuses are read at one moment: jobs taking turns on the threads of a
-- limit never show more of them running than the limit lets run.
function TestManager.test_a_listing_never_shows_more_running_than_the_limit()
  local gate = jobs.channel()
  m.config{ max_threads = 1 }
  m.new(function(gate) return gate:pop() end, gate)
  for i = 1, 1000 do  -- all in line, then taking turns on 4 threads
    m.new(function(i) local x = 0 for k = 1, 5000 do x = x + k end return i end, i)
  end
  m.config{ max_threads = 4 }
  gate:push(true)
  local most = 0
  repeat
    local running = #m.list("running")
    local shown = select(2, written(m.status):gsub("running  ", ""))
    most = math.max(most, running, shown)
  until m.wait_all(0)
  lu.assertTrue(most <= 4, most .. " running")
end

-- wait_any() returns each numbered job once, in the order they finished;
-- a job removed or flushed first is not returned.
function TestManager.test_wait_any_follows_the_order_jobs_finished_in()
  local gates, list = {}, {}
  for i = 1, 5 do
    gates[i] = helpers.gate()
    list[i] = m.new(helpers.behind, gates[i].path, i)
  end
  for _, i in ipairs({ 4, 2, 5, 1, 3 }) do  -- each ends before the next opens
    gates[i].open()
    list[i]:wait(10)
  end
  m.remove(5)
  local order = {}
  for _ = 1, 4 do order[#order + 1] = m.wait_any(10).result end
  lu.assertEquals(order, { 4, 2, 1, 3 })
  lu.assertEquals({ m.wait_any(0) }, { nil, "no job to wait for" })
  m.new("1"):wait(10)
  m.flush()
  lu.assertEquals({ m.wait_any(0) }, { nil, "no job to wait for" })
  for i = 1, 5 do gates[i].close() end
end

-- A manager dropped with finished jobs it never returned lets go of them,
-- and a job of it that ends later ends as any other (ASan checks both).
function TestManager.test_a_dropped_manager_lets_go_of_its_finished_jobs()
  local other = jobs.manager()
  local gate = helpers.gate()
  for i = 1, 20 do other.new(function(i) return i end, i) end
  local running = other.new(helpers.behind, gate.path, "late")
  for i = 1, 20 do other[i]:wait(10) end
  other = nil
  collectgarbage()
  collectgarbage()
  gate.open()
  lu.assertEquals({ running:wait(10) }, { true, "late" })
  gate.close()
end

-- A running job's line shows its progress: a fraction as a bar, anything
-- else as text, then its message.
function TestManager.test_status_shows_the_progress_of_running_jobs()
  local told, gate = jobs.channel(), jobs.channel()
  local function reporting(told, gate, value, message)
    require("jobs").progress(value, message)
    told:push(true)
    return gate:pop()
  end
  m.spawn({ name = "crawl" }, reporting, told, gate, 0.4, "page 4")
  m.spawn({ name = "count" }, reporting, told, gate, 7, "items")
  m.spawn({ name = "stage" }, reporting, told, gate, "parsing")
  m.spawn({ name = "quiet" }, reporting, told, gate)
  for _ = 1, 4 do told:pop(10) end
  local text = written(m.status):gsub("%d+%.%d%ds", "T")
  lu.assertStrContains(text, "  [1] running    crawl  T  [####------] 40% page 4\n")
  lu.assertStrContains(text, "  [2] running    count  T  7 items\n")
  lu.assertStrContains(text, "  [3] running    stage  T  parsing\n")
  lu.assertStrContains(text, "  [4] running    quiet  T\n")
  gate:close()
  m.wait_all(10)
end

function TestManager.test_status_of_no_jobs()
  lu.assertEquals(written(m.status), "No jobs.\n")
end

function TestManager.test_result_and_traceback_by_number()
  m.new(function() return 1, "two" end)
  m.new(function() local function deep() error("deep trouble") end deep() end)
  m.wait_all(10)
  lu.assertEquals({ m.result(1) }, { 1, "two" })
  lu.assertEquals({ m.result(2) }, {})
  local one = written(function() m.traceback(2) end)
  lu.assertStrContains(one, "[2] dead")
  lu.assertStrContains(one, "deep trouble")
  lu.assertStrContains(one, "in local 'deep'")
  lu.assertEquals(written(function() m.traceback() end), one)
  lu.assertEquals(written(function() m.traceback(1) end), "")
  lu.assertErrorMsgContains("bad argument #1 to 'result' (no job #9)",
                            m.result, 9)
end

function TestManager.test_removing_a_running_job_is_an_error()
  local gate = helpers.gate()
  local j = m.new(helpers.behind, gate.path)
  lu.assertErrorMsgContains("job #1 is running", m.remove, 1)
  lu.assertIs(m[1], j)
  gate.open()
  j:wait(10)
  m.remove(1)
  lu.assertNil(m[1])
  lu.assertEquals(m.list(), {})
  lu.assertErrorMsgContains("no job #1", m.remove, 1)
  gate.close()
end

function TestManager.test_wait_all_times_out_then_sees_all_finish()
  local gate = helpers.gate()
  m.new(helpers.behind, gate.path)
  m.new("1")
  lu.assertEquals({ m.wait_all(0.05) }, { nil, "timeout" })
  gate.open()
  lu.assertTrue(m.wait_all(10))
  for _, job in ipairs(m.list()) do lu.assertTrue(job.done) end
  gate.close()
end

function TestManager.test_wait_any_without_a_list_returns_each_job_once()
  for i = 1, 5 do m.new(function(n) return n end, i) end
  local seen = {}
  for _ = 1, 5 do
    local job = m.wait_any(10)
    seen[#seen + 1] = job.result
  end
  table.sort(seen)
  lu.assertEquals(seen, { 1, 2, 3, 4, 5 })
  lu.assertEquals({ m.wait_any(10) }, { nil, "no job to wait for" })
end

function TestManager.test_wait_any_returns_the_first_to_finish()
  local first, second = helpers.gate(), helpers.gate()
  local a = m.new(helpers.behind, first.path, "a")
  local b = m.new(helpers.behind, second.path, "b")
  lu.assertEquals({ m.wait_any(0.05) }, { nil, "timeout" })
  second.open()
  lu.assertIs(m.wait_any(10), b)
  lu.assertIs(m.wait_any({ a, b }, 10), b)  -- over already: at once
  first.open()
  lu.assertIs(m.wait_any(nil, 10), a)  -- each job once without a list
  lu.assertEquals({ m.wait_any(10) }, { nil, "no job to wait for" })
  lu.assertIs(m.wait_any({ b, a }), b)  -- the first to have finished
  lu.assertErrorMsgContains("job expected, got number", m.wait_any, { 1 })
  first.close()
  second.close()
end

function TestManager.test_cancel_all_cancels_every_unfinished_job()
  m.new("1"):wait(10)
  for _ = 1, 5 do m.new(jobs.sleep, math.huge) end
  lu.assertEquals(m.cancel_all(), 5)
  lu.assertTrue(m.wait_all(10))
  lu.assertEquals(#m.list("cancelled"), 5)
  lu.assertEquals(#m.list("completed"), 1)
end

function TestManager.test_max_threads_queues_jobs_as_created_in_order()
  local gates = { helpers.gate(), helpers.gate(), helpers.gate() }
  lu.assertEquals(m.config{ max_threads = 1 }, { max_threads = 1, at_close = "wait" })
  local order = jobs.channel()
  local list = {}
  for i = 1, 3 do
    list[i] = m.new(function(path, out, n) out:push(n) helpers.behind(path) end,
                    gates[i].path, order, i)
  end
  lu.assertEquals(order:pop(10), 1)
  lu.assertEquals(list[2].status, "created")
  lu.assertEquals(list[3].status, "created")
  lu.assertEquals(list[3].elapsed, 0)
  gates[1].open()
  lu.assertEquals(order:pop(10), 2)  -- the next in line takes the thread
  lu.assertEquals(list[3].status, "created")
  gates[2].open()
  gates[3].open()
  lu.assertEquals(order:pop(10), 3)
  lu.assertTrue(m.wait_all(10))
  for i = 1, 3 do gates[i].close() end
end

function TestManager.test_a_job_in_line_cancels_at_once()
  local gate = helpers.gate()
  m.config{ max_threads = 1 }
  local running = m.new(helpers.behind, gate.path)
  local queued = m.new("'never'")
  lu.assertTrue(queued:cancel())
  lu.assertEquals({ queued:wait(10) }, { false, "cancelled" })
  lu.assertEquals(running.status, "running")
  gate.open()
  lu.assertTrue(m.wait_all(10))
  gate.close()
end

function TestManager.test_raising_the_limit_starts_jobs_in_line()
  local gate = helpers.gate()
  m.config{ max_threads = 1 }
  m.new(helpers.behind, gate.path)
  local queued = m.new("'started'")
  lu.assertEquals(queued.status, "created")
  lu.assertEquals(m.config{ max_threads = math.huge },
                  { max_threads = math.huge, at_close = "wait" })
  lu.assertEquals({ queued:wait(10) }, { true, "started" })
  gate.open()
  m.wait_all(10)
  gate.close()
end

function TestManager.test_jobs_in_line_outlive_their_dropped_manager()
  local gate, out = helpers.gate(), jobs.channel()
  local dropped = jobs.manager()
  dropped.config{ max_threads = 1 }
  dropped.new(helpers.behind, gate.path)
  for i = 1, 3 do dropped.new(function(ch, n) ch:push(n) end, out, i) end
  dropped = nil
  collectgarbage()
  collectgarbage()
  gate.open()
  lu.assertEquals({ out:pop(10), out:pop(10), out:pop(10) }, { 1, 2, 3 })
  gate.close()
end

function TestManager.test_a_job_that_fails_to_start_is_not_listed()
  lu.assertErrorMsgContains("bad option 'on_done' to 'spawn' (function expected, got number)",
                            m.spawn, { on_done = 1 }, "1")
  lu.assertErrorMsgContains("unexpected symbol", m.new, "1 +")
  lu.assertEquals(m.list(), {})
  lu.assertTrue(m.wait_all(1))
  lu.assertEquals(m.new("1").num, 1)
  m.wait_all(10)
end

function TestManager.test_config_rejects_bad_settings()
  lu.assertErrorMsgContains("positive integer or math.huge expected",
                            m.config, { max_threads = 0 })
  lu.assertErrorMsgContains("positive integer or math.huge expected",
                            m.config, { max_threads = 1.5 })
  lu.assertErrorMsgContains("unknown setting 'threads'",
                            m.config, { threads = 2 })
  lu.assertErrorMsgContains("bad setting 'at_close' to 'config' (\"wait\" or \"cancel\" expected)",
                            m.config, { at_close = "later" })
  lu.assertErrorMsgContains("bad setting 'at_close' to 'config'",
                            m.config, { at_close = true, max_threads = 2 })
  lu.assertEquals(m.config(), { max_threads = math.huge, at_close = "wait" })
end

function TestManager.test_daemon_must_be_a_boolean()
  lu.assertErrorMsgContains("bad option 'daemon' to 'spawn' (boolean expected, got number)",
                            m.spawn, { daemon = 1 }, "1")
  local j = m.spawn({ daemon = true }, "'fine'")
  lu.assertEquals({ j:wait(10) }, { true, "fine" })
  lu.assertTrue(j.daemon)
  lu.assertFalse(m.new("1").daemon)
  m.wait_all(10)
end

-- A finished job whose object is gone is freed at once, polled or not: the
-- C side holds no more than the objects the script holds. (What Lua's own
-- heap holds, tables that grew for 20,000 jobs, is left out.)
function TestManager.test_finished_jobs_nobody_looks_at_are_freed()
  local f = function(i) return i end
  for i = 1, 2000 do jobs.new(f, i):wait() end  -- threads and arenas settle
  local before = helpers.settled()
  local kept = {}
  for i = 1, 20000 do kept[i] = jobs.new(f, i) end  -- all held as they end
  for i = 1, 20000 do kept[i]:wait() end
  jobs.new(f, 0):wait()
  kept = nil  -- now nobody looks at them, and nobody polls
  local grown = helpers.settled() - before
  for _ = 1, 100 do  -- their states close on a pool thread: 10 s at most
    if grown < 1 << 20 then break end
    jobs.sleep(0.1)
    grown = helpers.settled() - before
  end
  lu.assertTrue(grown < 1 << 20, ("%.1f KiB more held"):format(grown / 1024))
end

-- A function's name cut to 40 characters keeps its line and the end of
-- its source, which tell it apart (before: "function <[string "/.../acc...").
function TestManager.test_a_long_functions_name_keeps_its_file_and_line()
  local f = load("return function() return 1 end",
                 "@/srv/app/lib/very/deep/folder/of/modules/accounts.lua")()
  local j = jobs.new(f)
  j:wait(10)
  lu.assertEquals(tostring(j), ("<job #%d completed: function <.../of/modules/accounts.lua:1>>")
                  :format(j.num))
  lu.assertStrContains(jobs.describe(j), "  function <.../of/modules/accounts.lua:1>  ")
end

os.exit(lu.LuaUnit.run(), true)
