-- copy_spec.lua: what crosses between states, and how exactly (§4).
local lu = require "luaunit"
local jobs = require "jobs"

-- Sends 'value' into a job and back; returns the copy.
local function roundtrip(...)
  local j = jobs.new(function(...) return ... end, ...)
  local r = table.pack(j:wait(10))
  assert(r[1] == true, tostring(r[2]))
  return table.unpack(r, 2, r.n)
end

TestCopy = {}

function TestCopy.test_scalars_keep_their_values()
  lu.assertEquals({ roundtrip(nil, true, false, 0, -7, "x") },
                  { nil, true, false, 0, -7, "x" })
  lu.assertEquals(select("#", roundtrip(nil, nil)), 2)
end

function TestCopy.test_number_subtypes_are_kept()
  local i, f, big = roundtrip(3, 3.0, math.mininteger)
  lu.assertEquals(math.type(i), "integer")
  lu.assertEquals(math.type(f), "float")
  lu.assertEquals(big, math.mininteger)
  lu.assertEquals(math.type(big), "integer")
end

function TestCopy.test_special_floats_are_exact()
  local nan, inf, ninf, nz, tiny = roundtrip(0/0, 1/0, -1/0, -0.0, 5e-324)
  lu.assertTrue(nan ~= nan)
  lu.assertEquals(inf, math.huge)
  lu.assertEquals(ninf, -math.huge)
  lu.assertEquals(1 / nz, -math.huge)
  lu.assertEquals(string.pack("d", tiny), string.pack("d", 5e-324))
end

function TestCopy.test_strings_are_binary_safe()
  local s = "a\0b\255\n" .. string.char(table.unpack({ 0, 1, 2, 127, 128 }))
  lu.assertEquals(roundtrip(s), s)
  lu.assertEquals(roundtrip(""), "")
end

function TestCopy.test_long_strings_cross_whole()
  local s = string.rep("0123456789abcdef", 1 << 20)  -- 16 MiB
  local j = jobs.new(function(s) return #s, s:sub(-16), s end, s)
  lu.assertEquals({ select(2, j:wait(30)) }, { #s, "0123456789abcdef", s })
end

function TestCopy.test_nested_tables_are_copied_deeply()
  local t = { 1, 2, { 3, { 4 } }, a = { b = { c = "d" } }, [true] = 1, [2.5] = 2 }
  local c = roundtrip(t)
  lu.assertEquals(c, t)
  lu.assertNotIs(c, t)
end

function TestCopy.test_table_keys_may_be_tables()
  local k = { "key" }
  local c = roundtrip({ [k] = "value" })
  local key, value = next(c)
  lu.assertEquals(key, { "key" })
  lu.assertEquals(value, "value")
end

function TestCopy.test_metatables_travel_with_tables()
  local mt = { __index = { hello = "world" }, kind = "point" }
  local p = setmetatable({ x = 1 }, mt)
  local c = roundtrip(p)
  lu.assertEquals(c.hello, "world")
  lu.assertEquals(getmetatable(c).kind, "point")
end

function TestCopy.test_a_table_reached_twice_arrives_as_one()
  local shared = { 1 }
  local a, b = roundtrip({ x = shared, y = shared }, shared)
  lu.assertIs(a.x, a.y)
  lu.assertIs(a.x, b)
end

function TestCopy.test_thousands_of_shared_tables_stay_shared()
  local n, list, again = 5000, {}, {}
  for i = 1, n do list[i] = { i } end
  for i = 1, n do again[i] = list[n + 1 - i] end
  local a, b = roundtrip(list, again)
  for i = 1, n do
    lu.assertIs(b[i], a[n + 1 - i])
    lu.assertEquals(a[i][1], i)
  end
end

function TestCopy.test_an_array_of_numbers_after_a_table_copies_in_little_memory()
  -- 200,001 elements take 3.2 MB in the job's state; a copy that kept
  -- room to find each again as a table would need 8 MB more.
  local list = { { "header" } }
  for i = 2, 200001 do list[i] = i end
  local ok, j = pcall(jobs.spawn, { memory_limit = 8 << 20 },
                      function(t) return #t, t[1][1] end, list)
  lu.assertTrue(ok, j)
  lu.assertEquals({ j:wait(10) }, { true, 200001, "header" })
end

function TestCopy.test_rows_with_many_and_changing_keys_copy_exactly()
  local rows = {}
  for i = 1, 300 do
    local row = { id = i }
    for k = 1, i % 97 do row["k" .. ((i * k) % 211)] = k end
    rows[i] = row
  end
  lu.assertEquals(roundtrip(rows), rows)
end

function TestCopy.test_records_of_every_size_copy_whole()
  local key = { "table key" }
  for n = 0, 40 do
    local t = {}
    for k = 1, n do
      local which = k % 4
      if which == 0 then t["f" .. k] = k
      elseif which == 1 then t[k * 1000] = { k }
      elseif which == 2 then t[k + 0.5] = "half" .. k
      else t[k % 3 == 0] = k end
    end
    if n % 5 == 0 then t[key] = n end
    local c = roundtrip(t)
    if n % 5 == 0 then  -- a copied table key is another table
      local found, value
      for k, v in pairs(c) do
        if type(k) == "table" then found, value, c[k] = k, v, nil end
      end
      lu.assertEquals(found, key)
      lu.assertEquals(value, n)
      t[key] = nil
    end
    lu.assertEquals(c, t)
  end
end

function TestCopy.test_arrays_with_holes_and_fields_copy_whole()
  local t = { 1, nil, 3, nil, nil, 6, x = "x", [10] = 10, [-1] = -1 }
  lu.assertEquals(roundtrip(t), t)
end

function TestCopy.test_copies_leave_each_collector_as_it_was()
  local running = function() return collectgarbage("isrunning") end
  lu.assertEquals(select(2, jobs.new(running, { 1, 2 }):wait(10)), true)
  for _, size in ipairs({ 0, 4 << 20 }) do  -- a big outcome pauses ours
    collectgarbage("stop")
    jobs.new(function(n) return { ("x"):rep(n) } end, size):wait(10)
    lu.assertFalse(collectgarbage("isrunning"))
    collectgarbage("restart")
    jobs.new(function(n) return { ("x"):rep(n) } end, size):wait(10)
    lu.assertTrue(collectgarbage("isrunning"))
    local j = jobs.new(function(n)
      return ("x"):rep(n), coroutine.create(print)
    end, size)
    lu.assertFalse(j:wait(10))  -- its result cannot cross
    lu.assertTrue(collectgarbage("isrunning"))
  end
end

function TestCopy.test_cycles_are_kept()
  local t = { name = "t" }
  t.self = t
  t.child = { parent = t }
  local c = roundtrip(t)
  lu.assertIs(c.self, c)
  lu.assertIs(c.child.parent, c)
end

function TestCopy.test_self_referencing_metatable()
  local mt = {}
  mt.__index = mt
  setmetatable(mt, mt)
  local c = roundtrip(mt)
  lu.assertIs(getmetatable(c), c)
  lu.assertIs(c.__index, c)
end

function TestCopy.test_copy_runs_no_metamethods()
  local calls = 0
  local t = setmetatable({ stored = 1 }, {
    __index = function() calls = calls + 1 return "computed" end,
    __pairs = function() calls = calls + 1 return next, {}, nil end,
    __len = function() calls = calls + 1 return 99 end,
    __metatable = "locked",
  })
  local j = jobs.new(function(t) return rawget(t, "stored"), t.other, #t end, t)
  lu.assertEquals({ j:wait(10) }, { true, 1, "computed", 99 })
  lu.assertEquals(calls, 0)  -- what ran in the job ran on copies
end

function TestCopy.test_functions_carry_their_upvalues()
  local base, names = 10, { "a", "b" }
  local f = function(n) return base + n, names[2] end
  local g = roundtrip(f)
  lu.assertEquals({ g(5) }, { 15, "b" })
  lu.assertEquals({ jobs.new(f, 1):wait(10) }, { true, 11, "b" })
end

function TestCopy.test_env_upvalue_becomes_the_receivers_globals()
  copy_spec_global = "caller"
  local f = function() return copy_spec_global, type(print) end
  lu.assertEquals({ jobs.new(f):wait(10) }, { true, "caller", "function" })
  local j = jobs.new(function()
    copy_spec_global = "job"
    return function() return copy_spec_global end
  end)
  j:wait(10)
  lu.assertEquals(j.result(), "caller")  -- back home, it reads our globals
  copy_spec_global = nil
end

function TestCopy.test_a_custom_env_upvalue_is_copied()
  local f
  do
    local _ENV = { answer = 42 }
    f = function() return answer end
  end
  lu.assertEquals({ jobs.new(f):wait(10) }, { true, 42 })
end

function TestCopy.test_recursive_local_function_works()
  local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
  lu.assertEquals({ jobs.new(fib, 20):wait(10) }, { true, 6765 })
end

function TestCopy.test_shared_upvalues_stay_shared()
  local count = 0
  local function inc() count = count + 1 end
  local function get() return count end
  local j = jobs.new(function(inc, get) inc() inc() return get() end, inc, get)
  lu.assertEquals({ j:wait(10) }, { true, 2 })
  lu.assertEquals(count, 0)  -- the job changed its own copy
end

function TestCopy.test_function_keeps_its_debug_information()
  local line = debug.getinfo(1, "l").currentline + 1
  local f = function() error("boom") end
  local j = jobs.new(f)
  lu.assertEquals(j:wait(10), false)
  lu.assertEquals(j.error, ("spec/copy_spec.lua:%d: boom"):format(line))
end

function TestCopy.test_light_userdata_crosses_as_is()
  -- The module's own C functions are out of reach here; a light userdata
  -- comes from the debug library's view of the registry.
  local lud = debug.upvalueid(roundtrip, 1)
  lu.assertEquals(type(lud), "userdata")
  lu.assertIs(roundtrip(lud), lud)
end

os.exit(lu.LuaUnit.run(), true)
