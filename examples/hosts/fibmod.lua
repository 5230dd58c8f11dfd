-- fibmod.lua: what the host examples run in jobs: something slow to
-- compute (their pools load it with 'init'), and a job for their tests
-- that spins until it is stopped.
local M = {}

function M.fib(n)
  if n < 2 then return n end
  -- Spins until stopped; as it is, its <close> handler writes the error that
-- stopped it ("cancelled") in the file 'mark'. It says on 'ready' when the
-- handler is in place.
function M.spin(mark, ready)
  local _ <close> = setmetatable({}, { __close = function(_, err)
    local f = assert(io.open(mark, "w"))
    f:write(tostring(err))
    f:close()
  end })
  ready:push(true)
  while true do end
end

return M.fib(n - 1) + M.fib(n - 2)
end

-- Spins until stopped; as it is, its <close> handler writes the error that
-- stopped it ("cancelled") in the file 'mark'. It says on 'ready' when the
-- handler is in place.
function M.spin(mark, ready)
  local _ <close> = setmetatable({}, { __close = function(_, err)
    local f = assert(io.open(mark, "w"))
    f:write(tostring(err))
    f:close()
  end })
  ready:push(true)
  while true do end
end

return M
