-- debug.getinfo levels and names, debug.traceback
local function named() return debug.getinfo(1, "n").name, debug.getinfo(2, "S").what end
print(named())
local t = { m = function() return debug.getinfo(1, "n").namewhat end }
print(t.m(), t:m())
print(debug.traceback("msg", 1))
local function deeper() return debug.traceback("msg", 2) end
print(deeper())
print(debug.getinfo(print).what, debug.getinfo(1, "l").currentline)
print(pcall(debug.getinfo, 1, ">"))
local function lv() return debug.getlocal(1, 1) end
print(lv())
