-- fork_spec.lua: what fork() does to the module (§14): a child has none of
-- its parent's jobs, runs its own, and ends without waiting for threads it
-- does not have. HAProxy's master-worker mode forks so.
local lu = require "luaunit"
local helpers = require "helpers"

TestFork = {}

-- The plain build only: no sanitizer here can host a fork with threads
-- running. ThreadSanitizer refuses to start a thread in such a child
-- ("starting new threads after multi-threaded fork is not supported"),
-- and every child here does. AddressSanitizer's allocator (gcc 12's) takes
-- no lock around a fork: a thread of the parent's allocating then leaves
-- the allocator locked in the child, whose next allocation hangs (1 run in
-- about 20 here). glibc's malloc holds its locks across a fork.
local function hosted()
  lu.skipIf((os.getenv("LUAJOBS_SANITIZE") or "") ~= "",
            "no sanitizer can host a fork with threads running")
end

-- Runs 'script' (given 'jobs' and 'process'); returns its lines, those of
-- the child (its lines start with "child") first, each process's in order.
local function run(script)
  local status, out = helpers.run('local jobs, process = require "jobs", require "process"\n'
                                  .. script)
  lu.assertEquals(status, 0, out)
  local child, others = {}, {}
  for line in out:gmatch("[^\n]+") do
    table.insert(line:match("^child") and child or others, line)
  end
  return table.move(others, 1, #others, #child + 1, child)
end

-- A job running, one in line, one finished, an idle thread, a clock: the
-- child's objects of the parent's unfinished jobs say they are not its
-- own, its own jobs, pool tasks and timeouts work, and its state closes.
-- Before, the child's first job never ran, and its close waited for ever.
function TestFork.test_a_child_has_none_of_its_parents_jobs_and_runs_its_own()
  hosted()
  local lines = run([[
    local ready = jobs.channel()
    local limited = jobs.manager()
    limited.config{ max_threads = 1 }
    local spin = limited.new(function(ready) ready:push(true) while true do end end, ready)
    local queued = limited.new("return 'queued'")
    local timed = jobs.spawn({ timeout = 600 }, "jobs.sleep(math.huge)")
    local done = jobs.new("return 'done'")
    ready:pop()
    done:wait()
    local pid = process.fork()
    if pid == 0 then
      print("child", spin.status, select(2, spin:wait(10)))
      print("child", queued.status, timed.status, spin:cancel(), done.result)
      print("child", jobs.new(function(x) return x * 2 end, 21):wait(10))
      print("child", jobs.spawn({ timeout = 0.01 }, "while true do end"):wait(10))
      local p = jobs.pool{ size = 1 }
      print("child", p:submit(function() return "task" end):wait(10))
      p:close()
      print("child", limited.wait_all(10), jobs.unfinished())
      return  -- the state closes
    end
    spin:cancel()
    timed:cancel()
    print("parent", spin:wait(10))
    print("parent", queued:wait(10))
    print("parent", process.wait(pid))
  ]])
  lu.assertStrMatches(lines[1], "child\tdead\tjob #1 ran in process %d+, which forked this one "
                                .. "%(a child has none of its parent's jobs%)")
  lu.assertEquals({ table.unpack(lines, 2) }, {
    "child\tdead\tdead\tfalse\tdone",
    "child\ttrue\t42",
    "child\tfalse\ttimeout",
    "child\ttrue\ttask",
    "child\ttrue\t0\t0",
    "parent\tfalse\tcancelled",
    "parent\ttrue\tqueued",
    "parent\t0",
  })
end

-- A job that forks: its child is no job's thread, and gets the host's
-- signal mask, not the job thread's, which blocks all but the cancel's.
function TestFork.test_a_forking_jobs_child_gets_the_hosts_signal_mask()
  hosted()
  local lines = run([[
    local j = jobs.new(function()
      local process, sigmask = require "process", require "sigmask"
      local pid = process.fork()
      if pid == 0 then process.exit(sigmask.blocked(15) and 1 or 7) end
      return process.wait(pid)
    end)
    print(j:wait(10))
  ]])
  lu.assertEquals(lines, { "true\t7" })
end

-- A frame's id is a random prefix drawn once a process and a count: a
-- child draws its own, or its frames would repeat ids its parent's have.
function TestFork.test_a_childs_frames_have_ids_of_their_own()
  local lines = run([[
    local function prefix()
      return (jobs.encode(nil, 1):sub(33, 40):gsub(".", function(c)
        return ("%02x"):format(c:byte())
      end))
    end
    local mine = prefix()
    io.stdout:flush()
    local pid = process.fork()
    if pid == 0 then
      print("child", prefix() ~= mine, prefix() == prefix())
      io.stdout:flush()
      process.exit(0)
    end
    print("parent", process.wait(pid), prefix() == mine)
  ]])
  lu.assertEquals(lines, { "child\ttrue\ttrue", "parent\t0\ttrue" })
end

os.exit(lu.LuaUnit.run(), true)
