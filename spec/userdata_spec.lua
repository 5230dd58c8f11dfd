-- userdata_spec.lua: userdata crosses only by opting in through jobs.h (§4).
local lu = require "luaunit"
local jobs = require "jobs"

local UNCOPYABLE = require("helpers").uncopyable
local counter = require "counter"  -- examples/counter.c: shared by reference

TestUserdata = {}

function TestUserdata.test_opted_in_userdata_is_shared_by_reference()
  local c = counter.new(10)
  local j = jobs.new(function(c) c:add(5) return c:get() end, c)
  lu.assertEquals({ j:wait(10) }, { true, 15 })
  lu.assertEquals(c:get(), 15)
end

function TestUserdata.test_jobs_in_parallel_update_one_counter()
  local c = counter.new()
  local list = {}
  for i = 1, 4 do list[i] = jobs.new(function(c) for _ = 1, 1000 do c:add() end end, c) end
  for i = 1, 4 do list[i]:wait(30) end
  lu.assertEquals(c:get(), 4000)
end

-- Only a jobs_Copyable made for the purpose opts in: any other light
-- userdata under __jobs_copy (one of debug.upvalueid's) is no protocol.
function TestUserdata.test_a_forged_opt_in_is_refused_not_called()
  local meta = getmetatable(io.stdout)
  local x = 0
  meta.__jobs_copy = debug.upvalueid(function() return x end, 1)
  local ok, err = pcall(jobs.new, function(f) return f end, io.stdout)
  meta.__jobs_copy = nil
  lu.assertFalse(ok)
  lu.assertStrContains(err, "cannot copy userdata")
  lu.assertStrContains(err, "at argument 1")
end

function TestUserdata.test_userdata_comes_back_from_a_job()
  local j = jobs.new(function() local c = require("counter").new(7) c:add() return c end)
  local _, c = j:wait(10)
  lu.assertEquals(c:get(), 8)
  lu.assertEquals(getmetatable(c).__name, "counter.Counter")
end

function TestUserdata.test_userdata_reached_twice_arrives_once()
  local c = counter.new()
  local j = jobs.new(function(a, t) return rawequal(a, t.c) end, c, { c = c })
  lu.assertEquals({ j:wait(10) }, { true, true })
end

-- Other userdata is an error naming its type (its metatable's __name),
-- the path, and what to do (SPEC §4).
function TestUserdata.test_other_userdata_is_an_error_naming_type_path_and_remedy()
  lu.assertErrorMsgEquals("cannot copy userdata (FILE*) at argument 2.conn" .. UNCOPYABLE,
    jobs.new, function() end, 1, { conn = io.stdout })
  local j = jobs.new(function() return { file = io.stderr } end)
  lu.assertEquals({ j:wait(10) },
                  { false, "cannot copy userdata (FILE*) at result 1.file" .. UNCOPYABLE })
end

function TestUserdata.test_counter_outlives_the_state_that_made_it()
  local j = jobs.new(function() return require("counter").new(1) end)
  local _, c = j:wait(10)  -- the job's state is closed by now
  collectgarbage()
  lu.assertEquals(c:add(), 2)
end

os.exit(lu.LuaUnit.run(), true)
