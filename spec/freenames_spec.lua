-- freenames_spec.lua: a string job's free names come from the calling
-- function: its locals, upvalues and globals (§2).
local lu = require "luaunit"
local jobs = require "jobs"

TestFreeNames = {}

-- Whether 'job' completed, and its result.
local function result(job)
  local ok, value = job:wait(10)
  return ok, value
end

local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end

-- A value that cannot cross: naming it in a string must not copy it unless
-- it really is a free name there.
local uncopyable = coroutine.create(print)

function TestFreeNames.setUp()
  _G.offset = 1000
end

function TestFreeNames.tearDown()
  _G.offset, _G.one, _G.two, _G.three, _G.hidden = nil, nil, nil, nil, nil
end

function TestFreeNames.test_names_from_locals_upvalues_and_globals()
  local n = 10
  lu.assertEquals(fib(n), 55)  -- 'fib' is an upvalue here
  lu.assertEquals({ result(jobs.new("fib(n) + offset")) }, { true, 1055 })
end

function TestFreeNames.test_locals_shadow_upvalues_which_shadow_globals()
  _G.one, _G.two, _G.three = "global", "global", "global"
  local two, three = "upvalue", "upvalue"
  local function caller()
    local _ = two .. three  -- both are upvalues of 'caller'
    local three = "local"   -- luacheck: ignore 421
    return jobs.new("{ one, two, three }")
  end
  local ok, t = result(caller())
  lu.assertTrue(ok)
  lu.assertEquals(t, { "global", "upvalue", "local" })
end

function TestFreeNames.test_a_nil_local_shadows_a_global()
  _G.hidden = "global"
  local hidden = nil
  lu.assertEquals({ result(jobs.new("hidden")) }, { true, nil })
  lu.assertNil(hidden)
end

function TestFreeNames.test_values_shared_between_names_stay_shared()
  local t = {}
  local u = t
  lu.assertEquals({ result(jobs.new("t == u and #u")) }, { true, 0 })
end

function TestFreeNames.test_the_jobs_own_standard_library_wins()
  local print, string = uncopyable, {}  -- luacheck: ignore 431
  lu.assertEquals({ result(jobs.new("type(print) .. type(string.rep)")) },
                  { true, "functionfunction" })
end

function TestFreeNames.test_fields_keys_strings_and_comments_are_not_names()
  local upper, key, word, e, p = uncopyable, uncopyable, uncopyable,
                                 uncopyable, uncopyable
  local s = "x"
  local code = [==[
    -- word --[[ word ]]
    ('a'):upper() .. string.upper('b') .. #{ key = 1 } .. 'word' .. "word"
      .. [[word]] .. 1e+3 .. 0x1p-2 .. s..s --[=[ word ]=]
  ]==]
  lu.assertEquals({ result(jobs.new(code)) },
                  { true, "AB0wordwordword1000.00.25xx" })
  lu.assertNotNil(upper and key and word and e and p)
end

-- What Lua's own compiler reads as globals, whatever the lexical corner.
function TestFreeNames.test_names_after_every_kind_of_line_break_and_escape()
  local n = 20
  local cases = {
    "-- a comment ended by a carriage return\rn + 1",
    "('a\\z\n   b'):len() + n - 1",  -- \z skips the line break
    "('a\\\r\nb'):len() + n - 2",  -- a backslash, CR, LF: one line break
    "_ENV.n + 1",
    "--[==[ a long\r\ncomment ]==] n + 1",
    "#[[\r\n]] + n + 1",  -- a long string's first line break is not in it
  }
  for _, code in ipairs(cases) do
    lu.assertEquals({ result(jobs.new(code)) }, { true, 21 }, code)
  end
end

-- A local _ENV of the string's own holds what it names: those are no free
-- names of the caller.
function TestFreeNames.test_names_through_a_local_env_are_not_free()
  local n = 1  -- luacheck: ignore 311
  lu.assertEquals({ result(jobs.new("local _ENV = { n = 2 } return n")) }, { true, 2 })
  lu.assertEquals({ result(jobs.new(
    "local _ENV = { n = 3 } local function f() return n end return f()")) }, { true, 3 })
end

function TestFreeNames.test_a_syntax_error_is_luas_own()
  local ok, err = pcall(jobs.new, "x = = 1")
  lu.assertFalse(ok)
  lu.assertEquals(err, select(2, load("x = = 1", "x = = 1")))
  lu.assertErrorMsgContains("attempt to load a binary chunk", jobs.new, string.dump(function() end))
end

function TestFreeNames.test_an_env_table_is_all_a_string_sees()
  local n = 5
  lu.assertEquals({ result(jobs.new("n", {})) }, { true, nil })
  lu.assertEquals({ result(jobs.new("n", { n = 7 })) }, { true, 7 })
  lu.assertEquals({ result(jobs.spawn({ env = { n = 8 } }, "n")) }, { true, 8 })
  lu.assertEquals(n, 5)
end

function TestFreeNames.test_spawn_takes_free_names_too()
  local n = 6
  lu.assertEquals({ result(jobs.spawn({ name = "six" }, "n * 7")) },
                  { true, 42 })
end

function TestFreeNames.test_a_name_that_cannot_cross_is_an_error_naming_it()
  lu.assertErrorMsgContains("cannot copy thread at global conn", function()
    local conn = uncopyable
    return jobs.new("conn:send()")
  end)
end

function TestFreeNames.test_called_from_c_the_globals_are_the_states()
  local ok, job = pcall(jobs.new, "offset + 1")
  lu.assertTrue(ok)
  lu.assertEquals({ result(job) }, { true, 1001 })
end

-- {======================================================
-- Free names of a function (SPEC §2): the globals it names, from its _ENV
-- =======================================================

TestFunctionNames = {}

-- Hundreds of names, of a string or of a function, all arrive (each used
-- to take a slot of the caller's stack it had not made room for). Names
-- past a function's 256th constant are read through a register, not seen.
function TestFunctionNames.test_hundreds_of_names_all_arrive()
  local terms = {}
  for i = 1, 200 do
    _G["fnames_g" .. i] = i
    terms[i] = "fnames_g" .. i
  end
  local sum = table.concat(terms, " + ")
  lu.assertEquals({ jobs.new(sum):wait(10) }, { true, 200 * 201 // 2 })
  local f = assert(load("return function() return " .. sum .. " end"))()
  lu.assertEquals({ jobs.new(f):wait(10) }, { true, 200 * 201 // 2 })
  for i = 1, 200 do _G["fnames_g" .. i] = nil end
end

function TestFunctionNames.test_a_function_takes_the_globals_it_names()
  fnames_fib = function(n) if n < 2 then return n end return fnames_fib(n - 1) + fnames_fib(n - 2) end
  fnames_base = 100
  lu.assertEquals({ result(jobs.new(function() return fnames_fib(20) + fnames_base end)) },
                  { true, 6865 })
  fnames_fib, fnames_base = nil, nil
end

function TestFunctionNames.test_functions_among_arguments_and_upvalues_take_theirs()
  fnames_value = 7
  local function helper() return fnames_value * 2 end
  local j = jobs.new(function(g) return g() + helper() end, function() return fnames_value end)
  lu.assertEquals({ result(j) }, { true, 21 })
  fnames_value = nil
end

function TestFunctionNames.test_names_sharing_a_value_share_one_copy()
  fnames_a = {}
  fnames_b = fnames_a
  local j = jobs.new(function() return type(fnames_a), rawequal(fnames_a, fnames_b) end)
  lu.assertEquals({ j:wait(10) }, { true, "table", true })
  fnames_a, fnames_b = nil, nil
end

-- A host's own script environment (lighttpd's mod_magnet gives each script
-- one, falling back to the globals): the names come from it, read through
-- its metatable, and what the function does not name stays home.
function TestFunctionNames.test_an_env_of_the_hosts_crosses_by_the_names_used()
  local env = setmetatable({ x = 2, conn = io.stdout }, { __index = { y = 21 } })
  local f = assert(load("return x * y, type(print), conn == nil", "=script", "t", env))
  lu.assertErrorMsgEquals("cannot copy userdata (FILE*) at global conn" ..
                          require("helpers").uncopyable,
                          jobs.new, function() return f() end)
  local g = assert(load("return x * y, type(print)", "=script", "t", env))
  lu.assertEquals({ jobs.new(g):wait(10) }, { true, 42, "function" })
end

function TestFunctionNames.test_a_name_that_cannot_cross_is_an_error_at_creation()
  fnames_conn = io.stdout
  lu.assertErrorMsgEquals("cannot copy userdata (FILE*) at global fnames_conn" ..
                          require("helpers").uncopyable,
                          jobs.new, function() return fnames_conn end)
  fnames_conn = nil
end

-- A function coming back from a job has the caller's globals as its _ENV:
-- it reads the caller's values, and the job's globals stay in the job.
function TestFunctionNames.test_a_function_a_job_returns_reads_the_callers_globals()
  fnames_where = "caller"
  local j = jobs.new(function()
    fnames_where, fnames_jobs_own = "job", 1
    return function() return fnames_where, fnames_jobs_own end, fnames_where
  end)
  local ok, f, there = j:wait(10)
  lu.assertEquals({ ok, there }, { true, "job" })
  lu.assertEquals({ f() }, { "caller", nil })
  lu.assertNil(rawget(_G, "fnames_jobs_own"))
  fnames_where = nil
end

-- Every function the copy carries takes the globals it names (issue 29):
-- methods in an argument's metatable, functions in a table argument or a
-- table upvalue (a module table held as an upvalue), in a global table a
-- string names, and the functions those names hold. Each failed before
-- with "attempt to call a nil value (global 'fnames_helper')".
function TestFunctionNames.test_functions_in_tables_take_theirs()
  fnames_helper = function(x) return x * 2 end
  local obj = setmetatable({ v = 21 }, { __index = {
    double = function(self) return fnames_helper(self.v) end } })
  lu.assertEquals({ result(jobs.new(function(o) return o:double() end, obj)) },
                  { true, 42 })
  local arg = { f = function(x) return fnames_helper(x) end }
  lu.assertEquals({ result(jobs.new(function(t) return t.f(4) end, arg)) },
                  { true, 8 })
  local mod = { f = function(x) return fnames_helper(x) + 1 end }
  lu.assertEquals({ result(jobs.new(function() return mod.f(1) end)) },
                  { true, 3 })
  fnames_mod = { f = function(x) return fnames_helper(x) end }
  lu.assertEquals({ result(jobs.new("fnames_mod.f(3)")) }, { true, 6 })
  fnames_helper, fnames_mod = nil, nil
end

function TestFunctionNames.test_a_function_named_takes_the_names_it_names()
  fnames_inner = function() return 2 end
  fnames_outer = function() return fnames_inner() end
  lu.assertEquals({ result(jobs.new(function() return fnames_outer() end)) },
                  { true, 2 })
  fnames_inner, fnames_outer = nil, nil
end

-- A module's table crosses by name: the walk leaves it alone.
function TestFunctionNames.test_a_module_among_tables_is_not_walked()
  local t = { s = string, f = function() return fnames_missing end }
  lu.assertEquals({ result(jobs.new(function(t) return t.s.rep("a", 2), t.f() end, t)) },
                  { true, "aa" })
end

-- The standard library's names are the job's own, and a library its 'libs'
-- leaves out stays out.
function TestFunctionNames.test_standard_names_stay_the_jobs()
  local j = jobs.spawn({ libs = { "string" } }, function() return type(math), type(string.rep) end)
  lu.assertEquals({ j:wait(10) }, { true, "nil", "function" })
end

os.exit(lu.LuaUnit.run(), true)
