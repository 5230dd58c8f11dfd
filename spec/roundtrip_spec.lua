-- roundtrip_spec.lua: a generated corpus of values, each sent through a job
-- and back, compared structurally: shapes, subtypes, sharing, cycles and
-- closures with their upvalues (§4). A fuzzer of the copy engine on every
-- build; FUZZ_RUNS=20000 FUZZ_SEED=7 runs it longer.
local lu = require "luaunit"
local jobs = require "jobs"

local RUNS = tonumber(os.getenv("FUZZ_RUNS")) or 200
local SEED = tonumber(os.getenv("FUZZ_SEED")) or 20261125

-- A deterministic generator (xorshift), so a failure can be replayed.
local function rng(seed)
  local x = seed
  return function(n)
    x = x ~ (x << 13); x = x ~ (x >> 7); x = x ~ (x << 17)
    return (x & 0x7fffffff) % n + 1
  end
end

local specials = { 0, -0.0, 1/0, -1/0, 0/0, math.maxinteger, math.mininteger,
                   math.pi, 2^53, -2^63, 5e-324, 0.1, 3.0, -7 }

local function scalar(r)
  local k = r(5)
  if k == 1 then return r(2) == 1 end
  if k == 2 then return specials[r(#specials)] end
  if k == 3 then return r(1 << 30) - (1 << 29) end
  local len = ({ 0, 1, 8, 100, 1000 })[r(5)]
  local bytes = {}
  for i = 1, len do bytes[i] = string.char(r(256) - 1) end
  return table.concat(bytes)
end

-- A closure over 'up', or (with 'pair') one of two sharing it: each
-- returns its upvalue, and sets it.
local function closure(up, pair)
  local f = function(v) if v ~= nil then up = v end return up end
  if not pair then return f end
  return { f, function() return up end }
end

-- A value of up to 'depth' levels; 'pool' holds tables made so far, so that
-- some references are shared and some point back to ancestors (cycles).
local function value(r, depth, pool)
  if depth == 0 or r(4) == 1 then return scalar(r) end
  if #pool > 0 and r(6) == 1 then return pool[r(#pool)] end
  if r(8) == 1 then return closure(value(r, depth - 1, pool), r(2) == 1) end
  local t = {}
  pool[#pool + 1] = t
  for i = 1, r(5) - 1 do t[i] = value(r, depth - 1, pool) end
  for _ = 1, r(4) - 1 do
    local key = scalar(r)
    if key == key then t[key] = value(r, depth - 1, pool) end  -- no NaN keys
  end
  local mt = r(5) == 1 and value(r, depth - 1, pool)
  if type(mt) == "table" then setmetatable(t, mt) end
  return t
end

-- Whether a and b have the same structure: one-to-one between tables,
-- functions and the upvalues they share.
local function same(a, b, map, back)
  if type(a) ~= type(b) then return false end
  if type(a) == "function" then
    if map[a] ~= nil or back[b] ~= nil then return map[a] == b and back[b] == a end
    map[a], back[b] = b, a
    local id, idb = debug.upvalueid(a, 1), debug.upvalueid(b, 1)
    if map[id] ~= nil or back[idb] ~= nil then
      if map[id] ~= idb or back[idb] ~= id then return false end
    end
    map[id], back[idb] = idb, id
    return same(select(2, debug.getupvalue(a, 1)), select(2, debug.getupvalue(b, 1)), map, back)
  end
  if type(a) == "number" then
    if math.type(a) ~= math.type(b) then return false end
    if a ~= a then return b ~= b end
    return a == b and (a ~= 0 or 1 / a == 1 / b)
  end
  if type(a) ~= "table" then return a == b end
  if map[a] ~= nil or back[b] ~= nil then return map[a] == b and back[b] == a end
  map[a], back[b] = b, a
  local count = 0
  for k, v in next, a do
    count = count + 1
    if type(k) == "table" or not same(v, rawget(b, k), map, back) then return false end
  end
  for _ in next, b do count = count - 1 end
  if count ~= 0 then return false end
  local ma, mb = getmetatable(a), getmetatable(b)
  if ma == nil or mb == nil then return ma == mb end
  return same(ma, mb, map, back)
end

local function back_and_forth(...)
  local j = jobs.new(function(...) return ... end, ...)
  local r = table.pack(j:wait(30))
  lu.assertTrue(r[1], tostring(r[2]))
  return table.unpack(r, 2, r.n)
end

TestRoundTrip = {}

function TestRoundTrip.test_the_comparison_tells_differences()
  local t = { 1 }
  lu.assertFalse(same({ t, t }, { { 1 }, { 1 } }, {}, {}))  -- sharing lost
  lu.assertFalse(same(1, 1.0, {}, {}))                      -- subtype lost
  lu.assertFalse(same(0.0, -0.0, {}, {}))                   -- sign lost
  lu.assertFalse(same(setmetatable({}, {}), {}, {}, {}))     -- metatable lost
  local u = { 1 }
  lu.assertTrue(same({ t, t }, { u, u }, {}, {}))
  local p, q = closure(1, true), { closure(1), closure(1) }
  lu.assertFalse(same(p, q, {}, {}))  -- a shared upvalue lost
  lu.assertTrue(same(p, closure(1, true), {}, {}))
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
    lu.assertTrue(same(v, back_and_forth(v), {}, {}), "value " .. i)
  end
end

function TestRoundTrip.test_a_whole_corpus_keeps_sharing_across_values()
  local r, pool, corpus = rng(42), {}, {}
  for i = 1, 100 do corpus[i] = value(r, 4, pool) end
  local copies = table.pack(back_and_forth(table.unpack(corpus, 1, 100)))
  lu.assertTrue(same(corpus, { table.unpack(copies, 1, 100) }, {}, {}))
end

os.exit(lu.LuaUnit.run(), true)
