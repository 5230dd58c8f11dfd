-- errors_spec.lua: bad input gives a clear Lua error and the process goes on (§2, §4).
local lu = require "luaunit"
local jobs = require "jobs"

local UNCOPYABLE = require("helpers").uncopyable

-- Checks that the process is still healthy: a job still runs.
local function healthy()
  lu.assertEquals({ jobs.new("'ok'"):wait(10) }, { true, "ok" })
end

-- A Lua function to run, so that only the other arguments are in question.
local function nop() end

TestErrors = {}

function TestErrors.test_number_nil_or_plain_table_is_not_a_job()
  for _, bad in ipairs({ 42, "nil", {} }) do
    local value = bad ~= "nil" and bad or nil
    lu.assertErrorMsgContains(
      ("bad argument #1 to 'jobs.new' (function or string expected, got %s)")
        :format(type(value)),
      jobs.new, value)
  end
  lu.assertErrorMsgContains("got no value", jobs.new)
  healthy()
end

function TestErrors.test_syntax_error_is_raised_by_new_with_luas_message()
  local ok, err = pcall(jobs.new, "x = = 1")
  lu.assertFalse(ok)
  local _, lua_err = load("x = = 1", "=x = = 1")
  lu.assertEquals(err, '[string "x = = 1"]:1: ' .. lua_err:match(":1: (.*)"))
  healthy()
end

function TestErrors.test_binary_chunk_is_refused()
  local ok, err = pcall(jobs.new, string.dump(function() return 1 end))
  lu.assertFalse(ok)
  lu.assertStrContains(err, "attempt to load a binary chunk (mode is 't')")
  healthy()
end

function TestErrors.test_string_env_must_be_a_table()
  lu.assertErrorMsgContains("bad argument #2 to 'jobs.new' (table expected, got number)",
    jobs.new, "x", 5)
  lu.assertErrorMsgContains("bad argument #3 to 'jobs.new'", jobs.new, "x", {}, 1)
end

function TestErrors.test_paths_name_a_records_key_wherever_it_stands()
  for _, n in ipairs({ 1, 15, 16, 17, 40 }) do
    local t = {}
    for k = 1, n do t["f" .. k] = k end
    t["f" .. n] = coroutine.create(print)
    lu.assertErrorMsgEquals("cannot copy thread at argument 1.f" .. n,
      jobs.new, nop, t)
  end
  healthy()
end

function TestErrors.test_uncopyable_arguments_name_type_and_path()
  lu.assertErrorMsgEquals("cannot copy userdata (FILE*) at argument 1" .. UNCOPYABLE,
    jobs.new, nop, io.stdout)
  lu.assertErrorMsgEquals("cannot copy thread at argument 2.conn",
    jobs.new, nop, 1, { conn = coroutine.create(print) })
  lu.assertErrorMsgEquals('cannot copy userdata (FILE*) at argument 1[1]["a key"][2]' .. UNCOPYABLE,
    jobs.new, nop, { { ["a key"] = { 1, io.stderr } } })
  lu.assertErrorMsgEquals("cannot copy userdata (FILE*) at argument 1<metatable>.__index" .. UNCOPYABLE,
    jobs.new, nop, setmetatable({}, { __index = io.stdout }))
  healthy()
end

function TestErrors.test_uncopyable_upvalue_names_the_upvalue()
  local conn = coroutine.create(print)
  lu.assertErrorMsgEquals("cannot copy thread at function<upvalue conn>",
    jobs.new, function() return conn end)
end

-- Paths count the job's own arguments, whatever jobs.spawn takes before them.
function TestErrors.test_paths_count_the_jobs_arguments_not_spawns()
  local conn = coroutine.create(print)
  lu.assertErrorMsgEquals("cannot copy userdata (FILE*) at argument 2" .. UNCOPYABLE,
    jobs.spawn, { name = "p" }, nop, 1, io.stdout)
  lu.assertErrorMsgEquals("cannot copy thread at function<upvalue conn>",
    jobs.spawn, {}, function() return conn end, 1)
  lu.assertErrorMsgEquals("cannot copy thread at argument 1",
    jobs.spawn, {}, nop, conn)
  local callable = setmetatable({}, { __call = function() return conn end })
  lu.assertErrorMsgEquals("cannot copy thread at function<metatable>.__call<upvalue conn>",
    jobs.new, callable)
  healthy()
end

-- What takes the most C stack, on a job's own thread: copies as deep as
-- they may go, C calls and the parser as deep as Lua lets them. Each ends
-- in a result or a clean error, never a crash, whatever the thread's stack.
function TestErrors.test_deep_work_on_a_jobs_thread_fits_its_stack()
  local j = jobs.new(function()
    local jobs = require "jobs"
    local deep = {}
    for _ = 1, 998 do deep = { deep } end
    local ch = jobs.channel()
    ch:push(deep)  -- a copy 999 levels deep, made on this thread
    local inner = jobs.new(function(t) local n = 0 while t[1] do t, n = t[1], n + 1 end return n end,
                           ch:pop())
    local depth = select(2, inner:wait())
    local function nest()  -- C calls, until Lua stops them: its message
      return select(2, pcall(nest))
    end
    local nested = { nest() }
    local parsed = { load("return " .. ("("):rep(1000) .. "1" .. (")"):rep(1000)) }
    local sorted = { pcall(table.sort, { 3, 2, 1 }, function(a, b)
      return select(2, pcall(string.gsub, "x", "x", function() return tostring(a < b) end)) end) }
    return depth, nested[1], parsed[2], sorted[1]
  end)
  local ok, depth, nested, parsed = j:wait(60)
  lu.assertTrue(ok, tostring(depth))
  lu.assertEquals(depth, 998)
  lu.assertStrContains(nested, "stack overflow")
  lu.assertStrContains(parsed, "overflow")
end

-- The deepest value a copy allows (JOBS_MAXDEPTH, 1000 levels) of every
-- kind of nesting copies on a job's own thread, into a channel, into a job
-- of its own and back; one level more is an error, never a crash.
function TestErrors.test_the_deepest_copy_of_each_kind_fits_a_jobs_stack()
  local j = jobs.new(function()
    local jobs = require "jobs"
    local chains = {  -- each makes a value n levels deep, and measures one
      tables = function(n)
        local t = {} for _ = 2, n do t = { t } end return t
      end,
      closures = function(n)  -- each the upvalue of the next
        local f = function() end
        for _ = 2, n do local g = f f = function() return g end end
        return f
      end,
      metatables = function(n)
        local t = {} for _ = 2, n do t = setmetatable({}, t) end return t
      end,
      mixed = function(n)  -- a table's metatable, a closure, a table, in turn
        local v = {}
        for i = 2, n do
          local inner = v
          if i % 3 == 2 then v = setmetatable({}, inner)
          elseif i % 3 == 0 then v = function() return inner end
          else v = { inner } end
        end
        return v
      end,
    }
    local function depth(v)
      local n = 0
      while v ~= nil do
        n = n + 1
        if type(v) == "function" then v = v()
        elseif getmetatable(v) then v = getmetatable(v)
        else v = v[1] end
      end
      return n
    end
    local out = {}
    for name, make in pairs(chains) do
      local deepest = make(1000)
      local ch = jobs.channel()
      ch:push(deepest)
      local ok, back = jobs.new(function(v) return v end, ch:pop()):wait()
      out[name] = { ok and depth(back), pcall(jobs.new, print, make(1001)) }
      out[name][3] = type(out[name][3]) == "string" and out[name][3]:match("nested deeper than %d+ levels")
    end
    return out
  end)
  local ok, out = j:wait(120)
  lu.assertTrue(ok, tostring(out))
  for _, name in ipairs({ "tables", "closures", "metatables", "mixed" }) do
    lu.assertEquals(out[name], { 1000, false, "nested deeper than 1000 levels" }, name)
  end
end

-- The error a job threw is its error, even when its __tostring raises;
-- the traceback then names it by type, and shows the stack once.
function TestErrors.test_an_error_whose_tostring_raises_stays_what_was_thrown()
  local j = jobs.new(function()
    error(setmetatable({ code = 7 }, { __tostring = function() error("no name") end }))
  end)
  lu.assertFalse((j:wait(10)))
  lu.assertEquals(j.status, "dead")
  lu.assertEquals(j.error.code, 7)
  local tb = j:traceback()
  lu.assertStrContains(tb, "(error object is a table value)")
  lu.assertEquals(select(2, tb:gsub("stack traceback:", "")), 1)
  lu.assertEquals(select(2, tb:gsub("in function 'error'", "")), 1)
  local k = jobs.new(function()  -- a __tostring that returns no string
    error(setmetatable({}, { __tostring = function() return {} end }))
  end)
  k:wait(10)
  lu.assertEquals(type(k.error), "table")
  lu.assertStrContains(k:traceback(), "(error object is a table value)")
end

function TestErrors.test_string_env_with_uncopyable_value()
  lu.assertErrorMsgEquals("cannot copy userdata (FILE*) at env.out" .. UNCOPYABLE,
    jobs.new, "out", { out = io.stdout })
end

function TestErrors.test_deep_nesting_is_an_error_not_a_crash()
  local t = {}
  for _ = 1, 100000 do t = { t } end
  local ok, err = pcall(jobs.new, nop, t)
  lu.assertFalse(ok)
  lu.assertStrContains(err, "cannot copy table at argument 1[1][1]")
  lu.assertStrContains(err, "[1]...: nested deeper than 1000 levels")
  healthy()
end

function TestErrors.test_nesting_within_the_limit_copies()
  local t = {}
  for _ = 1, 900 do t = { t } end
  local j = jobs.new(function(t) local n = 0 while t[1] do t, n = t[1], n + 1 end return n end, t)
  lu.assertEquals({ j:wait(10) }, { true, 900 })
end

function TestErrors.test_uncopyable_result_makes_the_job_dead()
  local j = jobs.new(function() return 1, { co = coroutine.create(print) } end)
  lu.assertEquals({ j:wait(10) }, { false, "cannot copy thread at result 2.co" })
  lu.assertEquals(j.status, "dead")
  lu.assertNil(j.result)
  lu.assertEquals(j.error, "cannot copy thread at result 2.co")
  healthy()
end

function TestErrors.test_uncopyable_result_is_dead_at_first_look_whatever_it_is()
  local j = jobs.new(function() return io.stdout end)
  while not j.done do end  -- 'done' is the first look: no wait() involved
  lu.assertEquals(j.status, "dead")
  lu.assertEquals(j.error, "cannot copy userdata (FILE*) at result 1" .. UNCOPYABLE)
end

function TestErrors.test_error_thrown_as_a_table_stays_a_table()
  local j = jobs.new(function() error({ code = 42, why = "nope" }) end)
  local ok, err = j:wait(10)
  lu.assertFalse(ok)
  lu.assertEquals(err, { code = 42, why = "nope" })
  lu.assertEquals(j.error.code, 42)
  lu.assertEquals(j.status, "dead")
  lu.assertStrContains(j:traceback(), "(error object is a table value)")
end

function TestErrors.test_error_values_of_other_types_are_kept()
  for _, v in ipairs({ 42, 4.5, true }) do
    local j = jobs.new(function(v) error(v) end, v)
    lu.assertEquals({ j:wait(10) }, { false, v })
    lu.assertEquals(math.type(j.error), math.type(v))
  end
end

function TestErrors.test_uncopyable_error_value_becomes_a_message()
  local j = jobs.new(function() error(coroutine.create(print)) end)
  lu.assertEquals({ j:wait(10) }, { false, "cannot copy thread at error" })
end

function TestErrors.test_deep_error_has_a_traceback_with_files_and_lines()
  local function level3() error("deep trouble") end
  local function level2() level3() end
  local function level1() level2() end
  local line = debug.getinfo(level3, "S").linedefined
  local j = jobs.new(function() level1() end)
  lu.assertFalse((j:wait(10)))
  lu.assertEquals(j.error, ("spec/errors_spec.lua:%d: deep trouble"):format(line))
  local tb = j:traceback()
  lu.assertStrContains(tb, "deep trouble\nstack traceback:")
  lu.assertStrContains(tb, ("spec/errors_spec.lua:%d: in upvalue 'level3'"):format(line))
  lu.assertStrContains(tb, ("spec/errors_spec.lua:%d: in upvalue 'level2'"):format(line + 1))
  lu.assertStrContains(tb, ("spec/errors_spec.lua:%d: in upvalue 'level1'"):format(line + 2))
end

function TestErrors.test_runtime_error_in_a_string_job()
  local j = jobs.new("nil + 1")
  lu.assertFalse((j:wait(10)))
  lu.assertStrContains(j.error, "attempt to perform arithmetic on a nil value")
  lu.assertStrContains(j:traceback(), '[string "nil + 1"]:1:')
end

function TestErrors.test_traceback_is_nil_unless_dead()
  local j = jobs.new("1")
  j:wait(10)
  lu.assertNil(j:traceback())
  lu.assertNil(j.error)
end

function TestErrors.test_wait_rejects_a_negative_timeout()
  local j = jobs.new("1")
  lu.assertErrorMsgContains("bad argument #1 to 'wait' (non-negative number expected)",
    function() return j:wait(-1) end)
  lu.assertErrorMsgContains("number expected", function() return j:wait("soon") end)
  j:wait(10)
end

function TestErrors.test_methods_check_their_object()
  local j = jobs.new("1")
  lu.assertErrorMsgContains("jobs.job expected", j.wait, {})
  j:wait(10)
end

-- A function whose _ENV is not a table says so, and which function (it
-- gave a bare "attempt to index a number value" from jobs.new). One whose
-- _ENV indexes through a metatable is fine.
function TestErrors.test_an_env_that_is_not_a_table_is_named()
  local f
  do local _ENV = 42; f = function() return x end end  -- luacheck: ignore
  lu.assertErrorMsgContains("the _ENV of function <" .. debug.getinfo(1, "S").short_src,
                            jobs.new, f)
  lu.assertErrorMsgContains("is a number value, not a table: the globals it names cannot be read",
                            jobs.new, f)
  local g
  do local _ENV = setmetatable({}, { __index = function() return 5 end }); g = function() return x end end
  lu.assertEquals({ jobs.new(g):wait(10) }, { true, 5 })
end

-- A module of the caller's that no searcher finds in the job is a host's
-- API (HAProxy's 'core'): the error says so, not the 16 lines of where
-- require looked.
function TestErrors.test_a_hosts_own_module_is_named_as_such()
  package.loaded.errors_hostapi = { info = function() return 1 end }
  local api = package.loaded.errors_hostapi
  local ok, err = pcall(jobs.new, function() return api.info() end)
  package.loaded.errors_hostapi = nil
  lu.assertFalse(ok)
  lu.assertEquals(err, "cannot copy module 'errors_hostapi' at function<upvalue api>: "
                  .. "it is loaded where the value comes from but no searcher finds it "
                  .. "here: a host's own API lives only in the host's state; give the "
                  .. "job data, not the API")
end

-- A pool without an init whose states cannot hold their libraries says
-- what ran out, not "pool init".
function TestErrors.test_a_pool_too_small_for_its_libraries_names_no_init()
  local p = jobs.pool{ size = 1, memory_limit = 4096 }
  lu.assertEquals({ p:submit(function() return 1 end):wait(10) },
                  { false, "not enough memory" })
  p:close()
end

os.exit(lu.LuaUnit.run(), true)
