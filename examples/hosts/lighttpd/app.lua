-- app.lua: luajobs in lighttpd's mod_magnet, a synchronous host: each
-- request runs this script to its end, in a state kept for the worker's
-- life (its globals are not: what outlives a request is kept in a module).
--   GET /fib?n=30    starts a job; its result if done within BUDGET seconds,
--                    else 202 and the job's number, to ask again with
--   GET /job?id=3    the result of job 3, or 202 while it runs
--   GET /pool?n=30   the same computed in a pool whose states load fibmod
--   GET /hold        starts a job that waits for GET /let (and returns
--                    "let go"): one past its budget, for the tests
--   GET /spin?mark=F starts a job that runs until the server stops; as it is
--                    cancelled, its <close> handler writes "cancelled" in F
--                    (fibmod.spin)
local jobs = require "jobs"

local BUDGET = 0.2  -- seconds a request may wait for its job

local app = package.loaded["luajobs.app"]
if not app then  -- the worker's first request
  app = {}
  package.loaded["luajobs.app"] = app
  -- lighttpd closes this state as it stops: cancel what still runs
  jobs.config{ at_close = "cancel" }
  app.pool = jobs.pool{ size = 2, init = function() fibmod = require "fibmod" end }
  app.gate = jobs.channel()
end

local function fib(n)
  if n < 2 then return n end
  return fib(n - 1) + fib(n - 2)
end

local r = lighty.r
local path, query = r.req_attr["uri.path"], r.req_attr["uri.query"] or ""

-- Answers with 'job': its result once done (and forgets it), else 202.
local function answer(job, label)
  local ok, res = job:wait(BUDGET)
  if ok == nil then
    r.resp_body:set({ "running ", label, "\n" })
    return 202
  end
  if job.num and not job.pool then jobs.remove(job.num) end
  r.resp_body:set({ ok and tostring(res) or "error: " .. tostring(res), "\n" })
  return ok and 200 or 500
end

if path == "/fib" then
  local j = jobs.new(fib, tonumber(query:match("n=(%d+)")) or 20)
  return answer(j, "/job?id=" .. j.num)
elseif path == "/job" then
  local j = jobs[tonumber(query:match("id=(%d+)")) or 0]
  if not j then return 404 end
  return answer(j, "/job?id=" .. j.num)
elseif path == "/pool" then
  local n = tonumber(query:match("n=(%d+)")) or 20
  return answer(app.pool:submit(function(n) return fibmod.fib(n) end, n), "in the pool")
elseif path == "/hold" then
  local j = jobs.new(function(gate) return gate:pop() end, app.gate)
  return answer(j, "/job?id=" .. j.num)
elseif path == "/let" then
  app.gate:push("let go")
  return 200
elseif path == "/spin" then
  local ready = jobs.channel()
  jobs.new(require("fibmod").spin, query:match("mark=([^&]+)"), ready)
  ready:pop(5)  -- its <close> handler is in place
  r.resp_body:set({ "spinning\n" })
  return 200
end
return 404
