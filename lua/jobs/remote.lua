-- remote.lua: remote pools (SPEC §13): a pool whose tasks run in worker
-- processes, fed through an engine (jobs.engine_<scheme>), and the worker.
--
-- A client's tasks are tasks of a local pool of small states, each
-- sending one task's frame and waiting for its outcome: the job object,
-- its waits, cancel, jobs.poll and jobs.fd are a local pool's. A worker is
-- a local pool fed from the engine: its warm states check each frame's
-- tag, run the task, and send back its outcome as a frame.

local jobs = require "jobs"

local M = {}

local DEFAULTS = { lease = 5, max_deliveries = 3, size = 16, grace = 1 }

-- The schemes of an engine's TLS URLs, which its module checks.
local TLS = { rediss = "redis" }

local function engineof(url)
  local scheme = type(url) == "string" and url:match("^(%a+)://")
  scheme = TLS[scheme] or scheme
  if not scheme then
    error(string.format("bad option 'engine' to 'pool' (URL expected, got %s)",
                        type(url) == "string" and url or type(url)), 4)
  end
  local ok, engine = pcall(require, "jobs.engine_" .. scheme)
  if not ok and tostring(engine):find("module 'jobs.engine_" .. scheme .. "' not found", 1, true) then
    error("no engine for " .. scheme .. ":// URLs", 4)
  elseif not ok then error(engine, 0) end
  return engine
end

-- A name no other process or state picks: 8 random bytes, in hex.
local function unique()
  local f = io.open("/dev/urandom", "rb")
  local b = f and f:read(8) or tostring(os.time()) .. tostring({})
  if f then f:close() end
  return (b:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

--[[ The client's side ]]

-- In a client's state: its engine, and the names of its tasks' replies.
local client, clientid, nreplies

-- Calls f(...) until it works, while the engine cannot be reached:
-- waiting more each time (a cancel cuts the wait short), raising after
-- 'patience' seconds.
local function retry(patience, f, ...)
  local nap, waited = 0.05, 0
  while true do
    local ok, a, b = pcall(f, ...)
    if ok then return a, b end
    if waited >= patience then error(a, 0) end
    jobs.sleep(nap)
    waited = waited + nap
    nap = math.min(nap * 2, 1)
  end
end

-- Tells the engine to cancel the task of 'h', whose wait a stop ends,
-- and waits for its worker to say so, 'grace' seconds at most. It runs
-- as the stop unwinds, where no pcall may be used (each raises the stop
-- again): an engine that cannot be reached ends it with its error.
local function cancel(h, grace)
  if h.over then return end
  h.over = true
  local e = client
  if e:cancel(h) == "sent" then
    local deadline = os.time() + grace + 1
    repeat until e:await(h, 0.1) or os.time() > deadline
  end
  e:forget(h)
end


-- In a client's small state: sends the frame of one task, waits for its
-- outcome and returns it as this task's.
function M.call(conf, frame)
  if not client then
    client = engineof(conf.url).open(conf.url)
    clientid, nreplies = unique(), 0
  end
  nreplies = nreplies + 1
  local reply = "luajobs:r:" .. clientid .. ":" .. nreplies
  local e = client
  local h = retry(conf.patience, e.submit, e, conf.queue, frame, reply, conf.at_most_once)
  local guard <close> = setmetatable({}, { __close = function() cancel(h, conf.grace) end })
  local tag, payload
  while not tag do
    local ok, t, p = pcall(e.await, e, h, 1)
    if ok then tag, payload = t, p end
    if not tag and not retry(conf.patience, e.alive, e, h) then
      tag, payload = "D", "queue lost"
    end
  end
  h.over = true
  if tag == "O" then
    local v = table.pack(jobs.decode({ key = conf.key }, payload))
    if v[1] then return table.unpack(v, 3, v[2] + 2) end
    if type(v[3]) == "string" then require("jobs.redis").raise(v[2], v[3]) end
    error(v[2], 0)
  end
  error(payload, 0)  -- dead, or cancelled by its worker ("timeout")
end

-- The function of every task of a client: upvalues none but _ENV, so that
-- it loads once in each small state.
local function task(conf, frame)
  return require("jobs.remote").call(conf, frame)
end

local Pool = {}
Pool.__index = Pool

-- p:submit(fn_or_string, ...): a job object for the task. Its function and
-- arguments go as a frame, tagged with the pool's key: uncopyable values
-- fail here, with their path. A string is compiled here first.
function Pool:submit(fn, ...)
  if self.closed then error("the pool is closed", 2) end
  if type(fn) == "string" then
    local chunk, err = load(fn, "=(remote task)", "t")
    if not chunk then error(err, 2) end
    fn = chunk
  end
  local ok, frame = pcall(jobs.encode, self.frameopts, fn, ...)
  if not ok then error((frame:gsub("argument (%d+)", function(n)
                         return "argument " .. (tonumber(n) - 2) end)), 2) end
  return self.local_:submit(task, self.conf, frame)
end

function Pool:close()
  self.closed = true
  return self.local_:close()
end

Pool.__close = Pool.close
function Pool.__len(p) return #p.local_ end
function Pool.__tostring(p)
  return string.format("<remote pool %s on %s: %s>", p.conf.queue, p.conf.url,
                       p.closed and "closed" or "open")
end

local known = { engine = true, queue = true, key = true, size = true, timeout = true,
                grace = true, name = true, at_most_once = true, patience = true,
                ttl = true }

M.options = known  -- for the spec of the reference

-- jobs.pool{engine = URL, queue, key, size, at_most_once, patience, ttl,
-- grace, name}: a remote pool; 'map' is the local pool's.
function M.pool(o, map)
  for k in pairs(o) do
    if not known[k] then error(string.format("unknown option '%s' to 'pool'", k), 3) end
  end
  engineof(o.engine).check(o.engine)
  if type(o.queue) ~= "string" or o.queue == "" then
    error("bad option 'queue' to 'pool' (string expected, got " .. type(o.queue) .. ")", 3)
  end
  if o.key ~= nil and type(o.key) ~= "string" then
    error("bad option 'key' to 'pool' (string expected, got " .. type(o.key) .. ")", 3)
  end
  local size = o.size or DEFAULTS.size
  local conf = { url = o.engine, queue = o.queue, key = o.key,
                 at_most_once = o.at_most_once and true or false,
                 patience = o.patience or 30, grace = o.grace or DEFAULTS.grace }
  local p = setmetatable({
    conf = conf, size = size, map = map,
    frameopts = { key = o.key, ttl = o.ttl },
    local_ = jobs.pool{ size = size, name = o.name or ("remote " .. o.queue),
                        timeout = o.timeout, grace = o.grace },
  }, Pool)
  return p
end

--[[ The worker's side ]]

-- In a worker's warm state: runs the task of a frame, and returns its
-- outcome as a frame (true, frame), or why the frame was refused (false,
-- why): its tag is checked before anything of it is loaded.
local function runframe(opts, frame)
  local j = require "jobs"
  local v = table.pack(pcall(j.decode, opts, frame))
  if not v[1] then return false, v[2] end
  if type(v[2]) ~= "function" then return false, "frame carries no function" end
  local tb
  local function handler(e)
    local ok, s = pcall(tostring, e)
    tb = debug.traceback(ok and s or "(error object)", 2)
    return e
  end
  local out = table.pack(xpcall(v[2], handler, table.unpack(v, 3, v.n)))
  local ok, f
  if out[1] then
    ok, f = pcall(j.encode, opts, true, out.n - 1, table.unpack(out, 2, out.n))
  else
    ok, f = pcall(j.encode, opts, false, out[2], tb)
    if not ok then ok, f = pcall(j.encode, opts, false, tostring(out[2]), tb) end
  end
  if not ok then f = j.encode(opts, false, "cannot send the outcome: " .. tostring(f)) end
  return true, f
end

local function hostname()
  local f = io.open("/proc/sys/kernel/hostname")
  local name = f and f:read("l")
  if f then f:close() end
  return name or "worker"
end

local wopts = { queue = true, engine = true, key = true, size = true, init = true,
                libs = true, memory_limit = true, timeout = true, grace = true,
                lease = true, max_deliveries = true, name = true }

M.workeroptions = wopts  -- for the spec of the reference

local Worker = {}
Worker.__index = Worker

-- jobs.worker{engine = URL, queue = name or list, key, size, init, libs,
-- memory_limit, timeout, grace, lease, max_deliveries, name}
function M.worker(o)
  for k in pairs(o) do
    if not wopts[k] then error(string.format("unknown option '%s' to 'worker'", k), 2) end
  end
  local engine = engineof(o.engine)
  local qs = type(o.queue) == "table" and o.queue or { o.queue }
  for _, q in ipairs(qs) do
    if type(q) ~= "string" then error("bad option 'queue' to 'worker' (string or list expected)", 2) end
  end
  local size = o.size or 4
  local w = setmetatable({
    url = o.engine, qs = qs, size = size, opts = { key = o.key },
    lease = o.lease or DEFAULTS.lease, max = o.max_deliveries or DEFAULTS.max_deliveries,
    name = o.name or hostname() .. ":" .. unique():sub(1, 8),
    pool = jobs.pool{ size = size, init = o.init, libs = o.libs, memory_limit = o.memory_limit,
                      timeout = o.timeout, grace = o.grace, name = "worker" },
    held = {}, byreply = {}, cancels = {}, oldcancels = {}, rotate = os.time() + 10,
    nheld = 0,
  }, Worker)
  w.engine, w.feed = engine.open(o.engine), engine.open(o.engine)
  w.engine:join(w.name, qs)
  w.feed:join(w.name, qs)
  return w
end

-- Starts task 't' fetched from the engine, unless cancelled already.
function Worker:take(t)
  if self.cancels[t.reply] or self.oldcancels[t.reply] then
    self.cancels[t.reply], self.oldcancels[t.reply] = nil, nil
    self.engine:result(t, "Ccancelled")
    return
  end
  local job = self.pool:submit(runframe, self.opts, t.frame)
  self.held[job], self.byreply[t.reply] = t, job
  self.nheld = self.nheld + 1
end

-- Sends the outcome of the finished 'job'.
function Worker:finish(job)
  local t = self.held[job]
  if not t then return end
  self.held[job], self.byreply[t.reply] = nil, nil
  self.nheld = self.nheld - 1
  if job.status == "completed" then
    local _, good, payload = job:wait()
    if good then return self.engine:result(t, "O" .. payload) end
    return self.engine:result(t, "Dframe refused: " .. tostring(payload), true)
  elseif job.status == "cancelled" then
    return self.engine:result(t, "C" .. tostring(job.error))
  end
  local err, tb = job.error, job:traceback()
  local ok, f = pcall(jobs.encode, self.opts, false, tostring(err), tb)
  self.engine:result(t, ok and "O" .. f or "D" .. tostring(err))
end

-- One turn: outcomes out, tasks and cancels in, waiting 'seconds' at most.
function Worker:step(seconds)
  for _, job in ipairs(jobs.poll()) do self:finish(job) end
  self:flush()
  local room = 2 * self.size - self.nheld
  local got = self.feed:fetch(room > 0 and room or 0, seconds, jobs.fd(), self.engine)
  -- Cancels of tasks it does not hold are kept 10 to 20 s, for a task
  -- delivered after its cancel (one delivered again): most are other
  -- workers', and would pile up.
  if os.time() >= self.rotate then
    self.oldcancels, self.cancels, self.rotate = self.cancels, {}, os.time() + 10
  end
  local ctl = {}
  for _, t in ipairs(got or {}) do
    if t.ctl then
      ctl[#ctl + 1] = t.entry
      local job = self.byreply[t.cancel]
      if job then job:cancel() elseif t.cancel then self.cancels[t.cancel] = true end
    else
      self:take(t)
    end
  end
  if #ctl > 0 then self.engine:done(ctl) end
  self:flush()
  local lerr = self.leaser and self.leaser:error()
  if lerr ~= self.lerr then  -- said once, as it changes
    self.lerr = lerr
    if lerr then io.stderr:write("luajobs worker: lease: ", lerr, "\n") end
  end
end

-- Sends what the engine holds for the server, and reads its answers.
function Worker:flush()
  local err = self.engine:flush()
  if err then io.stderr:write("luajobs worker: ", tostring(err), "\n") end
end

-- w:run(): serves its queues until w:stop() from a task's on_done, or the
-- host's interrupt (Ctrl-C), then leaves: its lease and name go, and its
-- unfinished tasks go to other workers once its lease is found gone.
function Worker:run()
  self.leaser = self.leaser or self.engine:lease(self.lease, self.max)
  self.running = true
  local ok, err = pcall(function()
    local nap, said = 0.05, nil
    while self.running do
      local ok, e = pcall(self.step, self, 1)
      if ok then
        nap, said = 0.05, nil
      else  -- the engine is unreachable: it is tried again, less often
        if tostring(e):find("interrupted", 1, true) then error(e, 0) end
        if e ~= said then io.stderr:write("luajobs worker: ", tostring(e), "\n") end
        said = e
        jobs.sleep(nap)
        nap = math.min(nap * 2, 1)
      end
    end
  end)
  if not pcall(self.close, self) then self:close() end
  if not ok and not tostring(err):find("interrupted", 1, true) then error(err, 0) end
end

function Worker:stop() self.running = false end

-- Its tasks still running are cancelled, their outcomes never sent:
-- with its lease gone, the next claim gives them to other workers. Each
-- step is done once, so that a close cut short (by a Ctrl-C's hook) may
-- be called again.
function Worker:close()
  self.closed, self.running = true, false
  local leaser, held, pool = self.leaser, self.held, self.pool
  self.leaser, self.held = nil, {}
  if leaser then leaser:stop() end
  for job in pairs(held) do job:cancel() end
  if not self.left then
    self.left = pcall(self.engine.leave, self.engine) or
                pcall(self.engine.leave, self.engine)
  end
  self.pool = nil
  if pool then pool:close() end
end

Worker.__close = Worker.close

-- luajobs --worker URL --queue Q [--queue Q2] [--size N] [--key-file F]
-- [--init FILE] [--lease S] [--max-deliveries N] [--timeout S] [--name W]
function M.main(args)
  local o = { engine = args[1], queue = {} }
  local i = 2
  local function value()
    i = i + 1
    if args[i] == nil then error("luajobs: " .. args[i - 1] .. " needs a value", 0) end
    return args[i]
  end
  while args[i] do
    local a = args[i]
    if a == "--queue" then o.queue[#o.queue + 1] = value()
    elseif a == "--size" then o.size = tonumber(value())
    elseif a == "--lease" then o.lease = tonumber(value())
    elseif a == "--max-deliveries" then o.max_deliveries = tonumber(value())
    elseif a == "--timeout" then o.timeout = tonumber(value())
    elseif a == "--name" then o.name = value()
    elseif a == "--key-file" then
      local f = assert(io.open(value(), "rb"))
      o.key = f:read("a"):gsub("%s+$", "")
      f:close()
    elseif a == "--init" then
      local f = assert(io.open(value(), "rb"))
      o.init = f:read("a")
      f:close()
    else error("luajobs: unknown worker option " .. a, 0) end
    i = i + 1
  end
  if #o.queue == 0 then o.queue = { "default" } end
  local w = M.worker(o)
  io.stdout:write("luajobs worker ", w.name, " serving ", table.concat(w.qs, ", "), "\n")
  io.stdout:flush()
  w:run()
end

return M
