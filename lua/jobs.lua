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
  return {
    new = core.newjob(number),
    version = core.version,
  }
end

return manager()
