-- jobs.lua: the Lua half of luajobs, run once per state over the C core.
-- Owns the manager's printouts and checks; its bookkeeping is in C.

local core = ...

-- The libraries it uses: the state's, or its own in a job without them.
local string, table, math = core.string, core.table, core.math
local format, match, gsub, find = string.format, string.match, string.gsub,
                                  string.find
local rep, sub, write = string.rep, string.sub, core.io.write

-- The groups of a status printout, in order, and their headings.
local statuses = { "running", "completed", "dead", "cancelled", "created" }
local headings = { running = "Running", completed = "Completed",
                   dead = "Dead", cancelled = "Cancelled", created = "Queued" }

local SHORT = 40  -- characters of a name, a result or an error a line shows

-- The first line of 's', cut to SHORT characters.
local function short(s)
  local line = match(s, "^[^\n]*")
  if #line > SHORT then return sub(line, 1, SHORT - 3) .. "..." end
  return #line < #s and line .. "..." or line
end

-- A job's name as a line shows it: a function's, "function <source:line>",
-- keeps its line and the end of its source (what tell it apart); any
-- other as 'short' cuts it (job.c's pushshort cuts alike).
local function shortname(s)
  if #s > SHORT and match(s, "^function <[^\n]*:%d+>$") then
    return "function <..." .. sub(s, -(SHORT - 13))
  end
  return short(s)
end

-- A value as a listing shows it: a string quoted, anything else as tostring.
local function show(v)
  if type(v) == "string" then return (gsub(format("%q", v), "\\\n", "\\n")) end
  return tostring(v)
end

-- How far a running job says it is: a fraction in [0, 1] as a bar and a
-- percentage, anything else as text; then its message.
local function progress(job)
  local p, msg = job.progress, job.progress_message
  msg = (msg and msg ~= "") and " " .. short(msg) or ""
  if math.type(p) and p >= 0 and p <= 1 then
    local filled = math.floor(p * 10 + 0.5)
    return format("  [%s%s] %d%%%s", rep("#", filled), rep("-", 10 - filled),
                  math.floor(p * 100 + 0.5), msg)
  elseif p ~= nil then
    return "  " .. short(tostring(p)) .. msg
  end
  return msg ~= "" and " " .. msg or ""
end

-- What a job's line ends with: its results, why it did not finish, or how
-- far it is.
local function outcome(job, status)
  if status == "running" then
    return progress(job)
  elseif status == "completed" then
    local shown, results = {}, table.pack(job:results())
    for i = 1, results.n do shown[i] = show(results[i]) end
    return "  -> " .. short(table.concat(shown, ", "))
  elseif status == "dead" or job.error == "timeout" then
    local err = tostring(job.error)
    local chunk, rest = match(err, '^%[string "(.-)"%]:(%d+:.*)')
    if chunk and find(job.name, (gsub(chunk, "%.%.%.$", "")), 1, true) == 1 then
      err = "line " .. rest  -- the job's own code, which its name shows
    end
    return "  -- " .. short(err)
  end
  return ""
end

-- One line about a job: number (padded to 'numwidth' digits), status (or
-- 'status', as read with the others of a listing), name (padded to
-- 'width'), elapsed seconds, and how it ended or how far it is.
local function describe(job, width, status, numwidth)
  local pool = job.pool  -- a task says which pool's: "[p2:1]"
  local name = shortname(job.name)
  local num = "[" .. (pool and "p" .. pool .. ":" or "") .. job.num .. "]"
  status = status or job.status
  return format("%s%s %-9s  %s%s  %.2fs%s", num,
                rep(" ", (numwidth or 0) + 2 - #num), status, name,
                rep(" ", (width or 0) - #name), job.elapsed,
                outcome(job, status))
end

-- Checks argument 'n' of 'fname', a wait's seconds: nil or a non-negative
-- number; the error points at the caller's line.
local function checkseconds(seconds, n, fname)
  if seconds ~= nil and not (math.type(seconds) and seconds >= 0) then
    local got = math.type(seconds) and tostring(seconds) or type(seconds)
    error(format("bad argument #%d to '%s' (non-negative number of seconds " ..
                 "expected, got %s)", n, fname, got), 3)
  end
end

local function manager()
  local c = core.manager()
  local numbered = c.jobs
  local maxthreads = math.huge
  local m = { new = c.new, spawn = c.spawn, manager = manager,
              describe = describe }

  -- Its job number 'n', or an error naming the caller.
  local function get(n, fname)
    local job = numbered[n]
    if job == nil then
      error(format("bad argument #1 to '%s' (no job #%s)", fname,
                   tostring(n)), 3)
    end
    return job
  end

  -- Its jobs with 'status' (any if nil), in the order of their numbers.
  function m.list(status)
    if status ~= nil and not headings[status] then
      error(format("bad argument #1 to 'list' (unknown status '%s')",
                   tostring(status)), 2)
    end
    return (c.list(status))
  end

  -- The status printout, a line each, grouped by status as read at once.
  -- Lines are joined a thousand at a time: a long table of new strings
  -- would be old, and walked at each collection, long before its end.
  local function report()
    local list, states = c.list()
    local groups, width = {}, 0
    for i, job in ipairs(list) do
      local group = groups[states[i]] or {}
      groups[states[i]] = group
      group[#group + 1] = i
      width = math.max(width, #shortname(job.name))
    end
    local numwidth = #list > 0 and #tostring(list[#list].num) or 0
    local text, lines = {}, {}
    local function add(line)
      lines[#lines + 1] = line
      if #lines == 1000 then
        text[#text + 1] = table.concat(lines, "\n")
        lines = {}
      end
    end
    for _, status in ipairs(statuses) do
      if groups[status] then
        add(headings[status] .. ":")
        for _, i in ipairs(groups[status]) do
          add("  " .. describe(list[i], width, status, numwidth))
        end
      end
    end
    text[#text + 1] = #lines > 0 and table.concat(lines, "\n") or nil
    return #text > 0 and table.concat(text, "\n") or "No jobs."
  end

  function m.status()
    write(report(), "\n")
  end

  function m.result(n)
    return get(n, "result"):results()
  end

  -- Shows the traceback of job 'n' (or of the job or task given), or of
  -- every dead job.
  function m.traceback(n)
    local list = n == nil and m.list("dead") or
                 { math.type(n) and get(n, "traceback") or n }
    for _, job in ipairs(list) do
      local tb = job:traceback()
      if tb then write(describe(job), "\n", tb, "\n") end
    end
  end

  function m.remove(n)
    local job = get(n, "remove")
    if not job.done then
      error(format("job #%d is %s: cancel it or wait for it first", n,
                   job.status), 2)
    end
    c.unlist(n)
  end

  -- Removes every finished job; returns how many.
  m.flush = c.flush

  function m.wait_all(seconds)
    checkseconds(seconds, 1, "wait_all")
    return c.waitall(seconds)
  end

  -- The first job of 'list' to finish. Without a list, the first of the
  -- manager's jobs not returned yet: each is returned once, so a loop
  -- handles every job as it finishes.
  function m.wait_any(list, seconds)
    if type(list) == "number" then
      checkseconds(list, 1, "wait_any")
      list, seconds = nil, list
    end
    checkseconds(seconds, 2, "wait_any")
    if list ~= nil then return core.wait(list, seconds) end
    return c.waitany(seconds)
  end

  -- Cancels every unfinished job, those in line first; returns how many.
  function m.cancel_all()
    local list, states = c.list()
    local count = 0
    for i = #list, 1, -1 do
      if (states[i] == "created" or states[i] == "running") and
         list[i]:cancel() then
        count = count + 1
      end
    end
    return count
  end

  -- config{max_threads = N}: at most N jobs run at once (math.huge: no
  -- limit); config{at_close = "wait" | "cancel"}: closing the state waits
  -- for the jobs still running, or cancels them (the state's, whatever
  -- manager sets it). Returns the settings now in force.
  function m.config(settings)
    if settings ~= nil then
      if type(settings) ~= "table" then
        error("bad argument #1 to 'config' (table expected)", 2)
      end
      for key in pairs(settings) do
        if key ~= "max_threads" and key ~= "at_close" then
          error(format("unknown setting '%s' to 'config'", tostring(key)), 2)
        end
      end
      local at = settings.at_close
      if at ~= nil and at ~= "wait" and at ~= "cancel" then
        error("bad setting 'at_close' to 'config' " ..
              "(\"wait\" or \"cancel\" expected)", 2)
      end
      local max = settings.max_threads
      if max ~= nil then
        if max ~= math.huge and (math.type(max) ~= "integer" or max < 1) then
          error("bad setting 'max_threads' to 'config' " ..
                "(positive integer or math.huge expected)", 2)
        end
        c.setlimit(max == math.huge and 0 or max)
        maxthreads = max
      end
      if at ~= nil then c.atclose(at) end
    end
    return { max_threads = maxthreads, at_close = c.atclose() }
  end

  -- tostring(jobs), and 'jobs' alone at the luajobs prompt, show the same.
  return setmetatable(m, { __index = numbered, __call = m.status,
                           __tostring = report })
end

-- p:map(fn, list): the table of fn(list[i]), in order. The items go to the
-- pool's states several to a task (about eight tasks a state, so that one
-- slow part does not hold the rest); the first item to fail, in the
-- list's order, raises its error with its index.
local poolsize, move = core.poolsize, table.move

-- Raises, at map's caller, the error of the task of the items from
-- 'first': a copy's names the item by its place in the list, not in the
-- task's values ("argument 1[3]", "result 1[3]"); fn's own error value is
-- kept, a string one prefixed with its item ('i', in the task).
local function mapfail(err, first, i)
  if type(err) ~= "string" then error(err, 3) end
  local what, where, k, rest = err:match("^(cannot copy .- at )(%a+) 1%[(%d+)%](.*)$")
  if what then
    local item = first + tonumber(k) - 1
    error(format("map: item %d: %s%sitem %d%s", item, what,
                 where == "result" and "the result of " or "", item, rest), 3)
  end
  error(i and format("map: item %d: %s", first + i - 1, err) or err, 3)
end

function core.poolmethods.map(p, fn, list)
  if type(list) ~= "table" then
    error(format("bad argument #2 to 'map' (table expected, got %s)", type(list)), 2)
  end
  local n = #list
  local per = math.max(1, n // ((type(p) == "table" and p.size or poolsize(p)) * 8))
  local function run(items)  -- one function for all the tasks of this map
    local out = {}
    for i = 1, #items do
      local ok, v = pcall(fn, items[i])
      if not ok then return nil, i, v end
      out[i] = v
    end
    return out
  end
  local tasks = {}
  for first = 1, n, per do
    local last = math.min(first + per - 1, n)
    local ok, task = pcall(p.submit, p, run, move(list, first, last, 1, {}))
    if not ok then mapfail(task, first) end
    tasks[#tasks + 1] = task
  end
  local result = {}
  for k = 1, #tasks do
    local first = (k - 1) * per + 1
    local ok, out, i, err = tasks[k]:wait()
    if not ok then mapfail(out, first) end
    if out == nil then mapfail(err, first, i) end
    move(out, 1, math.min(per, n - first + 1), first, result)
  end
  return result
end

-- How long jobs.await's naps are: the first, and the longest it doubles to.
local NAP, LONGNAP = 0.001, 0.02

-- jobs.await(job, sleep [, seconds]): what job:wait([seconds]) returns, for
-- a host whose Lua may sleep but not block (HAProxy's core.msleep): between
-- looks at the job, it calls sleep(s), s seconds, which lets the host run.
local function await(job, sleep, seconds)
  checkseconds(seconds, 3, "await")
  if type(sleep) ~= "function" and not (getmetatable(sleep) or {}).__call then
    error(format("bad argument #2 to 'await' (sleep function expected, " ..
                 "got %s)", type(sleep)), 2)
  end
  local deadline = seconds and core.now() + seconds
  local nap = NAP
  while not job.done do
    local left = deadline and deadline - core.now()
    if left and left <= 0 then return nil, "timeout" end
    sleep(left and math.min(nap, left) or nap)
    nap = math.min(nap * 2, LONGNAP)
  end
  return job:wait()
end

local jobs = manager()
jobs.await = await
jobs.pool = core.pool
-- jobs.worker{...}: a worker of remote pools, from jobs.remote at first use.
function jobs.worker(options) return require("jobs.remote").worker(options) end
jobs.sleep = core.sleep
jobs.cancelled = core.cancelled
jobs.self = core.self
jobs.progress = core.progress
jobs.channel = core.channel
jobs.encode, jobs.decode = core.encode, core.decode
jobs.poll = core.poll
jobs.fd = core.fd
jobs.unfinished = core.unfinished
jobs._VERSION = core._VERSION
return jobs
