-- jobs.lua: the Lua half of luajobs, run once per state over the C core.
-- Owns the manager's bookkeeping; the core (src/) runs and copies jobs.

local core = ...

-- A manager numbers its jobs 1, 2, 3 ..., never reusing a number.
local function manager()
  local count = 0
  local function number()
    count = count + 1
    return count
  end
  local new, spawn = core.newjob(number)
  return {
    new = new,
    spawn = spawn,
    sleep = core.sleep,
    cancelled = core.cancelled,
    self = core.self,
    progress = core.progress,
    channel = core.channel,
    poll = core.poll,
    fd = core.fd,
    version = core.version,
  }
end

return manager()
