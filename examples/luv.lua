-- luv.lua: jobs on a luv loop. Three jobs sleep while a timer ticks; their
-- on_done callbacks run from the loop, a coroutine awaits a fourth, and
-- uv.run() returns once the work is done.
local jobs = require "jobs"
local uv = require "luv"
local jobsluv = require "jobs.luv"

jobsluv.start()
for i = 1, 3 do
  jobs.new(function(i) require("jobs").sleep(0.1 * i) return i * i end, i)
    :on_done(function(job) print("job " .. job.num .. " done:", job.result) end)
end
local ticks = 0
local timer = uv.new_timer()
timer:start(50, 50, function()
  ticks = ticks + 1
  if ticks == 4 then timer:close() end
end)
coroutine.wrap(function()
  local ok, answer = jobsluv.await(jobs.new("jobs.sleep(0.4) return 42"))
  print("awaited:", ok, answer)
end)()
uv.run()
print("the loop ticked " .. ticks .. " times while the jobs ran")
