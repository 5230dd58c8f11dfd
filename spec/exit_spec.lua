-- exit_spec.lua: closing a state waits for its running jobs and frees them (§5).
local lu = require "luaunit"
local helpers = require "helpers"

TestExit = {}

-- Runs 'script' in a fresh interpreter: it must exit with status 0 having
-- printed 'expected'.
local function exits(script, expected)
  local code, out = helpers.run(script)
  lu.assertEquals(code, 0)
  lu.assertEquals(out, expected)
end

-- The job waits until the script's very last statement has run, then works
-- a while before it prints: only a close that waits lets it print.
local script = [[
local jobs = require "jobs"
local gate = %q
jobs.new(function(gate, nested)
  while not io.open(gate) do end
  local inner = nested and require("jobs").new(function()
    local x = 0 for i = 1, 2e7 do x = x + i end
    io.write("inner finished\n")
  end)
  local x = 0 for i = 1, 2e7 do x = x + i end
  io.write("job finished\n")
end, gate, %s)
print("script ends")
assert(io.open(gate, "w")):close()
]]

function TestExit.test_script_end_waits_for_a_running_job()
  local gate = helpers.gate()
  exits(script:format(gate.path, "false"), "script ends\njob finished\n")
  gate.close()
end

function TestExit.test_a_finished_jobs_state_waits_for_its_own_jobs()
  local gate = helpers.gate()
  local code, out = helpers.run(script:format(gate.path, "true"))
  lu.assertEquals(code, 0)
  lu.assertStrContains(out, "inner finished\n")
  lu.assertStrContains(out, "job finished\n")
  gate.close()
end

function TestExit.test_uncollected_results_are_freed_at_exit()
  -- A leak here fails the sanitizer builds.
  exits([[
    local jobs = require "jobs"
    local keep = {}
    for i = 1, 20 do keep[i] = jobs.new(function() return { string.rep("x", 1000) } end) end
    for i = 1, 20 do jobs.new(function() error({ "dropped" }) end) end
    keep[1]:wait()
    print("ok")
  ]], "ok\n")
end

function TestExit.test_a_spinning_daemon_job_is_cancelled_at_exit()
  exits([[
    local jobs = require "jobs"
    jobs.spawn({ daemon = true }, function() while true do end end)
    jobs.config{ max_threads = 1 }
    jobs.spawn({ daemon = true }, "'in line'")
    print("script ends")
  ]], "script ends\n")
end

-- At exit a daemon is cancelled for good: a <close> handler that never
-- ends does not keep the host from exiting.
function TestExit.test_a_daemon_stuck_closing_is_cancelled_at_exit()
  exits([[
    local jobs = require "jobs"
    jobs.spawn({ daemon = true }, function()
      local stuck <close> = setmetatable({}, { __close = function() while true do end end })
      while true do end
    end)
    print("script ends")
  ]], "script ends\n")
end

-- With at_close "cancel", closing the state cancels every job, daemon and
-- pool task still running: their <close> handlers run, each within its
-- grace (one that never ends is stopped), and the host goes on. Before,
-- the close waited for them for ever.
function TestExit.test_at_close_cancel_cancels_every_job_at_exit()
  local code, out = helpers.run([[
    local jobs = require "jobs"
    jobs.config{ at_close = "cancel" }
    local ready = jobs.channel()
    local function closing(ready, name, stuck)
      local c <close> = setmetatable({}, { __close = function()
        io.write(name .. " closed\n")  -- one write: jobs write at once
        while stuck do end
      end })
      ready:push(true)
      while true do end
    end
    jobs.new(closing, ready, "job")
    jobs.spawn({ daemon = true }, closing, ready, "daemon")
    jobs.spawn({ grace = 0.01 }, closing, ready, "stuck", true)
    local p = jobs.pool{ size = 1 }
    p:submit(closing, ready, "task")
    for _ = 1, 4 do ready:pop() end
    io.write("script ends\n")
  ]])
  lu.assertEquals(code, 0, out)
  local lines = {}
  for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
  table.sort(lines)
  lu.assertEquals(lines, { "daemon closed", "job closed", "script ends", "stuck closed", "task closed" })
end

function TestExit.test_exit_waits_for_a_slow_job_beside_a_daemon()
  exits([[
    local jobs = require "jobs"
    jobs.spawn({ daemon = true }, function() while true do end end)
    local told = jobs.channel()  -- the job writes after the script, by order
    jobs.new(function(told) told:pop() io.write("slow job done\n") end, told)
    io.write("script ends\n")
    told:push(true)
  ]], "script ends\nslow job done\n")
end

function TestExit.test_jobs_in_line_run_before_exit()
  local code, out = helpers.run([[
    local jobs = require "jobs"
    jobs.config{ max_threads = 1 }
    for i = 1, 3 do jobs.new(function() io.write(("job %d\n"):format(i)) end) end  -- one write
    io.write("script ends\n")  -- one write too: print writes the newline apart
  ]])
  lu.assertEquals(code, 0)
  lu.assertStrContains(out, "script ends\n")
  lu.assertEquals(select(2, out:gsub("job %d\n", "")), 3)
end

-- os.exit in a job ends that job, never its host: "dead", with an error
-- naming the exit and its code, and no pcall keeps it going.
function TestExit.test_os_exit_in_a_job_ends_the_job_not_the_host()
  exits([[
    local jobs = require "jobs"
    local j = jobs.spawn({ output = "capture" }, function()
      print("before")
      pcall(os.exit, 5)
      print("after")
    end)
    print(j:wait())
    print(j.status, j.output == "before\n", j:traceback():match("in function 'os.exit'") ~= nil)
    print(jobs.new(function() os.exit(true) end):wait())
    print(jobs.new("os.exit(false, true)"):wait())
    print("host goes on")
  ]], "false\tos.exit(5) ended the job\ndead\ttrue\ttrue\n" ..
      "false\tos.exit(0) ended the job\nfalse\tos.exit(1) ended the job\n" ..
      "host goes on\n")
end

os.exit(lu.LuaUnit.run(), true)
