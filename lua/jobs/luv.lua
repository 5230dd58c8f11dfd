-- jobs/luv.lua: luajobs on a luv loop (SPEC §11). The loop watches
-- jobs.fd() and runs jobs.poll(), so on_done callbacks run from the loop;
-- the watch keeps the loop alive only while jobs are unfinished.
local jobs = require "jobs"

local M = {}

local uv, watch, check
local waiting = {}  -- job -> the coroutines awaiting it, in that order

-- Resumes the coroutines whose jobs are done; raises as they do. They are
-- taken out first: a resumed one may await again, adding to 'waiting'.
local function wake()
  local ready = {}
  for job, cos in pairs(waiting) do
    if job.done then
      table.move(cos, 1, #cos, #ready + 1, ready)
      waiting[job] = nil
    end
  end
  for _, co in ipairs(ready) do
    local ok, err = coroutine.resume(co)
    if not ok then error(err, 0) end
  end
end

-- The watch holds the loop only while a job is unfinished or awaited.
local function hold()
  if jobs.unfinished() > 0 or next(waiting) then watch:ref() else watch:unref() end
end

-- start([loop]): watches jobs.fd() on luv's loop (luv has one a state:
-- 'loop' is accepted for the API's sake). Starting twice does nothing.
function M.start(loop)
  local _ = loop
  if watch then return end
  uv = require "luv"
  watch = uv.new_poll(jobs.fd())
  watch:start("r", function()
    jobs.poll()
    wake()
    hold()
  end)
  check = uv.new_prepare()  -- before the loop sleeps: a job started meanwhile
  check:start(hold)
  check:unref()
  hold()
end

-- await(job) in a coroutine run from the loop: yields until the job is
-- done, and returns what job:wait() does.
function M.await(job)
  if not job.done then
    local co, main = coroutine.running()
    assert(co and not main, "jobs.luv.await: call it in a coroutine")
    M.start()
    local cos = waiting[job] or {}
    cos[#cos + 1] = co
    waiting[job] = cos
    hold()
    coroutine.yield()
  end
  return job:wait()
end

return M
