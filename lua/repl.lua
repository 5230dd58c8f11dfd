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

-- The default manager's jobs that the end of the session waits for.
function repl.awaited()
  local count = 0
  for _, job in ipairs(jobs.list()) do
    if not job.done and not job.daemon then count = count + 1 end
  end
  return count
end

return repl
