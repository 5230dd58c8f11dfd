-- roundtrip_spec.lua: a generated corpus of values, each sent through a job
-- and back, compared structurally: shapes, subtypes, sharing, cycles and
-- closures with their upvalues, chains of closures (§4), from graphs.lua. A
-- fuzzer of the copy engine on every build; FUZZ_RUNS=20000 FUZZ_SEED=7 runs
-- it longer. routes_spec.lua sends the same graphs down every other route.
local lu = require "luaunit"
local jobs = require "jobs"
local graphs = require "graphs"

local RUNS = tonumber(os.getenv("FUZZ_RUNS")) or 200
local SEED = tonumber(os.getenv("FUZZ_SEED")) or 20261125

local rng, closure, value, same = graphs.rng, graphs.closure, graphs.value,
                                  graphs.same

local function back_and_forth(...)
  local j = jobs.new(function(...) return ... end, ...)
  local r = table.pack(j:wait(30))
  lu.assertTrue(r[1], tostring(r[2]))
  return table.unpack(r, 2, r.n)
end

TestRoundTrip = {}

function TestRoundTrip.test_the_comparison_tells_differences()
  local t = { 1 }
  lu.assertFalse(same({ t, t }, { { 1 }, { 1 } }))  -- sharing lost
  lu.assertFalse(same(1, 1.0))                      -- subtype lost
  lu.assertFalse(same(0.0, -0.0))                   -- sign lost
  lu.assertFalse(same(setmetatable({}, {}), {}))     -- metatable lost
  local u = { 1 }
  lu.assertTrue(same({ t, t }, { u, u }))
  local p, q = closure(1, true), { closure(1), closure(1) }
  lu.assertFalse(same(p, q))  -- a shared upvalue lost
  lu.assertTrue(same(p, closure(1, true)))
end

-- Two closures that shared an upvalue still do after the round trip.
function TestRoundTrip.test_closures_sharing_an_upvalue_still_do()
  local p = back_and_forth(closure({ "x" }, true))
  p[1]("changed")
  lu.assertEquals(p[2](), "changed")
end

function TestRoundTrip.test_each_generated_value_survives_a_round_trip()
  local r = rng(SEED)
  for i = 1, RUNS do
    local v = value(r, 4, {})
    lu.assertTrue(same(v, back_and_forth(v)), "value " .. i)
  end
end

function TestRoundTrip.test_a_whole_corpus_keeps_sharing_across_values()
  local r, pool, corpus = rng(42), {}, {}
  for i = 1, 100 do corpus[i] = value(r, 4, pool) end
  local copies = table.pack(back_and_forth(table.unpack(corpus, 1, 100)))
  lu.assertTrue(same(corpus, { table.unpack(copies, 1, 100) }))
end

os.exit(lu.LuaUnit.run(), true)
