-- plainlua_spec.lua: a job's state is plain Lua 5.4 (§1, §6): each chunk of
-- spec/plain/ prints the same in lua5.4, in a job, in a pool task and in
-- the luajobs interpreter (its command line: cli_spec.lua).
local lu = require "luaunit"
local helpers = require "helpers"
local jobs = require "jobs"

local LUA = os.getenv("LUA_TEST_EXE") or "lua5.4"
local LUAJOBS = os.getenv("LUAJOBS_EXE")

-- Runs the chunk 'code' as "=chunk", with print collecting what it prints,
-- and returns that: the same code in every place.
local RUNNER = [[
local code = ...
local buf = {}
print = function(...)
  local t = table.pack(...)
  for i = 1, t.n do t[i] = tostring(t[i]) end
  buf[#buf + 1] = table.concat(t, "\t") .. "\n"
end
assert(load(code, "=chunk"))()
return table.concat(buf)
]]

local readfile = helpers.readfile

-- The chunks' names, from the folder beside this file.
local function chunks()
  local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
  local names = {}
  local ls = assert(io.popen("ls " .. dir .. "/plain"))
  for name in ls:lines() do
    if name:match("%.lua$") then names[#names + 1] = dir .. "/plain/" .. name end
  end
  ls:close()
  return names
end

-- What differs by place and by run, masked: addresses, and the frames of a
-- traceback below the chunk's main function (the runner, the job).
local function masked(s)
  s = s:gsub("0x%x+", "ADDR")
  local n
  repeat  -- a line at a time: Lua's patterns repeat no group
    s, n = s:gsub("(\tchunk:%d+: in main chunk\n)\t[^\n]*\n", "%1")
  until n == 0
  return s
end

-- What the chunk 'code' prints run by the interpreter 'exe', in a fresh
-- process.
local function inprocess(exe, code)
  local main = helpers.tmpfile(("io.write(assert(load(%q, '=runner'))(io.read('a')))")
                               :format(RUNNER))
  local input = helpers.tmpfile(code)
  local p = assert(io.popen(("'%s' %s < %s 2>&1"):format(exe, main, input)))
  local out = p:read("a")
  p:close()
  os.remove(main)
  os.remove(input)
  return out
end

local runner = assert(load(RUNNER, "=runner"))

local function injob(code)
  local ok, out = jobs.new(runner, code):wait()
  return ok and out or "job error: " .. tostring(out)
end

local function intask(pool, code)
  local ok, out = pool:submit(runner, code):wait()
  return ok and out or "task error: " .. tostring(out)
end

TestPlainLua = {}

function TestPlainLua.test_every_chunk_prints_the_same_in_a_job_a_task_and_luajobs_as_in_lua()
  local pool <close> = jobs.pool{ size = 1 }  -- joined as the test ends
  local names = chunks()
  lu.assertTrue(#names >= 10)
  local differ = {}
  for _, path in ipairs(names) do
    local code = readfile(path)
    local want = masked(inprocess(LUA, code))
    local places = { ["a job"] = injob,
                     ["a pool task"] = function(c) return intask(pool, c) end }
    if LUAJOBS then
      places.luajobs = function() return inprocess(LUAJOBS, code) end
    end
    for place, run in pairs(places) do
      local got = masked(run(code))
      if got ~= want then
        differ[#differ + 1] = ("%s in %s:\n-- lua5.4:\n%s-- %s:\n%s")
                              :format(path, place, want, place, got)
      end
    end
  end
  lu.assertEquals(#differ, 0, table.concat(differ, "\n"))
end

os.exit(lu.LuaUnit.run(), true)
