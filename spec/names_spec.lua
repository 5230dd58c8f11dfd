-- names_spec.lua: C functions and module tables cross by name; callables (§2, §4).
local lu = require "luaunit"
local jobs = require "jobs"

local UNREACHABLE = require("helpers").unreachable

local function outcome(j) return { j:wait(10) } end

TestNames = {}

function TestNames.test_c_function_as_the_job_itself()
  local j = jobs.new(math.sqrt, 16)
  lu.assertEquals(outcome(j), { true, 4.0 })
  lu.assertEquals(j.name, "math.sqrt")
end

function TestNames.test_c_functions_as_arguments_and_inside_tables()
  local j = jobs.new(function(f, t) return f(2.25), t.fmt("%03d", 7) end,
                     math.sqrt, { fmt = string.format })
  lu.assertEquals(outcome(j), { true, 1.5, "007" })
end

function TestNames.test_c_function_as_an_upvalue()
  local fmt, insert = string.format, table.insert
  local j = jobs.new(function()
    local t = {}
    insert(t, fmt("%x", 255))
    return t[1]
  end)
  lu.assertEquals(outcome(j), { true, "ff" })
end

function TestNames.test_c_functions_come_back_as_the_callers_own()
  local j = jobs.new(function() return print, string.rep, require end)
  local _, p, r, q = j:wait(10)
  lu.assertIs(p, print)
  lu.assertIs(r, string.rep)
  lu.assertIs(q, require)
end

function TestNames.test_c_functions_nested_in_results_and_errors_come_back()
  local j = jobs.new(function() return 1, { deep = { f = string.format } } end)
  local _, n, t = j:wait(10)
  lu.assertEquals(n, 1)
  lu.assertIs(t.deep.f, string.format)
  local d = jobs.new(function() error({ handler = print }) end)
  local ok, err = d:wait(10)
  lu.assertFalse(ok)
  lu.assertIs(err.handler, print)
end

function TestNames.test_module_tables_cross_as_the_receivers_module()
  local out = io
  local j = jobs.new(function() return out == io, out.stdout == io.stdout, io end)
  local _, same, stdout, back = j:wait(10)
  lu.assertTrue(same)
  lu.assertTrue(stdout)
  lu.assertIs(back, io)  -- io.stdout inside never had to be copied
end

function TestNames.test_globals_table_crosses_as_the_receivers_globals()
  local g = _G
  names_spec_global = "caller"
  local j = jobs.new(function() g.names_spec_global = "job" return g == _G end)
  lu.assertEquals(outcome(j), { true, true })
  lu.assertEquals(names_spec_global, "caller")
  names_spec_global = nil
end

function TestNames.test_functions_of_a_required_c_module_cross()
  local counter = require "counter"  -- examples/counter.c
  local j = jobs.new(function(new) return new(5):get() end, counter.new)
  lu.assertEquals(outcome(j), { true, 5 })
end

function TestNames.test_the_jobs_module_crosses_by_name()
  local j = jobs.new(function()
    local inner = jobs.new(function(x) return x + 1 end, 41)
    return select(2, inner:wait(10)), jobs.new
  end)
  local _, v, new = j:wait(10)
  lu.assertEquals(v, 42)
  lu.assertIs(new, jobs.new)
end

-- Checks that 'err' refuses a C function at 'path', naming the file that
-- holds it (a static C function has no name of its own to give).
local function refused_in_its_file(err, path)
  local file = err:match("^cannot copy C function %(in ([^()]+)%) at ")
  lu.assertNotNil(file, err)
  lu.assertEquals(err, ("cannot copy C function (in %s) at %s"):format(file, path)
                       .. UNREACHABLE)
end

function TestNames.test_c_closure_not_found_by_name_is_a_clear_error()
  local gen = string.gmatch("a b", "%a")
  refused_in_its_file(select(2, pcall(jobs.new, function() end, { next = gen })),
                      "argument 1.next")
  refused_in_its_file(select(2, pcall(jobs.new, coroutine.wrap(function() end))),
                      "function")
end

-- A C function a module exports but no module table holds is named by its
-- symbol and the file it comes from.
function TestNames.test_an_exported_c_function_is_named_by_its_symbol()
  local path = assert(package.searchpath("jobs", package.cpath))
  local open = assert(package.loadlib(path, "luaopen_jobs"))
  lu.assertErrorMsgEquals("cannot copy C function (luaopen_jobs in "
    .. path:match("[^/]*$") .. ") at argument 2" .. UNREACHABLE,
    jobs.new, print, 1, open)
end

function TestNames.test_result_c_function_not_found_makes_the_job_dead()
  local j = jobs.new(function() return string.gmatch("a", "a") end)
  local ok, err = j:wait(10)
  lu.assertFalse(ok)
  refused_in_its_file(err, "result 1")
end

function TestNames.test_a_module_loaded_later_is_found()
  package.loaded.names_spec_module = { now = os.time }
  local j = jobs.new(function(f) return f == os.time end,
                     package.loaded.names_spec_module.now)
  lu.assertEquals(outcome(j), { true, true })
  package.loaded.names_spec_module = nil
end

function TestNames.test_a_standard_library_name_wins_over_any_other()
  package.loaded.names_spec_alias = { clock = os.clock, pi = math.pi }
  for _ = 1, 5 do  -- whatever order pairs() takes
    local j = jobs.new(function(f) return f == os.clock end, os.clock)
    lu.assertEquals(outcome(j), { true, true })
  end
  package.loaded.names_spec_alias = nil
end

function TestNames.test_a_module_missing_in_the_receiver_is_an_error()
  local counter = require "counter"
  package.loaded.counter = nil  -- reachable only through a module the job lacks
  package.loaded.names_spec_only_here = { make = counter.new }
  local ok, err = pcall(jobs.new, function() end, counter.new)
  package.loaded.names_spec_only_here = nil
  package.loaded.counter = counter
  lu.assertFalse(ok)
  lu.assertStrContains(err, "cannot copy module 'names_spec_only_here' at argument 1: it "
                       .. "is loaded where the value comes from but no searcher finds it here")
end

TestCallables = {}

function TestCallables.test_table_with_call_is_called_with_the_arguments()
  local obj = setmetatable({ k = 3 }, { __call = function(self, x, y) return self.k * x + y end })
  local j = jobs.new(obj, 5, 1)
  lu.assertEquals(outcome(j), { true, 16 })
  lu.assertEquals(j.name, "callable table")
end

function TestCallables.test_userdata_with_call_must_itself_cross()
  local u = io.stdout
  lu.assertErrorMsgContains("bad argument #1 to 'jobs.new' (function or string expected, got FILE*)",
    jobs.new, u)
end

TestClosures = {}

function TestClosures.test_function_whose_upvalue_is_the_table_holding_it()
  local t = {}
  t.f = function() return t.value end
  t.value = "found"
  local j = jobs.new(function(t) return t.f(), t.f == t.f end, t)
  lu.assertEquals(outcome(j), { true, "found", true })
end

function TestClosures.test_function_returned_by_a_job_keeps_shared_upvalues()
  local j = jobs.new(function()
    local n = 0
    return function() n = n + 1 return n end, function() return n end
  end)
  local _, inc, get = j:wait(10)
  inc() inc()
  lu.assertEquals(get(), 2)
end

os.exit(lu.LuaUnit.run(), true)
