-- luajobs.lua: luajobs in HAProxy (one built on Lua 5.4: see doc/hosts.md),
-- a host whose Lua may sleep (core.msleep) but not watch a descriptor: a
-- request's service awaits its job between sleeps, and a task dispatches
-- on_done callbacks. Not run by the tests (Debian 12's haproxy is built on
-- Lua 5.3); spec/await_spec.lua runs the same pattern in a stand-in host.
--   GET /fib?n=30   a job's result, or 504 after 5 seconds
local jobs = require "jobs"

-- HAProxy closes this state as it stops: cancel what still runs.
jobs.config{ at_close = "cancel" }

-- jobs.await sleeps in seconds; core.msleep in milliseconds, yielding to
-- HAProxy's scheduler meanwhile.
local function sleep(s)
  core.msleep(math.max(1, math.ceil(s * 1000)))
end

-- The on_done callbacks run here, in a task of their own.
core.register_task(function()
  while true do
    jobs.poll()
    core.msleep(20)
  end
end)

local function fib(n)
  if n < 2 then return n end
  return fib(n - 1) + fib(n - 2)
end

core.register_service("fib", "http", function(applet)
  local n = tonumber((applet.qs or ""):match("n=(%d+)")) or 20
  local job = jobs.new(fib, n)
  local ok, res = jobs.await(job, sleep, 5)
  if ok == nil then job:cancel() end  -- its budget is spent
  local body = (ok and tostring(res) or "error: " .. tostring(res)) .. "\n"
  applet:set_status(ok and 200 or (ok == nil and 504 or 500))
  applet:add_header("content-length", tostring(#body))
  applet:start_response()
  applet:send(body)
end)
