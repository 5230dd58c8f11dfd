-- big_spec.lua: large and awkward inputs copy or fail cleanly, never crash (§4).
local lu = require "luaunit"
local jobs = require "jobs"

TestBig = {}

function TestBig.test_a_table_with_a_million_keys_copies()
  local t = {}
  for i = 1, 1000000 do t["k" .. i] = i end
  local j = jobs.new(function(t)
    local n, sum = 0, 0
    for _, v in pairs(t) do n, sum = n + 1, sum + v end
    return n, sum
  end, t)
  lu.assertEquals({ j:wait(120) }, { true, 1000000, 500000500000 })
end

function TestBig.test_a_million_element_array_comes_back()
  local j = jobs.new(function() local t = {} for i = 1, 1000000 do t[i] = i end return t end)
  local ok, t = j:wait(120)
  lu.assertTrue(ok)
  lu.assertEquals(#t, 1000000)
  lu.assertEquals(t[999999], 999999)
end

function TestBig.test_a_64_mib_string_crosses_both_ways()
  local s = string.rep("\0\1\2\3", 16 << 20)
  local j = jobs.new(function(s) return #s, s end, s)
  local ok, n, back = j:wait(120)
  lu.assertTrue(ok)
  lu.assertEquals(n, 64 << 20)
  lu.assertTrue(back == s)
end

function TestBig.test_many_arguments_and_results()
  local args = {}
  for i = 1, 5000 do args[i] = i end
  local j = jobs.new(function(...) return ... end, table.unpack(args))
  local r = table.pack(j:wait(30))
  lu.assertEquals(r.n, 5001)
  lu.assertEquals(r[5001], 5000)
end

os.exit(lu.LuaUnit.run(), true)
