-- debug.gethook reads back what debug.sethook set
local function h() end
print(debug.gethook())
debug.sethook(h, "l", 3)
local f, mask, count = debug.gethook()
debug.sethook()
print(f == h, mask, count)
print(debug.gethook())
local co = coroutine.create(function() coroutine.yield(1) end)
debug.sethook(co, h, "r")
local cf, cm = debug.gethook(co)
print(cf == h, cm, debug.gethook())
print(pcall(debug.sethook, h))
print(pcall(debug.sethook, 42, "c"))
