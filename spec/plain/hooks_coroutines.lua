-- hooks in coroutines: set on another, counts, names seen by a hook
local ev = {}
local co = coroutine.create(function(a)
  local b = a + 1
  coroutine.yield(b)
  return b * 2
end)
debug.sethook(co, function(e, line) ev[#ev + 1] = e .. (line and (":" .. line) or "") end, "crl")
print(coroutine.resume(co, 1))
print(coroutine.resume(co))
print(table.concat(ev, " "))
local names = {}
debug.sethook(function(e)
  local info = debug.getinfo(2, "nS")
  names[#names + 1] = e .. ":" .. tostring(info.name) .. ":" .. info.what
end, "cr")
local w = coroutine.wrap(function() return 1 end)
w()
pcall(error, "x")
coroutine.close(coroutine.create(print))
load("return 1")()
debug.sethook()
print(table.concat(names, " "))
local n = 0
debug.sethook(function() n = n + 1 end, "", 10)
for i = 1, 1000 do local _ = i * 2 end
debug.sethook()
print(n > 100, n < 1000)
local inner = {}
local c3 = coroutine.wrap(function()
  debug.sethook(function(e) inner[#inner + 1] = e end, "r")
  local function f() end
  f()
  debug.sethook()
  coroutine.yield(#inner)
end)
print(c3(), debug.gethook())
local lines = {}
debug.sethook(function(_, l) lines[#lines + 1] = l end, "l")
local s = 0
for i = 1, 3 do
  s = s + i
end
debug.sethook()
print(table.concat(lines, ","))
