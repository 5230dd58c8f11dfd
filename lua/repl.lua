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

-- How many jobs the end of the session waits for: all those of the state
-- still unfinished (of any manager, and pools' tasks) but daemons, which
-- it cancels.
function repl.awaited()
  local n, daemons = jobs.unfinished()
  return n - daemons
end

-- Waits a while for them, 'seconds' at most; returns whether all ended.
function repl.await(seconds)
  if repl.awaited() == 0 then return true end
  for _, job in ipairs(jobs.list()) do
    if not job.done and not job.daemon then
      job:wait(seconds)
      return false
    end
  end
  jobs.sleep(seconds)  -- pools' tasks, other managers' jobs
  return false
end

-- Cancels them (a Ctrl-C while waiting): the default manager's now, and
-- every other as the state closes.
function repl.cancel()
  jobs.cancel_all()
  jobs.config{ at_close = "cancel" }
end

return repl
