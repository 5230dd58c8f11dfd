-- graphs.lua: random value graphs for the random testers, and a structural
-- comparison: scalars of every subtype, binary strings, shared tables,
-- cycles, metatables, closures sharing upvalues, chains of closures and
-- functions in tables, some naming the global GRAPH_STEP (§4, §2).
local graphs = {}

-- A deterministic generator (xorshift), so that a failure can be replayed:
-- r(n) is an integer from 1 to n.
function graphs.rng(seed)
  local x = seed
  return function(n)
    x = x ~ (x << 13); x = x ~ (x >> 7); x = x ~ (x << 17)
    return (x & 0x7fffffff) % n + 1
  end
end

local specials = { 0, -0.0, 1/0, -1/0, 0/0, math.maxinteger, math.mininteger,
                   math.pi, 2^53, -2^63, 5e-324, 0.1, 3.0, -7 }

function graphs.scalar(r)
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
function graphs.closure(up, pair)
  local f = function(v) if v ~= nil then up = v end return up end
  if not pair then return f end
  return { f, function() return up end }
end

-- A chain of 'n' closures, each calling the one it holds as an upvalue
-- (as decorators and middleware build them); with 'named', each adds the
-- global GRAPH_STEP, which must come with it. f() is n, or n * GRAPH_STEP.
function graphs.chain(n, named)
  local f = function() return 0 end
  for _ = 1, n do
    local g = f
    if named then
      f = function() return g() + GRAPH_STEP end
    else
      f = function() return g() + 1 end
    end
  end
  return f
end

-- Values that cross by name: each arrives as the receiver's own, a store
-- holding a token for it on the way.
local named = { string, string.format, math.sqrt, table.concat, utf8 }

-- A value of up to 'depth' levels; 'pool' holds tables made so far, so that
-- some references are shared and some point back to ancestors (cycles).
function graphs.value(r, depth, pool)
  if depth == 0 or r(4) == 1 then return graphs.scalar(r) end
  if #pool > 0 and r(6) == 1 then return pool[r(#pool)] end
  local k = r(12)
  if k == 1 then
    return graphs.closure(graphs.value(r, depth - 1, pool), r(2) == 1)
  end
  if k == 2 then
    return graphs.chain(r(3) == 1 and r(300) or r(40), r(2) == 1)
  end
  if k == 3 then return named[r(#named)] end
  local t = {}
  pool[#pool + 1] = t
  for i = 1, r(5) - 1 do t[i] = graphs.value(r, depth - 1, pool) end
  for _ = 1, r(4) - 1 do
    local key = graphs.scalar(r)
    if key == key then t[key] = graphs.value(r, depth - 1, pool) end  -- no NaN keys
  end
  local mt = r(5) == 1 and graphs.value(r, depth - 1, pool)
  if type(mt) == "table" then setmetatable(t, mt) end
  return t
end

-- The value of seed 'seed', 'depth' levels at most.
function graphs.make(seed, depth)
  return graphs.value(graphs.rng(seed), depth or 4, {})
end

-- Whether a and b have the same structure: one-to-one between tables,
-- functions and the upvalues they share; an _ENV upvalue is the receiver's
-- globals, so it is not compared.
local function same(a, b, map, back)
  if type(a) ~= type(b) then return false end
  if type(a) == "function" and debug.getinfo(a, "S").what == "C" then
    return a == b  -- by name: the receiver's own
  end
  if type(a) == "function" then
    if map[a] ~= nil or back[b] ~= nil then return map[a] == b and back[b] == a end
    map[a], back[b] = b, a
    for i = 1, math.huge do
      local name, va = debug.getupvalue(a, i)
      local nameb, vb = debug.getupvalue(b, i)
      if name ~= nameb then return false end
      if name == nil then return true end
      if name ~= "_ENV" then
        local id, idb = debug.upvalueid(a, i), debug.upvalueid(b, i)
        if map[id] ~= nil or back[idb] ~= nil then
          if map[id] ~= idb or back[idb] ~= id then return false end
        else
          map[id], back[idb] = idb, id
          if not same(va, vb, map, back) then return false end
        end
      end
    end
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

function graphs.same(a, b)
  return same(a, b, {}, {})
end

-- What the chains of closures in 'v' (a graph) return, sorted: a chain
-- copied must still run, and give what it gave.
function graphs.calls(v)
  local seen, out = {}, {}
  local function walk(x)
    if seen[x] ~= nil or (type(x) ~= "function" and type(x) ~= "table") then
      return
    end
    seen[x] = true
    if type(x) == "function" then
      if debug.getupvalue(x, 1) == "g" then out[#out + 1] = x() end
      return
    end
    for k, y in next, x do walk(k); walk(y) end
    walk(getmetatable(x))
  end
  walk(v)
  table.sort(out)
  return out
end

return graphs
