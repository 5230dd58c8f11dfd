-- repl.lua: the job control of the luajobs prompt (src/luajobs.c), over
-- the jobs module: what is said before a prompt, after '&', and at the end.

local jobs = ...
local repl = {}

-- Says, one line each, which jobs finished since the last prompt.
function repl.announce()
  for _, job in ipairs(jobs.poll()) do
    io.stdout:write(jobs.describe(job), "\n")
  end
end

-- Says which job a line ending in '&' started: "[5] fib(32)".
function repl.started(job)
  io.stdout:write("[", job.num, "] ", job.name, "\n")
end

-- The default manager's jobs that the end of the session waits for: the
-- unfinished ones but daemons, which it cancels.
local function awaited()
  local list = {}
  for _, job in ipairs(jobs.list()) do
    if not job.done and not job.daemon then list[#list + 1] = job end
  end
  return list
end

function repl.awaited()
  return #awaited()
end

-- Waits for them, 'seconds' at most for each; returns whether all ended.
function repl.await(seconds)
  for _, job in ipairs(awaited()) do
    if job:wait(seconds) == nil then return false end
  end
  return true
end

return repl
