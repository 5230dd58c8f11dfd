-- load with modes and environments
print(load("return x", "c", "t", { x = 5 })())
print(load(string.dump(function() return 1 end), "b", "t"))
print(load("return 1", "=name", "b"))
print(load("x = = 1", "=bad"))
local parts = { "return ", "1 + ", "2" }
local i = 0
print(load(function() i = i + 1; return parts[i] end)())
print(pcall(load, function() error("reader") end))
local env = setmetatable({}, { __index = _G })
load("y = 9", "c", "t", env)()
print(env.y, rawget(_G, "y"))
print(select("#", load("return ...", "c")(1, 2, 3)))
