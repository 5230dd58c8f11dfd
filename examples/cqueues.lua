-- cqueues.lua: jobs awaited in cqueues coroutines. Three coroutines await a
-- job each while a fourth ticks: none blocks the others, and cq:loop()
-- returns once all are done.
local jobs = require "jobs"
local cqueues = require "cqueues"
local jobscq = require "jobs.cqueues"

local cq = cqueues.new()
for i = 1, 3 do
  cq:wrap(function()
    local ok, result = jobscq.await(jobs.new(function(i)
      require("jobs").sleep(0.1 * i) return i * i end, i))
    print("job " .. i .. " done:", ok, result)
  end)
end
local ticks = 0
cq:wrap(function()
  for _ = 1, 4 do cqueues.sleep(0.05) ticks = ticks + 1 end
end)
assert(cq:loop())
print("the controller ticked " .. ticks .. " times while the jobs ran")
