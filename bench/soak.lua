-- soak.lua: one soak row of bench/run.lua, in a process of its own, so
-- that its resident memory is its own: 'jobs', 'wait', 'tasks', 'channel'
-- print the RSS in bytes after 100,000, 500,000 and 1,000,000 jobs, tasks
-- or messages, a line each; 'kept' prints what a finished job kept by a
-- manager costs, in bytes. Nothing here calls the collector but 'kept',
-- before and after it counts.
local jobs = require "jobs"

local function rss()
  local f = assert(io.open("/proc/self/status"))
  local status = f:read("a")
  f:close()
  return tonumber(status:match("VmRSS:%s*(%d+)")) * 1024
end

local row, n = arg[1], 1000000
local marks = { [100000] = true, [500000] = true, [1000000] = true }
local f = function(i) return i end

local function mark(count)
  if marks[count] then print(count, rss()) end
end

if row == "jobs" or row == "wait" then  -- batches of 1,000, flushed
  local m = jobs.manager()
  for b = 1, n // 1000 do
    local list = {}
    for i = 1, 1000 do list[i] = m.new(f, i) end
    if row == "jobs" then
      m.wait_all()
    else
      for i = 1, 1000 do list[i]:wait() end
    end
    m.flush()
    mark(b * 1000)
  end
elseif row == "tasks" then
  local p = jobs.pool{}
  for b = 1, n // 1000 do
    local list = {}
    for i = 1, 1000 do list[i] = p:submit(f, i) end
    for i = 1, 1000 do list[i]:wait() end
    mark(b * 1000)
  end
  p:close()
elseif row == "channel" then  -- from one job to another
  local ch, ticks = jobs.channel(1000), jobs.channel()
  jobs.new(function(ch, n) for i = 1, n do ch:push({ i, "x" }) end end, ch, n)
  local consumer = jobs.new(function(ch, ticks, n)
    for i = 1, n do
      ch:pop()
      if i % 100000 == 0 then ticks:push(i) end
    end
  end, ch, ticks, n)
  for _ = 1, n // 100000 do mark(ticks:pop()) end
  assert(consumer:wait())
elseif row == "kept" then
  local m, kept = jobs.manager(), 100000
  collectgarbage()
  local before = rss()
  for i = 1, kept do
    m.new(f, i)
    if i % 1000 == 0 then m.wait_all() end
  end
  m.wait_all()
  collectgarbage()
  print((rss() - before) / kept)
else
  error("soak.lua: no row " .. tostring(row))
end
