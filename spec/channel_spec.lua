-- channel_spec.lua: channels shared by jobs, their blocking and closing (§6).
local lu = require "luaunit"
local jobs = require "jobs"

local UNCOPYABLE = require("helpers").uncopyable

TestChannel = {}

function TestChannel.test_values_come_out_in_order_as_copies()
  local ch = jobs.channel()
  local t = { 1, { 2 } }
  ch:push(1, "two", t)
  ch:push(nil)
  lu.assertEquals(#ch, 2)
  local a, b, c = ch:pop()
  lu.assertEquals({ a, b, c }, { 1, "two", { 1, { 2 } } })
  lu.assertNotIs(c, t)
  lu.assertEquals(select("#", ch:pop()), 1)
  lu.assertEquals(#ch, 0)
end

function TestChannel.test_pop_times_out_with_nil()
  local ch = jobs.channel()
  lu.assertEquals({ ch:pop(0.01) }, { nil, "timeout" })
  lu.assertEquals({ ch:pop(0) }, { nil, "timeout" })
end

function TestChannel.test_closed_channel_drains_then_pops_nil_and_refuses_pushes()
  local ch = jobs.channel()
  ch:push("last")
  ch:close()
  lu.assertEquals(ch:pop(), "last")
  lu.assertEquals({ ch:pop() }, { nil, "closed" })
  lu.assertErrorMsgContains("push to a closed channel", ch.push, ch, 1)
end

function TestChannel.test_close_wakes_a_blocked_pop()
  local ch = jobs.channel()
  local waiter = jobs.new(function(ch) return ch:pop() end, ch)
  ch:close()
  lu.assertEquals({ waiter:wait(10) }, { true, nil, "closed" })
end

function TestChannel.test_bounded_producer_and_consumer_jobs()
  local ch, results = jobs.channel(4), jobs.channel()
  local producer = jobs.new(function(ch)
    for i = 1, 1000 do ch:push(i) end
    ch:close()
  end, ch)
  local consumer = jobs.new(function(ch, results)
    local sum, most = 0, 0
    while true do
      local v = ch:pop()
      if v == nil then break end
      sum, most = sum + v, math.max(most, #ch)
    end
    results:push(sum, most)
  end, ch, results)
  lu.assertEquals({ producer:wait(30) }, { true })
  lu.assertEquals({ consumer:wait(30) }, { true })
  local sum, most = results:pop(10)
  lu.assertEquals(sum, 500500)
  lu.assertTrue(most <= 4)  -- never more queued than the capacity
end

function TestChannel.test_push_blocks_while_full()
  local ch = jobs.channel(1)
  ch:push("a")
  local pusher = jobs.new(function(ch) ch:push("b") return "pushed" end, ch)
  lu.assertEquals({ pusher:wait(0.05) }, { nil, "timeout" })  -- still blocked
  lu.assertEquals(ch:pop(), "a")
  lu.assertEquals({ pusher:wait(10) }, { true, "pushed" })
  lu.assertEquals(ch:pop(), "b")
end

function TestChannel.test_cancel_wakes_a_job_blocked_on_a_channel()
  local empty, full = jobs.channel(), jobs.channel(1)
  full:push(0)
  local popper = jobs.new(function(c) return c:pop() end, empty)
  local pusher = jobs.new(function(c) c:push(1) end, full)
  popper:cancel()
  pusher:cancel()
  lu.assertEquals({ popper:wait(10) }, { false, "cancelled" })
  lu.assertEquals({ pusher:wait(10) }, { false, "cancelled" })
  lu.assertEquals(#full, 1)
end

function TestChannel.test_channels_are_shared_by_reference()
  local ch = jobs.channel()
  local j = jobs.new(function(ch) ch:push("from the job") return ch end, ch)
  local _, back = j:wait(10)
  lu.assertEquals(back, ch)  -- another userdata, the same channel
  lu.assertEquals(ch:pop(), "from the job")
  ch:push(ch)
  lu.assertEquals(ch:pop(), ch)
end

function TestChannel.test_channel_outlives_the_job_that_made_it()
  local j = jobs.new(function()
    local c = require("jobs").channel()
    c:push("kept", string.format)
    return c
  end)
  local _, c = j:wait(10)
  collectgarbage()
  local s, f = c:pop()
  lu.assertEquals(s, "kept")
  lu.assertIs(f, string.format)
end

-- A module crosses by name: into the channel, required there with the
-- creator's paths, and out again as the receiver's own module.
function TestChannel.test_a_module_on_the_creators_path_crosses_by_name()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir " .. dir))
  local f = assert(io.open(dir .. "/chanmod.lua", "w"))
  f:write("return { answer = 42, twice = function(x) return 2 * x end }")
  f:close()
  local saved = package.path
  package.path = dir .. "/?.lua;" .. saved
  local mod = require "chanmod"
  local ch, tojob = jobs.channel(), jobs.channel()
  local j = jobs.new(function(ch)  -- its state requires its own chanmod
    local m = ch:pop()
    return m == require("chanmod"), m.answer
  end, tojob)
  package.path = saved
  ch:push(mod, mod.twice, string.format)
  local m, twice, fmt = ch:pop()
  lu.assertIs(m, mod)
  lu.assertEquals(twice(4), 8)
  lu.assertIs(fmt, string.format)
  tojob:push(mod)
  lu.assertEquals({ j:wait(10) }, { true, true, 42 })
  package.loaded.chanmod = nil
  os.remove(dir .. "/chanmod.lua")
  os.remove(dir)
end

-- Pushes and pops at once keep each pusher's order, however the channel
-- hands its values from the pushing end to the popping one.
function TestChannel.test_values_keep_their_order_while_both_ends_work()
  for _, capacity in ipairs({ 3, 1000, false }) do
    local ch = capacity and jobs.channel(capacity) or jobs.channel()
    local n = 20000
    for p = 1, 2 do
      jobs.new(function(ch, p, n)
        for i = 1, n do ch:push(p, { i }) end
      end, ch, p, n)
    end
    local last, bad = { 0, 0 }, 0
    for _ = 1, 2 * n do
      local p, t = ch:pop(30)
      if t[1] ~= last[p] + 1 then bad = bad + 1 end
      last[p] = t[1]
    end
    lu.assertEquals({ bad, last[1], last[2] }, { 0, n, n }, tostring(capacity))
  end
end

function TestChannel.test_uncopyable_values_are_refused_and_nothing_is_lost()
  local ch = jobs.channel()
  ch:push(1)
  lu.assertErrorMsgEquals("cannot copy userdata (FILE*) at argument 3.f" .. UNCOPYABLE,
    ch.push, ch, 2, { f = io.stdout })
  lu.assertEquals(#ch, 1)
  lu.assertEquals(ch:pop(), 1)
  lu.assertErrorMsgContains("bad argument #1 to 'push' (value expected)",
    function() ch:push() end)
  lu.assertErrorMsgContains("positive capacity expected", jobs.channel, 0)
end

-- However many jobs push and pop at once, #ch never exceeds the capacity,
-- a pop without a timeout returns an item or nil, "closed", and every item
-- pushed is popped once.
function TestChannel.test_many_pushers_and_poppers_keep_both_promises()
  for _, capacity in ipairs({ 1, 2, 16, false }) do
    local ch = capacity and jobs.channel(capacity) or jobs.channel()
    local pushers, poppers = {}, {}
    for p = 1, 6 do
      pushers[p] = jobs.new(function(ch, p, cap)
        local over = 0
        for i = 1, 300 do
          ch:push(p * 1000 + i)
          if cap and #ch > cap then over = over + 1 end
        end
        return over
      end, ch, p, capacity)
    end
    for q = 1, 6 do
      poppers[q] = jobs.new(function(ch, cap)
        local n, sum, over, bad = 0, 0, 0, nil
        while true do
          local v, err = ch:pop()
          if cap and #ch > cap then over = over + 1 end
          if v == nil then
            if err ~= "closed" then bad = err end
            return n, sum, over, bad
          end
          n, sum = n + 1, sum + v
        end
      end, ch, capacity)
    end
    for p = 1, 6 do lu.assertEquals({ pushers[p]:wait(60) }, { true, 0 }) end
    ch:close()
    local n, sum = 0, 0
    for q = 1, 6 do
      local ok, pn, psum, over, bad = poppers[q]:wait(60)
      lu.assertTrue(ok, tostring(pn))
      lu.assertEquals({ over, bad }, { 0, nil }, tostring(capacity))
      n, sum = n + pn, sum + psum
    end
    lu.assertEquals({ n, sum }, { 1800, 6 * 300 * 301 / 2 + 300 * 1000 * 21 })
  end
end

-- Jobs in line, each popping one item: as many get one as were pushed, the
-- rest "closed", none a timeout it never asked for.
function TestChannel.test_jobs_popping_one_each_get_an_item_or_closed()
  local m, g = jobs.manager(), jobs.channel()
  m.config{ max_threads = 50 }
  local list = {}
  for i = 1, 1000 do list[i] = m.new(function(g) return g:pop() end, g) end
  for i = 1, 500 do g:push(i) end
  g:close()
  local got, closed, sum = 0, 0, 0
  for i = 1, 1000 do
    local ok, v, err = list[i]:wait(60)
    lu.assertTrue(ok)
    if v ~= nil then got, sum = got + 1, sum + v
    else lu.assertEquals(err, "closed") closed = closed + 1 end
  end
  lu.assertEquals({ got, closed, sum }, { 500, 500, 500 * 501 / 2 })
end

os.exit(lu.LuaUnit.run(), true)
