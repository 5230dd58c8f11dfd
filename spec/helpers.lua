-- helpers.lua: what several specs share.
local helpers = {}

-- What an error says to do about a userdata that cannot cross.
helpers.uncopyable = ": open it inside the job (userdata crosses only if "
                     .. "its module opts in through jobs.h)"

-- What an error says to do about a C function that cannot cross.
helpers.unreachable = ": make it inside the job (only C functions of "
                      .. "modules in package.loaded cross, by name; a host's "
                      .. "own API lives only in the host's state: give the "
                      .. "job data, not the API)"

-- A gate a job can wait behind: the job spins until the file exists, so a
-- spec decides exactly when it finishes, with no sleep involved.
function helpers.gate()
  local path = os.tmpname()
  os.remove(path)
  local gate = { path = path }
  function gate.open() assert(io.open(path, "w")):close() end
  function gate.close() os.remove(path) end
  return gate
end

-- The body of a gated job: returns 'value' once the gate at 'path' opens.
-- A spec that fails before opening its gate must not hang the run: after
-- a minute the job gives up with an error.
function helpers.behind(path, value)
  local limit = os.time() + 60
  while os.time() < limit do
    local f = io.open(path)
    if f then f:close() return value end
  end
  error("gate " .. path .. " never opened")
end

-- What malloc holds for the C side once the default manager is flushed
-- and Lua's collector has run: Lua's own heap left out.
function helpers.settled()
  local jobs, heap = require "jobs", require "heap"
  jobs.flush()
  collectgarbage()
  collectgarbage()
  return heap.inuse() - collectgarbage("count") * 1024
end

-- What 'fn' writes with io.write, as a string.
function helpers.written(fn)
  local path = os.tmpname()
  local old = io.output()
  io.output(path)
  local ok, err = pcall(fn)
  io.output():close()
  io.output(old)
  local f = assert(io.open(path))
  local text = f:read("a")
  f:close()
  os.remove(path)
  assert(ok, err)
  return text
end

-- The contents of the file at 'path'.
function helpers.readfile(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- A new temporary file holding 'contents'; returns its path.
function helpers.tmpfile(contents)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(contents)
  f:close()
  return path
end

-- Runs a Lua script in a fresh interpreter (the one running the specs),
-- behind the command 'wrapper' if given ("prlimit --sigpending=0");
-- returns its exit status and everything it printed. One that hangs is
-- killed after a minute (status 124).
function helpers.run(script, wrapper)
  local exe = os.getenv("LUA_TEST_EXE") or "lua5.4"
  local file = helpers.tmpfile(script)
  local p = assert(io.popen(("timeout 60 %s %s %s 2>&1"):format(wrapper or "", exe, file)))
  local out = p:read("a")
  local ok, _, code = p:close()
  os.remove(file)
  return ok and 0 or code, out
end

return helpers
