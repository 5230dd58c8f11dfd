-- remote_spec.lua: remote pools (SPEC §13), against a real redis-server
-- and real worker processes: values, errors, cancel, a worker killed,
-- stopped or poisoned, frames refused, and the keys left behind.
local lu = require "luaunit"
local jobs = require "jobs"
local server = require "remote.server"

math.randomseed(os.time() ~ tonumber(tostring({}):match("0x(%x+)"), 16))

local KEY = "a key the spec's clients and workers share"
local LEASE = 0.6
local S, keyfile

-- A pool of the spec's; a task stuck by a test that failed is cancelled
-- after a while, so that closing the pool cannot hang the run.
local function pool(queue, options)
  local o = { engine = S.url, queue = queue, key = KEY, timeout = 120 }
  for k, v in pairs(options or {}) do o[k] = v end
  return jobs.pool(o)
end

-- The pid of the process running the calling code (a worker's, in a task).
local function pid()
  local f = io.open("/proc/self/stat")
  local n = f:read("n")
  f:close()
  return n
end

-- The keys of the server, but for the queues' own (streams, workers,
-- leases, control streams), which live while workers serve them.
local function leftover()
  local out = {}
  for _, k in ipairs(S:call("KEYS", "*")) do
    if not (k:match("^luajobs:[^:]+$") or k:match(":workers$") or k:match("^luajobs:lease:")
            or k:match("^luajobs:ctl:") or k:match(":dead$")) then
      out[#out + 1] = k
    end
  end
  table.sort(out)
  return out
end

TestRemote = {}

-- Runs fn against a server of its own, started with 'options'.
local function alone(options, fn)
  local saved = S
  S = server.start(options)
  local ok, err = pcall(fn)
  S:stop()
  os.execute("rm -rf " .. S.dir)
  S = saved
  if not ok then error(err, 0) end
end

S = server.start()
keyfile = S.dir .. "/key"
do
  local f = assert(io.open(keyfile, "w"))
  f:write(KEY)
  f:close()
end

function TestRemote:tearDown()
  for _, w in ipairs(S.workers or {}) do if w:alive() then w:kill() end end
  S.workers = {}
end

function TestRemote:test_values_round_trip()
  S:worker("values", keyfile)
  local p <close> = pool("values")
  local shared = { 1, 2 }
  local v = { n = 1.5, i = 7, s = "a\0b", t = { shared, shared }, neg = -0.0,
              nested = { { { "deep" } } } }
  local t = p:submit(function(x, k)
    return x.n * 2, x.i // 2, #x.s, x.t[1] == x.t[2], 1 / x.neg, x.nested[1][1][1], k
  end, v, "k")
  lu.assertEquals({ t:wait(10) }, { true, 3.0, 3, 3, true, -math.huge, "deep", "k" })
  local scale = 10
  local f = p:submit(function() return function(x) return x * scale end end)
  local ok, g = f:wait(10)
  lu.assertTrue(ok)
  lu.assertEquals(g(4), 40)
  lu.assertEquals(p:submit("return 6 * 7"):wait(10), true)
  lu.assertEquals(select(2, p:submit("return 6 * 7"):wait(10)), 42)
end

-- The random tester of the remote route: generated graphs (spec/graphs.lua)
-- to a worker and back, their chains of closures run there.
function TestRemote:test_generated_values_survive_the_remote_route()
  local graphs = require "graphs"
  S:worker("graphs", keyfile)
  local p <close> = pool("graphs")
  local seed0 = tonumber(os.getenv("LUAJOBS_SEED")) or 20261207
  GRAPH_STEP = 3
  for i = 1, 40 do
    local v = graphs.make(seed0 + i)
    local ok, c, calls = p:submit(function(v)
      GRAPH_STEP = 3
      return v, require("graphs").calls(v)
    end, v):wait(30)
    lu.assertTrue(ok, ("seed %d: %s"):format(seed0 + i, tostring(c)))
    lu.assertTrue(graphs.same(v, c), ("seed %d"):format(seed0 + i))
    lu.assertEquals(calls, graphs.calls(v), ("seed %d"):format(seed0 + i))
  end
end

function TestRemote:test_uncopyable_fails_at_submit_with_its_path()
  local p <close> = pool("nothing")
  local ok, err = pcall(p.submit, p, function() end, { out = jobs.channel() })
  lu.assertFalse(ok)
  lu.assertStrContains(err, "at argument 1.out")
  lu.assertEquals(#p, 0)
end

function TestRemote:test_errors_of_any_type_come_back_with_tracebacks()
  S:worker("errors", keyfile)
  local p <close> = pool("errors")
  local t = p:submit(function() error({ code = 7 }) end)
  local ok, err = t:wait(10)
  lu.assertFalse(ok)
  lu.assertEquals(err, { code = 7 })
  lu.assertEquals(t.status, "dead")
  lu.assertStrContains(t:traceback(), "remote_spec.lua")
  local s = p:submit(function() local x = nil; return x.y end)
  lu.assertFalse(s:wait(10))
  lu.assertStrContains(s.error, "attempt to index a nil value")
end

function TestRemote:test_cancel_reaches_a_running_task()
  S:worker("cancel", keyfile)
  local p <close> = pool("cancel")
  local mark = S.dir .. "/closed"
  local started = S.dir .. "/spinning"
  local t = p:submit(function(mark, started)
    local guard <close> = setmetatable({}, { __close = function()
      io.open(mark, "w"):close()
    end })
    io.open(started, "w"):close()
    while true do end
  end, mark, started)
  server.until_(function() return io.open(started) end, 20, "the task to start")
  t:cancel()
  lu.assertEquals({ t:wait(10) }, { false, "cancelled" })
  lu.assertEquals(t.status, "cancelled")
  server.until_(function() return io.open(mark) end, 10, "the <close> handler")
  lu.assertEquals(leftover(), {})
end

-- The worker's word on a cancel reaches the client's handler, never the
-- wait the cancel cut short (its connection closed, the server may not
-- know yet): with a grace of a minute, a lost word would hold each cancel
-- for that minute.
function TestRemote:test_each_cancel_hears_from_its_worker()
  S:worker("cancels", keyfile)
  local p <close> = pool("cancels", { grace = 60 })
  for round = 1, 10 do
    local started = S.dir .. "/spin" .. round
    local t = p:submit(function(started)
      io.open(started, "w"):close()
      while true do end
    end, started)
    server.until_(function() return io.open(started) end, 20, "the task to start")
    t:cancel()
    lu.assertEquals({ t:wait(20) }, { false, "cancelled" }, "round " .. round)
  end
  lu.assertEquals(leftover(), {})
end

function TestRemote:test_cancel_of_a_queued_task_never_starts_it()
  local p <close> = pool("queued")
  local ran = S.dir .. "/queued-ran"
  local t = p:submit(function(ran) io.open(ran, "w"):close() end, ran)
  server.until_(function() return S:call("XLEN", "luajobs:queued") == 1 end, 10, "the task to be queued")
  t:cancel()
  lu.assertEquals({ t:wait(10) }, { false, "cancelled" })
  S:worker("queued", keyfile)
  lu.assertEquals(S:call("XLEN", "luajobs:queued"), 0)
  lu.assertNil(io.open(ran))
end

-- A task that says where it runs and then waits for the gate.
local function gated(started, gate)
  local f = io.open("/proc/self/stat")
  local me = f:read("n")
  f:close()
  local out = io.open(started .. "." .. me, "w")
  out:close()
  while not io.open(gate) do end
  return me
end

local function started_on(started)
  for _, w in ipairs(S.workers) do
    local f = io.open(started .. "." .. w.pid)
    if f then f:close() return w end
  end
end

function TestRemote:test_a_killed_workers_task_finishes_on_another()
  local a = S:worker("kill9", keyfile, "--lease", LEASE)
  local b = S:worker("kill9", keyfile, "--lease", LEASE)
  local p <close> = pool("kill9")
  for round = 1, tonumber(os.getenv("LUAJOBS_KILL_ROUNDS")) or 8 do  -- 50 by hand
    local started, gate = S.dir .. "/k" .. round, S.dir .. "/gate" .. round
    local t = p:submit(gated, started, gate)
    server.until_(function() return started_on(started) end, 20, "the task to start")
    local victim = started_on(started)
    victim:kill()
    os.remove(started .. "." .. victim.pid)
    server.until_(function() return started_on(started) end, 20, "the task to start elsewhere")
    io.open(gate, "w"):close()
    local ok, where = t:wait(20)
    lu.assertTrue(ok)
    lu.assertNotEquals(where, victim.pid)
    -- one worker left: start another for the next round
    if victim == a then a = S:worker("kill9", keyfile, "--lease", LEASE)
    else b = S:worker("kill9", keyfile, "--lease", LEASE) end
  end
  lu.assertEquals(leftover(), {})
end

function TestRemote:test_at_most_once_a_lost_task_is_dead()
  S:worker("amo", keyfile, "--lease", LEASE)
  local p <close> = pool("amo", { at_most_once = true })
  local started, gate = S.dir .. "/amo", S.dir .. "/amo-gate"
  local t = p:submit(gated, started, gate)
  server.until_(function() return started_on(started) end, 20, "the task to start")
  started_on(started):kill()
  S:worker("amo", keyfile, "--lease", LEASE)
  lu.assertEquals({ t:wait(20) }, { false, "worker lost (1 delivery)" })
  lu.assertEquals(t.status, "dead")
  io.open(gate, "w"):close()
end

function TestRemote:test_a_poison_task_is_dead_lettered()
  S:worker("poison", keyfile, "--lease", LEASE, "--max-deliveries", 3)
  local p <close> = pool("poison")
  lu.assertEquals({ p:submit(function() return "fine" end):wait(20) }, { true, "fine" })
  local t = p:submit(function()
    local f = io.open("/proc/self/stat")
    local me = f:read("n")
    f:close()
    os.execute("kill -9 " .. me)
  end)
  local workers = 1
  while not t.done do  -- each new worker claims the task of the last one
    local last = S.workers[#S.workers]
    server.until_(function() return not last:alive() or t.done end, 20, "the poison")
    if not t.done then
      S:worker("poison", keyfile, "--lease", LEASE, "--max-deliveries", 3)
      workers = workers + 1
    end
    lu.assertTrue(workers <= 4)
  end
  lu.assertEquals({ t:wait(20) }, { false, "worker lost (3 deliveries)" })
  lu.assertEquals(S:call("XLEN", "luajobs:poison:dead"), 1)
  lu.assertEquals({ p:submit(function() return "fine" end):wait(20) }, { true, "fine" })
end

function TestRemote:test_a_stopped_worker_gives_one_outcome()
  local a = S:worker("stop", keyfile, "--lease", LEASE)
  local p <close> = pool("stop")
  local started, gate = S.dir .. "/st", S.dir .. "/st-gate"
  local t = p:submit(gated, started, gate)
  server.until_(function() return started_on(started) end, 20, "the task to start")
  a:signal("STOP")
  local b = S:worker("stop", keyfile, "--lease", LEASE)
  server.until_(function() return started_on(started) ~= a or io.open(started .. "." .. b.pid) end,
                20, "the task to start elsewhere")
  io.open(gate, "w"):close()
  local ok, where = t:wait(20)
  lu.assertTrue(ok)
  lu.assertEquals(where, b.pid)
  a:signal("CONT")  -- it finishes the task too: its outcome is dropped
  server.until_(function() return S:call("XPENDING", "luajobs:stop", "workers")[1] == 0 end, 20)
  lu.assertEquals(leftover(), {})
end

function TestRemote:test_a_restarted_server_with_appendonly_loses_nothing()
  alone("--appendonly yes --appendfsync always", function()
    S:worker("aof", keyfile, "--lease", LEASE)
    local p <close> = pool("aof")
    local started, gate = S.dir .. "/aof", S.dir .. "/aof-gate"
    local running = p:submit(gated, started, gate)
    local queued = {}
    server.until_(function() return started_on(started) end, 20, "the task to start")
    S:restart()
    for i = 1, 20 do queued[i] = p:submit(function(i) return i * i end, i) end
    io.open(gate, "w"):close()
    lu.assertEquals(select(2, running:wait(30)), S.workers[1].pid)
    for i = 1, 20 do lu.assertEquals({ queued[i]:wait(30) }, { true, i * i }) end
  end)
end

function TestRemote:test_a_restarted_server_without_persistence_ends_tasks_dead()
  alone(nil, function()
    S:worker("lost", keyfile, "--lease", LEASE)
    local p <close> = pool("lost")
    local started, gate = S.dir .. "/lost", S.dir .. "/lost-gate"
    local t = p:submit(gated, started, gate)
    server.until_(function() return started_on(started) end, 20, "the task to start")
    S:restart()
    lu.assertEquals({ t:wait(30) }, { false, "queue lost" })
    io.open(gate, "w"):close()
    lu.assertEquals(select(2, p:submit(function() return "again" end):wait(30)), "again")
  end)
end

-- A loopback proxy to the server, cut and healed by the spec; on a port
-- below the system's ephemeral ones (which the run's many connections
-- take), another if that one will not do.
local function proxy(port)
  local me = {}
  local function up()
    local c = io.popen("redis-cli -p " .. me.port .. " ping 2>/dev/null")
    local out = c:read("a")
    c:close()
    return out:find("PONG")
  end
  local function listen()
    local p = io.popen(("setsid socat TCP-LISTEN:%d,bind=127.0.0.1,fork,reuseaddr TCP:127.0.0.1:%d " ..
                        ">/dev/null 2>&1 & echo $!"):format(me.port, port))
    me.pid = tonumber(p:read("a"))
    p:close()
    return pcall(server.until_, up, 5, "socat")
  end
  function me.start()  -- a port of its own
    for _ = 1, 10 do
      me.port = math.random(20000, 32000)
      if listen() then return end
      me.cut()
    end
    error("cannot start socat")
  end
  function me.heal()  -- on the same port
    server.until_(function() return listen() or me.cut() end, 20, "socat again")
  end
  function me.cut() os.execute("kill -9 -" .. me.pid .. " 2>/dev/null") end
  return me
end

function TestRemote:test_a_partitioned_worker_gives_one_outcome()
  local cut = proxy(S.port)
  cut.start()
  S.via = "redis://127.0.0.1:" .. cut.port
  local a = S:worker("part", keyfile, "--lease", LEASE)
  S.via = nil
  local p <close> = pool("part")
  local started, gate = S.dir .. "/part", S.dir .. "/part-gate"
  local t = p:submit(gated, started, gate)
  server.until_(function() return started_on(started) end, 20, "the task to start")
  lu.assertEquals(started_on(started), a)
  cut.cut()
  local b = S:worker("part", keyfile, "--lease", LEASE)
  server.until_(function() return io.open(started .. "." .. b.pid) end, 20, "the task on the other")
  io.open(gate, "w"):close()
  lu.assertEquals(select(2, t:wait(20)), b.pid)
  cut.heal()  -- the cut worker's late outcome is dropped
  server.until_(function() return S:call("SISMEMBER", "luajobs:part:workers", a.name) == 1 end,
                20, "the cut worker to come back")
  server.until_(function() return S:call("XPENDING", "luajobs:part", "workers")[1] == 0 end, 20)
  lu.assertEquals(leftover(), {})
  cut.cut()
end

function TestRemote:test_queues_are_read_in_order()
  local log = S.dir .. "/order"
  local gate, started = S.dir .. "/order-gate", S.dir .. "/order-started"
  local lo <close> = pool("lo")
  local hi <close> = pool("hi")
  -- two tasks fill the worker (one state, one more held): it takes no more
  -- (the two may reach the queue in either order: each goes by a state
  -- of its own)
  local first = { lo:submit(gated, started, gate), lo:submit(gated, started, gate) }
  S:worker({ "hi", "lo" }, keyfile, "--size", 1)
  server.until_(function() return started_on(started) end, 20, "a first task")
  server.until_(function() return S:call("XPENDING", "luajobs:lo", "workers")[1] == 2 end, 20)
  local function note(log, what)
    local f = io.open(log, "a")
    f:write(what, "\n")
    f:close()
  end
  local ts = { lo:submit(note, log, "lo"), hi:submit(note, log, "hi") }
  server.until_(function() return S:call("XLEN", "luajobs:lo") + S:call("XLEN", "luajobs:hi") == 4 end, 20)
  io.open(gate, "w"):close()
  lu.assertTrue(first[1]:wait(20))
  lu.assertTrue(first[2]:wait(20))
  for _, t in ipairs(ts) do lu.assertTrue(t:wait(20)) end
  local order = {}
  for line in io.lines(log) do order[#order + 1] = line end
  lu.assertEquals(order, { "hi", "lo" })
end

function TestRemote:test_a_long_task_is_not_delivered_again()
  S:worker("long", keyfile, "--lease", LEASE)
  S:worker("long", keyfile, "--lease", LEASE)
  local p <close> = pool("long")
  local runs = S.dir .. "/runs"
  local t = p:submit(function(runs, secs)
    local f = io.open(runs, "a")
    f:write("run\n")
    f:close()
    local until_ = os.clock() + secs
    while os.clock() < until_ do end  -- CPU-bound, past many leases
    return "done"
  end, runs, 5 * LEASE)
  lu.assertEquals({ t:wait(30) }, { true, "done" })
  local n = 0
  for _ in io.lines(runs) do n = n + 1 end
  lu.assertEquals(n, 1)
end

function TestRemote:test_frames_refused_are_dead_lettered_never_loaded()
  S:worker("tags", keyfile)
  local engine = require("jobs.engine_redis").open(S.url)
  local loaded = S.dir .. "/loaded"
  local fn = function(path) io.open(path, "w"):close() end
  local good = jobs.encode({ key = KEY }, fn, loaded)
  local frames = {
    wrong = jobs.encode({ key = "another key" }, fn, loaded),
    truncated = good:sub(1, #good - 5),
    untagged = jobs.encode(nil, "data only"),
    expired = jobs.encode({ key = KEY, ttl = 1 }, fn, loaded),
  }
  local made = os.time()
  server.until_(function() return os.time() > made + 1 end, 5, "the frame to expire")
  local n = 0
  for name, frame in pairs(frames) do
    n = n + 1
    local h = engine:submit("tags", frame, "luajobs:r:spec:" .. name)
    local tag, why
    server.until_(function()
      tag, why = engine:await(h, 0.2)
      return tag
    end, 20, "the refusal of " .. name)
    lu.assertEquals(tag, "D", name)
    lu.assertStrContains(why, "frame refused", false)
  end
  lu.assertEquals(S:call("XLEN", "luajobs:tags:dead"), n)
  lu.assertNil(io.open(loaded))
end

function TestRemote:test_keys_and_memory_return_to_baseline_after_many_tasks()
  alone(nil, function()
    local w = S:worker("many", keyfile, "--size", 2)
    local function rss()  -- the worker's, in KiB
      for line in io.lines("/proc/" .. w.pid .. "/status") do
        local kb = line:match("^VmRSS:%s*(%d+)")
        if kb then return tonumber(kb) end
      end
    end
    local p <close> = pool("many")
    local warm = {}  -- every small state of the pool connected: their
    for i = 1, 500 do warm[i] = p:submit(function() return 1 end) end  -- buffers
    for i = 1, 500 do lu.assertEquals(select(2, warm[i]:wait(30)), 1) end  -- are no data
    local function used()  -- the data's: the connections' buffers apart
      return tonumber(S:call("INFO", "memory"):match("used_memory_dataset:(%d+)"))
    end
    local before, memory, resident = S:call("DBSIZE"), used(), rss()
    for round = 1, 4 do
      local ts = {}
      for i = 1, 2000 do ts[i] = p:submit(function(i) return i * 2 end, i) end
      for i = 1, #ts do
        local ok, v = ts[i]:wait(30)
        if v ~= i * 2 then lu.fail(("round %d, task %d: %s %s"):format(round, i, tostring(ok), tostring(v))) end
      end
      lu.assertEquals(S:call("DBSIZE"), before, "round " .. round)
      lu.assertEquals(S:call("XLEN", "luajobs:many"), 0)
    end
    lu.assertEquals(leftover(), {})
    lu.assertTrue(used() < memory + 256 * 1024, ("used_memory_dataset %d, was %d"):format(used(), memory))
    if (os.getenv("LUAJOBS_SANITIZE") or "") == "" then  -- ASan's quarantine grows
      lu.assertTrue(rss() < resident + 4096, ("the worker's RSS %d KiB, was %d"):format(rss(), resident))
    end
  end)
end

-- A process forked with a connection and a lease: the child's copies are
-- not its own; it makes a connection of its own, and stops no thread.
function TestRemote:test_a_forked_child_uses_connections_of_its_own()
  local process = require "process"
  local redis = require "jobs.redis"
  local c = redis.connect(S.url)
  local lease = redis.lease(S.url, 0.2, { { "SET", "luajobs:spec:lease", "1", "PX", "1000" } })
  lu.assertEquals(c:call("PING"), "PONG")
  local pid = process.fork()
  if pid == 0 then
    local ok = pcall(function()
      assert(c:call("SET", "luajobs:spec:child", "yes") == "OK")
      lease:stop()
    end)
    process.exit(ok and 0 or 1)
  end
  lu.assertEquals(process.wait(pid), 0)
  lu.assertEquals(c:call("GET", "luajobs:spec:child"), "yes")
  lu.assertEquals(c:call("PING"), "PONG")
  lease:stop()
  c:call("DEL", "luajobs:spec:child", "luajobs:spec:lease")
  c:close()
  lu.assertErrorMsgContains("the connection is closed", c.call, c, "PING")
end

function TestRemote:test_a_worker_in_a_lua_process()
  local w = jobs.new(function(url, key)
    local jobs = require "jobs"
    jobs.worker{ engine = url, queue = "inlua", key = key, size = 1, lease = 1 }:run()
  end, S.url, KEY)
  local p <close> = pool("inlua")
  lu.assertEquals({ p:submit(function(x) return x + 1 end, 41):wait(30) }, { true, 42 })
  w:cancel()  -- its lease thread stops as its state closes
  lu.assertEquals({ w:wait(30) }, { false, "cancelled" })
end

function TestRemote:test_an_acl_user_in_the_url()
  alone(nil, function()
    S:call("ACL", "SETUSER", "alice", "on", ">s3cret", "~*", "&*", "+@all")
    S:call("ACL", "SETUSER", "default", "off")
    S.conn:close()
    S.conn = nil
    S.url = S.url:gsub("redis://", "redis://alice:s3cret@")
    S:worker("acl", keyfile)
    local p <close> = pool("acl")
    lu.assertEquals({ p:submit(function() return "as alice" end):wait(30) }, { true, "as alice" })
    local bad = S.url:gsub("s3cret", "wrong")
    lu.assertErrorMsgContains("AUTH", require("jobs.redis").connect, bad)
  end)
end

function TestRemote:test_bad_options()
  lu.assertErrorMsgContains("unknown option 'sise' to 'pool'", jobs.pool,
                            { engine = S.url, queue = "q", sise = 1 })
  lu.assertErrorMsgContains("no engine for nats:// URLs", jobs.pool,
                            { engine = "nats://x", queue = "q" })
  lu.assertErrorMsgContains("rediss:// needs hiredis with TLS", jobs.pool,
                            { engine = "rediss://127.0.0.1:1", queue = "q" })
end

local status = lu.LuaUnit.run()
S:stop()
os.execute("rm -rf " .. S.dir)
os.exit(status, true)
