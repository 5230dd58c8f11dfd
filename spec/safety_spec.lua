-- safety_spec.lua: ordinary programs never crash the process: closure
-- chains, objects used after their finalizer, user tables that look like
-- internal records, a reloaded module, out of memory on a pool's thread,
-- deep values on a small C stack (SPEC §2, §4, §6, §10).
local lu = require "luaunit"
local jobs = require "jobs"
local helpers = require "helpers"

-- Runs 'script' in a fresh interpreter (with 'shell' before it, as
-- "ulimit -s 128; "), asserting it exits 0; returns what it printed.
local function runs(script, shell)
  local exe = os.getenv("LUA_TEST_EXE") or "lua5.4"
  local file = helpers.tmpfile(script)
  local p = assert(io.popen((shell or "") .. "timeout 60 " .. exe .. " " ..
                            file .. " 2>&1"))
  local out = p:read("a")
  local ok, _, code = p:close()
  os.remove(file)
  lu.assertTrue(ok, ("exit %s:\n%s"):format(tostring(code), out))
  return out
end

local chain = require("graphs").chain  -- 'named': each adds GRAPH_STEP

TestClosureChains = {}

function TestClosureChains.test_a_chain_of_closures_runs_in_a_job()
  for _, n in ipairs({ 22, 32, 60, 199, 200, 201, 400 }) do
    lu.assertEquals({ jobs.new(chain(n)):wait(10) }, { true, n })
  end
end

function TestClosureChains.test_every_closure_of_a_deep_chain_gets_its_names()
  GRAPH_STEP = 2
  for _, n in ipairs({ 22, 60, 250, 400 }) do
    lu.assertEquals({ jobs.new(chain(n, true)):wait(10) }, { true, 2 * n })
  end
  GRAPH_STEP = nil
end

function TestClosureChains.test_a_chain_as_an_argument_and_in_a_pool()
  local p = jobs.pool { size = 1 }
  lu.assertEquals({ p:submit(chain(100, false)):wait(10) }, { true, 100 })
  lu.assertEquals({ jobs.new(function(f) return f() end, chain(300)):wait(10) },
                  { true, 300 })
  p:close()
end

-- Each kind of object, used by a finalizer that Lua runs after the
-- object's own: at the end of the script (newest first) and explicitly.
local AFTER = [[
-- The module itself, required again and used by a finalizer that runs
-- after the hub's: this object is older than the module.
early = setmetatable({}, { __gc = function()
  local j = require("jobs")
  local ok, err = pcall(function() return j.new("return 1"):wait() end)
  io.write("module ", tostring(ok), " ", tostring(err), "\n")
  for _, f in ipairs({ "poll", "fd", "unfinished", "pool", "manager" }) do
    io.write(f, " ", tostring((pcall(j[f]))), "\n")
  end
end })
local jobs = require "jobs"
local C = {}
C.__gc = function(self)
  local ok, err = pcall(self.use, self.obj)
  io.write(self.what, " ", tostring(ok), " ", tostring(err), "\n")
end
local function make(what, new, use)
  local holder = setmetatable({ what = what, use = use }, C)  -- marked first
  holder.obj = new()                                         -- finalized first
  return holder
end
keep = {
  make("channel", function() return jobs.channel() end,
       function(ch) ch:push("bye"); return ch:pop() end),
  make("job", function() return jobs.new("return 1") end,
       function(j) return j:wait() end),
  make("result", function() return jobs.new("return 1") end,
       function(j) return j.result, j.status end),
  make("pool", function() return jobs.pool{ size = 1 } end,
       function(p) return p:submit("return 1"):wait() end),
  make("manager", function() return jobs.manager() end,
       function(m) return m.new("return 1"):wait() end),
}
-- The newest object: its finalizer runs first, as the state closes, and
-- starts a job and a task that Lua itself will never finalize.
late_pool = jobs.pool { size = 1 }
late = setmetatable({}, { __gc = function()
  io.write("late ", tostring(jobs.new("return 1"):wait()), " ",
           tostring(late_pool:submit("return 2"):wait()), "\n")
end })
MODE
]]

TestFinalizerOrder = {}

local function finalizers(mode)
  local out = runs((AFTER:gsub("MODE", mode)))
  for _, what in ipairs({ "channel", "job", "result", "pool", "manager",
                          "module" }) do
    lu.assertStrContains(out, what .. " ", false)
  end
  lu.assertNotStrContains(out, "ERROR")
  return out
end

function TestFinalizerOrder.test_objects_used_after_their_finalizer_at_exit()
  local out = finalizers("")
  for _, f in ipairs({ "poll", "fd", "unfinished", "pool", "manager" }) do
    lu.assertStrContains(out, f .. " false\n")
  end
  lu.assertStrContains(out, "late true true")
  lu.assertStrContains(out, "channel false")
  lu.assertStrContains(out, "after its finalizer ran")
  lu.assertStrMatches(out, ".*module false [^\n]*closed.*")
end

function TestFinalizerOrder.test_objects_used_after_their_finalizer_collected()
  local out = finalizers("keep = nil; early = nil; collectgarbage(); " ..
                        "collectgarbage(); print('ok')")
  lu.assertStrContains(out, "module true true")
end

function TestFinalizerOrder.test_a_finalized_job_object_says_so()
  local out = runs([[
local jobs = require "jobs"
local j = jobs.new("return 1")
j:wait()
local gc = getmetatable(j).__gc
print(pcall(gc, j))
print(pcall(j.wait, j))
print(pcall(function() return j.status end))
print(tostring(j))
gc(j)
]])
  lu.assertStrContains(out, "true\n")
  lu.assertStrContains(out, "false\tjob #1 is gone (used after its finalizer ran)")
end

function TestFinalizerOrder.test_a_finalized_channel_says_so()
  local ch, other = jobs.channel(), jobs.channel()
  getmetatable(ch).__gc(ch)
  lu.assertEquals(tostring(ch), "<channel: gone>")
  lu.assertTrue(ch == ch)
  lu.assertFalse(ch == other)
  lu.assertErrorMsgContains("channel is gone (used after its finalizer ran)",
                            ch.push, ch, 1)
  lu.assertErrorMsgContains("cannot copy a channel after its finalizer ran",
                            other.push, other, ch)
  lu.assertErrorMsgContains("cannot copy a channel after its finalizer ran",
                            jobs.new, function(c) return c end, ch)
end

function TestFinalizerOrder.test_a_manager_goes_on_past_a_finalized_job()
  local m = jobs.manager()
  local a, b = m.new("return 1"), m.new("return 2")
  lu.assertEquals({ a:wait(10) }, { true, 1 })
  lu.assertEquals({ b:wait(10) }, { true, 2 })
  getmetatable(a).__gc(a)
  local list = m.list()
  lu.assertEquals(#list, 1)
  lu.assertIs(list[1], b)
  lu.assertEquals(m.flush(), 2)
  lu.assertEquals(#m.list(), 0)
end

TestRecords = {}

function TestRecords.test_a_callable_table_submitted_again_is_called()
  local p = jobs.pool { size = 1 }
  local t = setmetatable({}, { __call = function(_, x) return x * 2 end })
  for i = 1, 4 do
    lu.assertEquals({ p:submit(t, i):wait(10) }, { true, 2 * i })
  end
  local forged = setmetatable({ 1, false, 3, 1 << 40 },
                              { __call = function(self) return #self end })
  for _ = 1, 3 do
    lu.assertEquals({ p:submit(forged):wait(10) }, { true, 4 })
  end
  lu.assertEquals({ p:submit(function() return "other" end):wait(10) },
                  { true, "other" })
  p:close()
end

TestReload = {}

function TestReload.test_a_pool_outlives_a_reload_of_the_module()
  local out = runs([[
local jobs = require "jobs"
local p = jobs.pool { size = 1 }
local m = jobs.manager()
local j = jobs.new("return 5")
package.loaded.jobs = nil
jobs = nil
collectgarbage(); collectgarbage()
local again = require "jobs"
collectgarbage(); collectgarbage()
print(p:submit(function() return 1 end):wait())
print(m.new("return 2"):wait())
print(j:wait())
print(again.new("return 3"):wait())
p:close()
]])
  lu.assertEquals(out, "true\t1\ntrue\t2\ntrue\t5\ntrue\t3\n")
end

TestOutOfMemory = {}

function TestOutOfMemory.test_a_tiny_pool_fails_its_tasks_cleanly()
  for limit = 500, 40000, 500 do
    local p = jobs.pool { size = 1, memory_limit = limit }
    local ok, err = p:submit("1 + 1"):wait(10)
    if ok then
      lu.assertEquals(err, 2)
    else
      lu.assertIsString(err)
      lu.assertNotStrContains(err, "pool init")
    end
    p:close()
  end
end

function TestOutOfMemory.test_a_failing_init_is_named()
  local p = jobs.pool { size = 1, init = "error('no')" }
  local ok, err = p:submit("1"):wait(10)
  lu.assertFalse(ok)
  lu.assertStrContains(err, "pool init")
  p:close()
end

TestSmallStack = {}

-- Nested 'depth' deep, copied into a job and back, on a 128 KiB stack.
local NESTED = [[
local jobs = require "jobs"
local t = {}
for _ = 1, DEPTH do t = { t } end
local ok, err = pcall(function() return jobs.new(function(x) return x end, t):wait() end)
print(ok, err)
local ch = jobs.channel()
print(pcall(ch.push, ch, t))
print(jobs.new("return 1"):wait())
]]

function TestSmallStack.test_deep_values_on_a_small_c_stack_are_errors()
  for _, depth in ipairs({ 100, 600, 900, 999 }) do
    local out = runs((NESTED:gsub("DEPTH", depth)), "ulimit -s 128; ")
    lu.assertStrContains(out, "true\t1\n")
    if not out:match("^true") then
      lu.assertStrContains(out, "nested too deep")
    end
  end
end

os.exit(lu.LuaUnit.run(), true)
