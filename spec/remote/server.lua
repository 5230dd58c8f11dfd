-- server.lua: what spec/remote_spec.lua runs against: a redis-server of
-- its own (127.0.0.1, a free port, a folder of its own, stopped by pid)
-- and real worker processes (luajobs --worker), stopped the same way.
local server = {}

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  return out
end

-- Waits until 'ready()' is true, 'seconds' at most: a condition, not a nap.
function server.until_(ready, seconds, what)
  local deadline = os.time() + (seconds or 20)
  while not ready() do
    if os.time() > deadline then error("timed out waiting for " .. (what or "a condition"), 2) end
    os.execute("sleep 0.02")
  end
end

-- A new redis-server; options are more of its command line.
function server.start(options)
  local dir = sh("mktemp -d"):gsub("%s+$", "")
  for _ = 1, 20 do
    local port = math.random(20000, 32000)  -- below the ephemeral ports
    os.execute(string.format(
      "redis-server --port %d --bind 127.0.0.1 --dir %s --pidfile %s/redis.pid " ..
      "--daemonize yes --save '' --logfile %s/redis.log %s", port, dir, dir, dir, options or ""))
    local s = { port = port, dir = dir, url = "redis://127.0.0.1:" .. port, options = options }
    local ok = pcall(server.until_, function()
      local f = io.open(dir .. "/redis.pid")
      if f then f:close() end
      return f and sh("redis-cli -p " .. port .. " ping 2>/dev/null"):find("PONG")
    end, 5)
    if ok then
      s.pid = tonumber(sh("cat " .. dir .. "/redis.pid"))
      return setmetatable(s, { __index = server })
    end
  end
  error("cannot start redis-server")
end

-- Runs a command on the server: its reply as a Lua value.
function server:call(...)
  self.conn = self.conn or require("jobs.redis").connect(self.url)
  return self.conn:call(...)
end

function server:stop()
  if self.conn then self.conn:close() self.conn = nil end
  for _, w in ipairs(self.workers or {}) do w:kill() end
  if self.pid then
    os.execute("kill " .. self.pid)
    server.until_(function() return not sh("kill -0 " .. self.pid .. " 2>&1"):find("^$") end, 10)
    self.pid = nil
  end
end

-- Restarts the server on the same port and folder (its data as its
-- persistence options keep it).
function server:restart()
  if self.conn then self.conn:close() self.conn = nil end
  os.execute("kill -9 " .. self.pid)
  server.until_(function() return not sh("kill -0 " .. self.pid .. " 2>&1"):find("^$") end, 10)
  os.execute(string.format(
    "redis-server --port %d --bind 127.0.0.1 --dir %s --pidfile %s/redis.pid " ..
    "--daemonize yes --save '' --logfile %s/redis.log %s", self.port, self.dir, self.dir,
    self.dir, self.options or ""))
  server.until_(function() return sh("redis-cli -p " .. self.port .. " ping 2>/dev/null"):find("PONG") end, 10)
  self.pid = tonumber(sh("cat " .. self.dir .. "/redis.pid"))
end

local Worker = {}
Worker.__index = Worker

-- A worker process on queue 'queue' (or a list of them, read in order)
-- with the key in file 'keyfile', reaching the server at 'self.via' if
-- set (a proxy), else directly; returns once it is registered.
function server:worker(queue, keyfile, ...)
  local queues = type(queue) == "table" and queue or { queue }
  queue = queues[1]
  local exe = assert(os.getenv("LUAJOBS_EXE"), "LUAJOBS_EXE not set")
  local n = #(self.workers or {}) + 1
  local name = "w" .. n .. "-" .. math.random(1e6)
  local log = self.dir .. "/" .. name .. ".log"
  local args = table.concat({ ... }, " ")
  local pid = tonumber(sh(string.format("%s --worker %s --queue %s --key-file %s --name %s %s > %s 2>&1 & echo $!",
                                          exe, self.via or self.url, table.concat(queues, " --queue "),
                                          keyfile, name, args, log)))
  local w = setmetatable({ pid = pid, name = name, log = log, server = self }, Worker)
  self.workers = self.workers or {}
  self.workers[#self.workers + 1] = w
  server.until_(function() return self:call("SISMEMBER", "luajobs:" .. queue .. ":workers", name) == 1 end,
                20, "worker " .. name)
  return w
end

function Worker:signal(sig) os.execute("kill -" .. sig .. " " .. self.pid .. " 2>/dev/null") end

function Worker:alive() return sh("kill -0 " .. self.pid .. " 2>&1") == "" end

function Worker:kill()
  self:signal("KILL")
  server.until_(function() return not self:alive() end, 10)
end

return server
