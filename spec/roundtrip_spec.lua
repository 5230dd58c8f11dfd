-- roundtrip_spec.lua: a generated corpus of values, each sent through a job
-- and back, compared structurally: shapes, subtypes, sharing and cycles (§4).
local lu = require "luaunit"
local jobs = require "jobs"

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

-- A value of up to 'depth' levels; 'pool' holds tables made so far, so that
-- some references are shared and some point back to ancestors (cycles).
local function value(r, depth, pool)
  if depth == 0 or r(4) == 1 then return scalar(r) end
  if #pool > 0 and r(6) == 1 then return pool[r(#pool)] end
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

-- Whether a and b have the same structure: one-to-one between tables.
local function same(a, b, map, back)
  if type(a) ~= type(b) then return false end
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
end

function TestRoundTrip.test_each_generated_value_survives_a_round_trip()
  local r = rng(20261125)
  for i = 1, 200 do
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
