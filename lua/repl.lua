-- repl.lua: the job control of the luajobs prompt (src/luajobs.c), over
-- the jobs module: what is said before a prompt, after '&', and at the end.

local jobs = ...
local repl = {}

local targets = setmetatable({}, { __mode = "k" })  -- job -> the global
                                                   -- its line assigns

local GROUP = 5  -- more jobs ended at once are said a line per status

-- "[1]-[12], [14], [p2:1]-[p2:3]": the numbers of 'list', in order, runs
-- of one pool's (or the manager's) consecutive numbers joined.
local function numbers(list)
  table.sort(list, function(a, b)
    if (a.pool or 0) ~= (b.pool or 0) then return (a.pool or 0) < (b.pool or 0) end
    return a.num < b.num
  end)
  local out, i = {}, 1
  local function label(job)  -- as listings say it: "[3]", "[p2:1]"
    return jobs.describe(job):match("^%b[]")
  end
  while i <= #list do
    local j = i
    while list[j + 1] and list[j + 1].pool == list[i].pool and
          list[j + 1].num == list[j].num + 1 do
      j = j + 1
    end
    out[#out + 1] = label(list[i]) .. (j > i and "-" .. label(list[j]) or "")
    i = j + 1
  end
  return table.concat(out, ", ")
end

-- Says the jobs of 'list' a line per status: "30 completed: [1]-[30]".
local function grouped(list)
  local order, of = {}, {}
  for _, job in ipairs(list) do
    if not of[job.status] then
      of[job.status] = {}
      order[#order + 1] = job.status
    end
    table.insert(of[job.status], job)
  end
  for _, status in ipairs(order) do
    io.stdout:write(#of[status], " ", status, ": ", numbers(of[status]), "\n")
  end
end

-- Says which jobs finished since the last look: one line each, or past
-- GROUP at once, a line per status. A job of a line "x = expr &" that
-- completed sets x, and says "[3] x = 6765".
function repl.announce()
  local rest = {}
  for _, job in ipairs(jobs.poll()) do
    local name = targets[job]
    if name and job.status == "completed" then
      _G[name] = job.result
      io.stdout:write("[", job.num, "] ", name, " = ", tostring(job.result), "\n")
    else
      rest[#rest + 1] = job
    end
  end
  if #rest > GROUP then
    grouped(rest)
  else
    for _, job in ipairs(rest) do io.stdout:write(jobs.describe(job), "\n") end
  end
end

-- The global and the expression of a line "name = expr" (not "=="), or
-- nil: at a prompt, "x = fib(20) &" means "set x when it is done".
function repl.assignment(code)
  local name, expr = string.match(code, "^%s*([%a_][%w_]*)%s*=%s*([^=%s].-)%s*$")
  return name, expr
end

-- Says which job a line ending in '&' started: "[5] fib(32)", or for an
-- assignment to 'name', "[5] x = fib(32)".
function repl.started(job, name)
  if name then targets[job] = name end
  io.stdout:write("[", job.num, "] ", name and name .. " = " or "", job.name, "\n")
end

-- How many jobs the end of the session waits for: all those of the state
-- still unfinished (of any manager, and pools' tasks) but daemons, which
-- it cancels.
function repl.awaited()
  local n, daemons = jobs.unfinished()
  return n - daemons
end

-- Waits a while for them, 'seconds' at most; returns whether all ended.
function repl.await(seconds)
  if repl.awaited() == 0 then return true end
  for _, job in ipairs(jobs.list()) do
    if not job.done and not job.daemon then
      job:wait(seconds)
      return false
    end
  end
  jobs.sleep(seconds)  -- pools' tasks, other managers' jobs
  return false
end

-- Cancels them (a Ctrl-C while waiting): the default manager's now, and
-- every other as the state closes.
function repl.cancel()
  jobs.cancel_all()
  jobs.config{ at_close = "cancel" }
end

return repl
