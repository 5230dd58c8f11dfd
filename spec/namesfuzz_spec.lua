-- namesfuzz_spec.lua: the free names of a string job, against what Lua's
-- own tools read as its globals (§2), over generated chunks full of the
-- lexical corners (line breaks of every kind, escapes, long brackets,
-- comments, fields, methods, keys, shadowing locals, nested functions).
-- FUZZ_RUNS=100000 FUZZ_SEED=7 runs it longer (see README, Tests).
local lu = require "luaunit"
local jobs = require "jobs"
local helpers = require "helpers"

local RUNS = tonumber(os.getenv("FUZZ_RUNS")) or 300
local SEED = tonumber(os.getenv("FUZZ_SEED")) or 1
local LUAC = os.getenv("LUAC") or "luac5.4"

-- The names chunks use; none is a standard library's.
local POOL = { "aa", "bb", "cc", "dd", "ee", "x1", "y2" }

local pick = function(t) return t[math.random(#t)] end

local BLANKS = { " ", "\t", "\n", "\r\n", "\r", "\f", " --c\n", " --c\r",
                 " --[[ aa\r\n ]] ", " --[==[ ]] bb ]==] ", "--\n" }
local STRINGS = { '"aa"', "'bb'", '"a\\z\n   cc"', "'x\\\r\ny'", "'x\\\n\ry'",
                  "[[\r\ndd]]", "[=[ ]] ee ]=]", '"\\u{48}"', '"\\x41\\065"',
                  '"--aa"', "'\\'bb\\''" }
local NUMBERS = { "1", "0x10", "1e+3", "0x1p-2", "3.5", ".5", "7//2" }

local function blank() return math.random() < 0.3 and pick(BLANKS) or " " end

local expr, block

local function name() return pick(POOL) end

function expr(depth)
  local forms = {
    name, function() return pick(STRINGS) end, function() return pick(NUMBERS) end,
    function() return "_ENV." .. name() end,
    function() return name() .. "." .. name() end,
    function() return name() .. blank() .. ":" .. name() .. "()" end,
    function() return "{" .. name() .. blank() .. "=" .. expr(depth + 1) .. "," .. expr(depth + 1) .. "}" end,
    function() return "function(" .. name() .. ")" .. block(depth + 1) .. " return " .. expr(depth + 1) .. " end" end,
    function() return expr(depth + 1) .. blank() .. ".." .. blank() .. expr(depth + 1) end,
    function() return "(" .. expr(depth + 1) .. ")" end,
    function() return name() .. "(" .. expr(depth + 1) .. ")" end,
    function() return "#" .. expr(depth + 1) end,
  }
  return depth > 3 and name() or pick(forms)()
end

local function statement(depth)
  local forms = {
    function() return name() .. blank() .. "=" .. blank() .. expr(depth) end,
    function() return "local " .. name() .. " = " .. expr(depth) end,
    function() return "do" .. block(depth + 1) .. "end" end,
    function() return "if " .. expr(depth) .. " then" .. block(depth + 1) .. "end" end,
    function() return "for " .. name() .. " = 1, 2 do" .. block(depth + 1) .. "end" end,
    function() return "local function " .. name() .. "()" .. block(depth + 1) .. "end" end,
    function() return "function " .. name() .. "()" .. block(depth + 1) .. "end" end,
    function() return name() .. "." .. name() .. " = " .. expr(depth) end,
    function() return name() .. "(" .. expr(depth) .. ")" end,
  }
  return depth > 3 and (name() .. " = 1") or pick(forms)()
end

function block(depth)
  local t = {}
  for i = 1, math.random(0, 3) do t[i] = statement(depth) end
  return blank() .. table.concat(t, blank() .. ";" .. blank()) .. blank()
end

-- The globals of 'src' as luac lists them: keys of GETTABUP and SETTABUP
-- on an upvalue named _ENV (the chunks have no local _ENV).
local function listed(src)
  local file = helpers.tmpfile(src)
  local p = assert(io.popen(LUAC .. " -l -l -p " .. file))
  local names = {}
  for line in p:lines() do
    local key = line:match('[GS]ETTABUP%s.-; _ENV "([^"]*)"')
    if key then names[key] = true end
  end
  p:close()
  os.remove(file)
  return names
end

-- The names a job of 'src' received from this frame, where every name of
-- the pool is a global: what its globals hold beyond a fresh job's.
local function received(src, fresh)
  local wrapped = "local _ = function(...) " .. src .. "\nend " ..
                  "local r = {} for k in next, _G do r[#r + 1] = k end return r"
  local ok, list = jobs.new(wrapped):wait(30)
  assert(ok, list)
  local names = {}
  for _, k in ipairs(list) do if not fresh[k] then names[k] = true end end
  return names
end

TestNamesFuzz = {}

function TestNamesFuzz.test_a_string_job_receives_the_globals_lua_reads()
  local ok, fresh = jobs.new("local r = {} for k in next, _G do r[k] = true end return r"):wait(10)
  assert(ok, fresh)
  for _, n in ipairs(POOL) do _G[n] = n end
  math.randomseed(SEED)
  local tried, valid = 0, 0
  while tried < RUNS do
    local src = block(0)
    tried = tried + 1
    if load(src, "=fuzz", "t") then
      valid = valid + 1
      local want, got = listed(src), received(src, fresh)
      for k in pairs(fresh) do want[k] = nil end
      lu.assertEquals(got, want, ("chunk %d: %q"):format(tried, src))
    end
  end
  for _, n in ipairs(POOL) do _G[n] = nil end
  lu.assertTrue(valid > RUNS / 2, ("only %d of %d chunks were valid Lua"):format(valid, tried))
end

-- Functions anywhere in a job's values (table values, keys, metatables,
-- upvalue tables, cycles) take the globals they name: a random graph of
-- tables holding functions that each read a global, walked and summed by
-- the caller and by a job, must give the same sum (issue 29).
local function gather(root)  -- every function in the graph, once; no global
  local seen, found, todo = {}, {}, { root }
  while #todo > 0 do
    local v = table.remove(todo)
    if type(v) == "function" then
      found[#found + 1] = v
    elseif type(v) == "table" and not seen[v] then
      seen[v] = true
      for k, x in next, v do todo[#todo + 1] = k; todo[#todo + 1] = x end
      todo[#todo + 1] = getmetatable(v)
    end
  end
  local sum = 0
  for _, f in ipairs(found) do sum = sum + f() end
  return sum
end

local function reader(k)  -- a function naming one global
  return assert(load("return function() return fuzz_g" .. k .. " end"))()
end

local function graph(depth, tables)
  local t = {}
  tables[#tables + 1] = t
  for _ = 1, math.random(0, 3) do
    local r = math.random(6)
    if r == 1 then t[#t + 1] = reader(math.random(8))
    elseif r == 2 then t[reader(math.random(8))] = true
    elseif r == 3 and depth < 4 then t[#t + 1] = graph(depth + 1, tables)
    elseif r == 4 and depth < 4 then setmetatable(t, { __index = graph(depth + 1, tables) })
    elseif r == 5 then t.back = tables[math.random(#tables)]  -- a cycle
    else t[#t + 1] = math.random(100) end
  end
  return t
end

function TestNamesFuzz.test_functions_anywhere_in_the_values_take_their_names()
  math.randomseed(SEED)
  for k = 1, 8 do _G["fuzz_g" .. k] = k * 10 end
  for run = 1, math.max(1, RUNS // 3) do
    local g = graph(1, {})
    local held = math.random(2) == 1 and g or nil  -- as an upvalue, or as the argument
    local f = held and function() return gather(held) end or gather
    local ok, got = jobs.new(f, g):wait(60)
    lu.assertEquals({ ok, got }, { true, gather(g) }, ("run %d, seed %d"):format(run, SEED))
  end
  for k = 1, 8 do _G["fuzz_g" .. k] = nil end
end

os.exit(lu.LuaUnit.run(), true)
