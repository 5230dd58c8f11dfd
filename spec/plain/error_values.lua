-- errors of every type, with levels, and assert
for _, v in ipairs({ "s", 42, 4.5, true, {} }) do
  local ok, e = pcall(error, v)
  print(ok, type(e), type(e) == "table" and "table" or tostring(e))
end
print(pcall(error))
print(pcall(error, nil))
local function f() error("lvl2", 2) end
print(pcall(function() f() end))
print(pcall(function() error("lvl0", 0) end))
print(pcall(assert, false))
print(pcall(assert, nil, "custom"))
print(select("#", pcall(assert, 1, 2, 3)))
print(pcall(assert))
print(select(2, pcall(error, setmetatable({}, { __tostring = function() return "obj" end }))))
