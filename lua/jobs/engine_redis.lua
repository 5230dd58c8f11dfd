-- engine_redis.lua: the Redis Streams engine of remote pools (SPEC §13):
-- submit, fetch, result, claim, notify and control over a queue's keys.
--
-- Keys, for queue Q (every one deleted or expiring; doc/remote.md):
--   luajobs:Q          the tasks, a stream read by the group "workers";
--                      entry fields f (frame), r (reply key), n (deliveries),
--                      m ("1": at most once)
--   luajobs:Q:dead     dead letters, a stream capped near 1000 entries
--   luajobs:Q:workers  the names of the workers reading Q
--   luajobs:lease:W    worker W is alive while it exists (PX lease)
--   luajobs:ctl:W      W's control stream (cancels), group "workers"
--   <reply>            a task's reply list, one outcome, PX reply_ttl; its
--                      cancel mark <reply>:c
-- A reply is a tag byte and a payload: O frame (the outcome), D reason
-- (dead), C reason (cancelled), R entry (delivered again as that entry).

local redis = require "jobs.redis"

local GROUP = "workers"
local PREFIX = "luajobs:"
local REPLY_TTL = 86400000  -- ms a reply waits for a client that is gone

-- The outcome goes in, the task's entry is acknowledged and deleted, and
-- its client told, at once; only the first acknowledgement of an entry
-- does so: a late duplicate (a worker thought lost) changes nothing.
-- KEYS: stream, reply, dead; ARGV: entry, reply, ttl [, frame to keep]
local FINISH = [==[
if redis.call('XACK', KEYS[1], 'workers', ARGV[1]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[1])
if ARGV[4] then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', 1000, '*', 'r', KEYS[2],
             'why', string.sub(ARGV[2], 2), 'f', ARGV[4])
end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
]==]

-- The tasks of each consumer of the queue whose lease is gone go to the
-- queue again as new entries, their client told; those delivered
-- max_deliveries times (or once, at most once) go to the dead letters.
-- The consumers are the group's own: a worker read by none is none.
-- KEYS: stream, workers, dead; ARGV: max_deliveries, ttl
local CLAIM = [==[
local stream, workers, dead = KEYS[1], KEYS[2], KEYS[3]
local max, ttl, moved = tonumber(ARGV[1]), ARGV[2], 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', stream, 'workers')) do
  local w = c[2]
  if redis.call('EXISTS', 'luajobs:lease:' .. w) == 0 then
    local pending = redis.call('XPENDING', stream, 'workers', '-', '+', 100, w)
    for _, p in ipairs(pending) do
      local e = redis.call('XRANGE', stream, p[1], p[1])[1]
      redis.call('XACK', stream, 'workers', p[1])
      redis.call('XDEL', stream, p[1])
      if e then
        local f = {}
        for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
        local n = tonumber(f.n or '1')
        if redis.call('EXISTS', f.r .. ':c') == 1 then
          redis.call('RPUSH', f.r, 'Ccancelled')
        elseif f.m == '1' or n >= max then
          local why = 'worker lost (' .. n .. (n == 1 and ' delivery)' or ' deliveries)')
          redis.call('XADD', dead, 'MAXLEN', '~', 1000, '*', 'r', f.r, 'why', why, 'f', f.f)
          redis.call('RPUSH', f.r, 'D' .. why)
        else
          local new = redis.call('XADD', stream, '*', 'f', f.f, 'r', f.r, 'n', tostring(n + 1))
          redis.call('RPUSH', f.r, 'R' .. new)
        end
        redis.call('PEXPIRE', f.r, ttl)
        moved = moved + 1
      end
    end
    if #pending < 100 then
      redis.call('XGROUP', 'DELCONSUMER', stream, 'workers', w)
      redis.call('SREM', workers, w)
      redis.call('DEL', 'luajobs:ctl:' .. w)
    end
  end
end
return moved
]==]

-- A queued task leaves the queue at once; a delivered one is marked and
-- each worker told (the one holding it cancels it).
-- KEYS: stream, workers; ARGV: entry, reply, ttl
local CANCEL = [==[
local p = redis.call('XPENDING', KEYS[1], 'workers', ARGV[1], ARGV[1], 1)
if #p == 0 and redis.call('XDEL', KEYS[1], ARGV[1]) == 1 then return 'queued' end
redis.call('SET', ARGV[2] .. ':c', '1', 'PX', ARGV[3])
for _, w in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('XADD', 'luajobs:ctl:' .. w, 'MAXLEN', '~', 1000, '*', 'cancel', ARGV[2])
end
return 'sent'
]==]

-- Whether the task of an entry is still somewhere: queued, delivered, or
-- answered. KEYS: stream, reply; ARGV: entry
local ALIVE = [==[
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) > 0 then return 1 end
if #redis.call('XPENDING', KEYS[1], 'workers', ARGV[1], ARGV[1], 1) > 0 then return 1 end
return redis.call('LLEN', KEYS[2])
]==]

local engine = {}
engine.__index = engine

-- Runs a script by its digest, loading it first where the server has it
-- not (a new or restarted server).
local sha = {}
local function script(conn, src, keys, ...)
  local args = table.move(keys, 1, #keys, 4, { "EVALSHA", "", #keys })
  table.move({ ... }, 1, select("#", ...), #args + 1, args)
  sha[src] = sha[src] or conn:call("SCRIPT", "LOAD", src)
  args[2] = sha[src]
  local ok, r = pcall(conn.call, conn, table.unpack(args))
  if ok then return r end
  if not tostring(r):find("NOSCRIPT", 1, true) then error(r, 0) end
  sha[src] = conn:call("SCRIPT", "LOAD", src)
  args[2] = sha[src]
  return conn:call(table.unpack(args))
end

local function stream(q) return PREFIX .. q end

-- Makes the group of stream 's' if it has none, the stream too.
local function group(conn, s)
  local ok, err = pcall(conn.call, conn, "XGROUP", "CREATE", s, GROUP, "0", "MKSTREAM")
  if not ok and not tostring(err):find("BUSYGROUP", 1, true) then error(err, 0) end
end

-- engine.check(url): raises if 'url' is no URL of this engine's.
engine.check = redis.check

-- engine.open(url): an engine on the server of 'url'; raises if none.
function engine.open(url)
  return setmetatable({ url = url, conn = redis.connect(url) }, engine)
end

-- For a client: a task's frame goes to queue 'q'; returns its handle. The
-- first wait for its reply goes with it (await reads it), a second of it.
function engine:submit(q, frame, reply, atmostonce)
  local s, conn = stream(q), self.conn
  self.grouped = self.grouped or {}
  if not self.grouped[s] then  -- so that a cancel finds it before a worker
    group(conn, s)
    self.grouped[s] = true
  end
  conn:send("XADD", s, "*", "f", frame, "r", reply, "n", "1", "m", atmostonce and "1" or "0")
  conn:send("BLPOP", reply, "1")
  return { queue = q, entry = conn:recv(), reply = reply, waiting = true }
end

-- For a client: the task's reply, waiting 'seconds'; nil if none came.
-- A reply saying the task moved updates the handle, and the wait goes on.
function engine:await(h, seconds)
  local r
  if h.waiting then  -- the wait sent with the task
    h.waiting = false
    r = self.conn:recv()
  else
    r = self.conn:call("BLPOP", h.reply, string.format("%.3f", seconds))
  end
  if not r then return nil end
  local tag, payload = r[2]:sub(1, 1), r[2]:sub(2)
  if tag == "R" then
    h.entry = payload
    return nil
  end
  return tag, payload
end

-- For a client: whether the task of 'h' is still queued, running or
-- answered (a server restarted without persistence has lost it).
function engine:alive(h)
  return script(self.conn, ALIVE, { stream(h.queue), h.reply }, h.entry) ~= 0
end

-- For a client: cancels the task of 'h': "queued" if it never started
-- (nothing more will come), "sent" if its worker was told. No pcall: it
-- runs as a stop unwinds (jobs.remote).
function engine:cancel(h)
  local s = stream(h.queue)
  local old = self.conn:abandoned()  -- the wait the stop cut short goes
  if old then  -- first, so that it takes no outcome
    self.conn:send("CLIENT", "KILL", "ID", old, "SKIPME", "yes")
  end
  return self.conn:call("EVAL", CANCEL, "2", s, s .. ":workers", h.entry, h.reply,
                        tostring(REPLY_TTL))
end

-- For a client: the task of 'h' is over; its marks go.
function engine:forget(h)
  self.conn:send("DEL", h.reply, h.reply .. ":c")
  self.conn:recv()
end

-- For a worker: joins queues 'qs' (and its control stream) as 'me'.
function engine:join(me, qs)
  self.me, self.qs, self.unsent = me, qs, self.unsent or {}
  sha[FINISH] = self.conn:call("SCRIPT", "LOAD", FINISH)
  for _, q in ipairs(qs) do group(self.conn, stream(q)) end
  group(self.conn, PREFIX .. "ctl:" .. me)
end

-- For a worker: a lease thread keeping 'me' alive every lease/3 seconds
-- (at most every 0.5 s) and claiming the tasks of workers whose lease is
-- gone. Returns it (l:stop(), l:error()).
function engine:lease(seconds, max)
  local ms = tostring(math.floor(seconds * 1000))
  local cmds = { { "SET", PREFIX .. "lease:" .. self.me, "1", "PX", ms } }
  for _, q in ipairs(self.qs) do
    local s = stream(q)
    cmds[#cmds + 1] = { "SADD", s .. ":workers", self.me }
    cmds[#cmds + 1] = { "EVAL", CLAIM, "3", s, s .. ":workers", s .. ":dead",
                        tostring(max), tostring(REPLY_TTL) }
  end
  return redis.lease(self.url, math.min(seconds / 3, 0.5), cmds)
end

-- For a worker: up to 'count' tasks (0: control messages only), in the
-- order of its queues, waiting 'seconds' at most; nil, "fd" as soon as
-- descriptor 'fd' is readable (the fetch goes on, for the next call). A
-- fetch of control messages only under way when tasks may come is cut
-- short through engine 'other' (CLIENT UNBLOCK). Each is { queue, entry,
-- frame, reply, attempts } or { cancel = reply }.
function engine:fetch(count, seconds, fd, other)
  local conn = self.conn
  if conn:waiting() > 0 and self.ctlonly and count > 0 and self.id then
    other.conn:call("CLIENT", "UNBLOCK", self.id)
    self.ctlonly = false
  end
  if conn:waiting() == 0 then
    local args = { "XREADGROUP", "GROUP", GROUP, self.me, "COUNT", tostring(math.max(count, 1)),
                   "BLOCK", tostring(math.floor(seconds * 1000)), "STREAMS", PREFIX .. "ctl:" .. self.me }
    if count > 0 then for _, q in ipairs(self.qs) do args[#args + 1] = stream(q) end end
    for _ = 10, #args do args[#args + 1] = ">" end
    local ok, err = pcall(function()
      if not self.id then conn:send("CLIENT", "ID") end  -- once a connection
      conn:send(table.unpack(args))
      self.id = self.id or conn:recv()
    end)
    if not ok then
      self.id = nil  -- the next may be a new connection
      error(err, 0)
    end
    self.ctlonly = count == 0
  end
  local ok, r, why = pcall(conn.recv, conn, seconds + 1, fd)
  if not ok then
    self.id = nil  -- the connection may be a new one next time
    if tostring(r):find("NOGROUP", 1, true) then  -- a server that lost them
      self:join(self.me, self.qs)
      return {}
    end
    error(r, 0)
  end
  if r == nil then return nil, why end
  local out, order = {}, {}
  for i, q in ipairs(self.qs) do order[stream(q)] = i end
  for _, st in ipairs(r or {}) do
    local name, q = st[1], nil
    for _, e in ipairs(st[2]) do
      local f = {}
      for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
      if not order[name] then
        out[#out + 1] = { cancel = f.cancel, entry = e[1], ctl = true }
      else
        q = q or name:sub(#PREFIX + 1)
        out[#out + 1] = { queue = q, entry = e[1], frame = f.f, reply = f.r,
                          attempts = tonumber(f.n) or 1, rank = order[name] }
      end
    end
  end
  for i, t in ipairs(out) do t.seq = i end  -- each queue's own order stays
  table.sort(out, function(a, b)
    local ra, rb = a.rank or 0, b.rank or 0
    return ra < rb or (ra == rb and a.seq < b.seq)
  end)
  return out
end

-- For a worker: control messages it read are done with.
function engine:done(entries)
  local ctl = PREFIX .. "ctl:" .. self.me
  for _, e in ipairs(entries) do
    self.conn:send("XACK", ctl, GROUP, e)
    self.conn:send("XDEL", ctl, e)
  end
end

-- Sends the result script for the outcome 'r' ({t, reply, dead}).
local function sendresult(self, r)
  local s, t = stream(r.t.queue), r.t
  local args = { "EVALSHA", sha[FINISH], "3", s, t.reply, s .. ":dead", t.entry,
                 r.reply, tostring(REPLY_TTL) }
  if r.dead then args[#args + 1] = t.frame end
  self.conn:send(table.unpack(args))
end

-- For a worker: the outcome of task 't' ('reply': a tag and payload), with
-- its frame kept in the dead letters if 'dead'. Several may be sent
-- before 'flush' reads their answers.
function engine:result(t, reply, dead)
  local r = { t = t, reply = reply, dead = dead }
  self.unsent[#self.unsent + 1] = r
  sendresult(self, r)
end

-- Reads the answers of the results sent; returns the first error. Those
-- whose connection was lost, or whose script the server forgot (it was
-- restarted), go again at the next flush (a result is idempotent: a
-- second acknowledges nothing); raises if the server cannot be reached.
function engine:flush()
  local conn, err = self.conn, nil
  if self.again then  -- nothing is waiting for an answer now
    sha[FINISH] = conn:call("SCRIPT", "LOAD", FINISH)
    self.again = false
    for _, r in ipairs(self.unsent) do sendresult(self, r) end
  end
  while conn:waiting() > 0 do
    local ok, e = pcall(conn.recv, conn)
    if not ok then
      err = err or e
      if tostring(e):find("connection lost", 1, true) then
        self.again = true
        return err
      end
      self.again = self.again or tostring(e):find("NOSCRIPT", 1, true) ~= nil
    end
  end
  if not self.again then self.unsent = {} end
  return err
end

-- For a worker leaving: its lease, its name and control stream go.
function engine:leave()
  local c = self.conn
  c:call("DEL", PREFIX .. "lease:" .. self.me, PREFIX .. "ctl:" .. self.me)
  for _, q in ipairs(self.qs) do c:call("SREM", stream(q) .. ":workers", self.me) end
end

return engine
