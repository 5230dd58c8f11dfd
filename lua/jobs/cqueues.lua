-- jobs/cqueues.lua: waiting for jobs in cqueues coroutines (SPEC §11)
-- without blocking the controller's other coroutines.
local jobs = require "jobs"

local M = {}

local cqueues, condition, polled
local fd = { events = "r" }  -- jobs.fd(), as cqueues polls it

-- await(job [, seconds]) in a cqueues coroutine: returns what
-- job:wait([seconds]) does. Every awaiting coroutine polls jobs.fd() and a
-- condition: the one that drains the fd (jobs.poll) signals the others.
function M.await(job, seconds)
  if not cqueues then
    cqueues = require "cqueues"
    condition = require "cqueues.condition"
    polled = condition.new()
    fd.pollfd = jobs.fd()
  end
  local deadline = seconds and cqueues.monotime() + seconds
  while not job.done do
    local left = deadline and deadline - cqueues.monotime()
    if left and left <= 0 then return nil, "timeout" end
    if cqueues.poll(fd, polled, left) == fd then
      jobs.poll()
      polled:signal()
    end
  end
  return job:wait()
end

return M
