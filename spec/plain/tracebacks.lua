-- tracebacks from inside the library's functions: a <close> handler that
-- coroutine.close runs, a reader of load, a wrapped coroutine, a coroutine
local co = coroutine.create(function()
  local x <close> = setmetatable({}, { __close = function() print(debug.traceback("in close")) end })
  coroutine.yield()
end)
coroutine.resume(co)
print(coroutine.close(co))
local done = false
print(load(function()
  if done then return nil end
  done = true
  print(debug.traceback("in reader"))
  return "return 1"
end))
local w = coroutine.wrap(function() print(debug.traceback("in wrap")) error("wrapped", 2) end)
print(pcall(w))
local c2 = coroutine.create(function() local function deep() coroutine.yield() end deep() end)
coroutine.resume(c2)
print(debug.traceback(c2))
print(debug.traceback(c2, "msg", 1))
print(select(2, coroutine.resume(coroutine.create(function() error("in co") end))))
print(pcall(coroutine.close, 42))
print(pcall(coroutine.resume, 42))
print(pcall(coroutine.wrap, 42))
print(select(2, xpcall(function() local t <close> = setmetatable({}, { __close = function() end }); error({}) end, debug.traceback)))
print(select(2, xpcall(function() return ("x"):bad() end, debug.traceback)))
