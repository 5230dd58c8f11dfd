-- stores_spec.lua: no code of the user's ever runs in the states where
-- channels and pools keep their values (SPEC §6): no finalizer, no
-- metamethod, no module's body.
local lu = require "luaunit"
local jobs = require "jobs"
local helpers = require "helpers"

-- A table whose finalizer pushes 'tag' to the channel 'ran', wherever it
-- runs: each copy that is finalized says so once.
local function finalized(ran, tag)
  return setmetatable({ tag = tag }, {
    __gc = function(t) ran:push(t.tag) end,
  })
end

-- Runs 'work' (its locals gone as it returns), then collects until
-- nothing more is finalized; returns how many times 'ran' heard of a
-- finalizer.
local function count(ran, work)
  work()
  for _ = 1, 4 do collectgarbage() end
  return #ran
end

TestStores = {}

-- Before: the channel's store kept a copy with the metatable, and finalized
-- it there (on the owner's thread, under the channel's lock) as the store
-- collected it or closed: three finalizers ran for two copies.
function TestStores.test_a_finalizer_runs_for_the_copies_a_program_has_only()
  local ran = jobs.channel()
  lu.assertEquals(count(ran, function()
    local ch = jobs.channel()
    ch:push(finalized(ran, "original"))
    local copy = ch:pop()
    lu.assertEquals(getmetatable(copy).__gc ~= nil, true)
  end), 2)
end

function TestStores.test_a_value_left_in_a_channel_is_not_finalized_there()
  local ran = jobs.channel()
  lu.assertEquals(count(ran, function()
    jobs.channel():push(finalized(ran, "left"))
  end), 1)  -- the original alone
end

-- A pool keeps a task's arguments and its results in its store on the way.
-- Each copy outside the store is tagged where it is; the store's copies
-- keep the tag "store", and the store collects as big tasks go through.
function TestStores.test_a_pool_finalizes_no_argument_or_result_in_its_store()
  local ran = jobs.channel()
  local p = jobs.pool{ size = 1 }
  local arg = finalized(ran, "store")
  local t = p:submit(function(v, ran)
    v.tag = "task"
    KEPT = finalized(ran, "store")
    return KEPT
  end, arg, ran)
  arg.tag = "original"
  local ok, result = t:wait(10)
  result.tag = "owner"
  lu.assertEquals({ ok, getmetatable(result) ~= nil }, { true, true })
  lu.assertEquals({ p:submit("KEPT.tag = 'task'"):wait() }, { true })  -- one state
  for _ = 1, 50 do
    lu.assertEquals({ p:submit(string.len, string.rep("x", 1 << 20)):wait() },
                    { true, 1 << 20 })
  end
  p:close()
  arg, result, t = nil, nil, nil
  collectgarbage()
  local tags = {}
  while #ran > 0 do tags[ran:pop()] = true end
  lu.assertEquals(tags.store, nil)
  lu.assertEquals({ tags.original, tags.owner }, { true, true })
end

-- A metatable's modes hold in the states a program has, never in a store:
-- a weak table waiting in a channel keeps what its sender held.
function TestStores.test_a_weak_table_loses_nothing_while_it_waits()
  local ch = jobs.channel()
  local held = { "kept" }
  ch:push(setmetatable({ held }, { __mode = "v" }))
  for _ = 1, 50 do ch:push(string.rep("x", 1 << 20)) end  -- the store collects
  collectgarbage("stop")
  local weak = ch:pop()
  local first, mode = weak[1], getmetatable(weak).__mode
  collectgarbage("restart")  -- before any assertion fails
  lu.assertEquals(first, { "kept" })
  lu.assertEquals(mode, "v")
end

-- A module crossing by name is required by the state that receives it,
-- never by the store it waits in.
function TestStores.test_a_module_crossing_by_name_runs_in_no_store()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir " .. dir))
  local log = dir .. "/log"
  local f = assert(io.open(dir .. "/storecounted.lua", "w"))
  f:write(("local f = assert(io.open(%q, 'a')) f:write('x') f:close() "
           .. "return { answer = 42 }"):format(log))
  f:close()
  local saved = package.path
  package.path = dir .. "/?.lua;" .. saved
  local mod = require "storecounted"
  local ch = jobs.channel()
  ch:push(mod, string.format)
  local back, format = ch:pop()
  local j = jobs.new(function(ch) return ch:pop().answer end, ch)
  ch:push(mod)
  lu.assertEquals({ j:wait(10) }, { true, 42 })
  package.path = saved
  package.loaded.storecounted = nil
  lu.assertIs(back, mod)
  lu.assertIs(format, string.format)
  -- here, and in the job that received it
  lu.assertEquals(assert(io.open(log)):read("a"), "xx")
  os.execute("rm -r " .. dir)
end

-- What crosses by name into a store and out again is the receiver's own,
-- as a key, a value, a metatable and an upvalue.
function TestStores.test_names_cross_a_store_in_every_place()
  local ch = jobs.channel()
  local fmt = string.format
  ch:push({ [string.rep] = "key", fmt, setmetatable({}, string) },
          function() return fmt end)
  local t, f = ch:pop()
  lu.assertEquals(t[string.rep], "key")
  lu.assertIs(t[1], string.format)
  lu.assertIs(getmetatable(t[2]), string)
  lu.assertIs(f(), string.format)
end

os.exit(lu.LuaUnit.run(), true)
