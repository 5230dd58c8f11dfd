-- mod_luajobs_demo.lua: luajobs in Prosody, a host with an event loop that
-- watches descriptors: jobs.fd() is watched there, and each job's result
-- comes back as a util.promise, which Prosody's HTTP server waits on.
--   GET /luajobs_demo/ping        answered at once, jobs or not
--   GET /luajobs_demo/fib?n=30    a job's result
--   GET /luajobs_demo/pool?n=30   the same in a pool whose states load fibmod
--   GET /luajobs_demo/busy?n=8    starts n CPU-bound jobs, until
--   GET /luajobs_demo/running     how many of them run
--   GET /luajobs_demo/release     ends them
--   GET /luajobs_demo/drained     once they have ended: how many run
--   GET /luajobs_demo/spin?mark=F a job that runs until Prosody stops;
--                                 cancelled, it writes "cancelled" in F
--                                 (fibmod.spin)
local jobs = require "jobs"
local server = require "net.server"
local promise = require "util.promise"

module:depends("http")
-- Prosody closes its state as it stops (os.exit(code, true)): cancel
-- the jobs still running rather than wait for them.
jobs.config{ at_close = "cancel" }

-- Each time jobs.fd() turns readable, jobs.poll() runs the on_done
-- callbacks of the jobs that ended.
local watch = server.watchfd(jobs.fd(), function() jobs.poll() end)
function module.unload() watch:close() end

local pool = jobs.pool{ size = 2, init = function() fibmod = require "fibmod" end }
local stop, busy = jobs.channel(), {}

local function running()
  local n = 0
  for _, j in ipairs(busy) do
    if j.status == "running" then n = n + 1 end
  end
  return n
end

-- A promise of the job's first result (as text), rejected if it fails.
local function settled(job)
  return promise.new(function(resolve, reject)
    job:on_done(function(j)
      if j.status == "completed" then resolve(tostring(j.result) .. "\n")
      else reject(tostring(j.error)) end
    end)
  end)
end

local function fib(n)
  if n < 2 then return n end
  return fib(n - 1) + fib(n - 2)
end

local function number(event, name, default)
  local q = event.request.url.query or ""
  return tonumber(q:match(name .. "=(%d+)")) or default
end

module:provides("http", {
  route = {
    ["GET /ping"] = function() return "pong\n" end,
    ["GET /fib"] = function(event) return settled(jobs.new(fib, number(event, "n", 20))) end,
    ["GET /pool"] = function(event)
      return settled(pool:submit(function(n) return fibmod.fib(n) end, number(event, "n", 20)))
    end,
    ["GET /busy"] = function(event)
      local n = number(event, "n", 8)
      for _ = 1, n do
        busy[#busy + 1] = jobs.new(function(stop)  -- spins until told
          local x = 0
          while stop:pop(0) == nil do x = x + 1 end
          stop:push(true)  -- passes the word on
        end, stop)
      end
      return ("%d running\n"):format(n)
    end,
    ["GET /running"] = function() return running() .. "\n" end,
    ["GET /release"] = function() stop:push(true) return "released\n" end,
    ["GET /drained"] = function()
      return promise.all_settled((function()
        local each = {}
        for i, j in ipairs(busy) do each[i] = settled(j) end
        return each
      end)()):next(function() return running() .. "\n" end)
    end,
    ["GET /spin"] = function(event)  -- for the tests: blocks until it runs
      local ready = jobs.channel()
      jobs.new(require("fibmod").spin, (event.request.url.query or ""):match("mark=([^&]+)"), ready)
      ready:pop(5)
      return "spinning\n"
    end,
  },
})
