-- xpcall with debug.traceback, the most common error idiom
local function inner() error("boom") end
print(select(2, xpcall(inner, debug.traceback)))
print(select(2, xpcall(inner, debug.traceback, "extra")))
