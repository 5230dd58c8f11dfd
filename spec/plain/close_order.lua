-- <close> order, errors in close, goto
do
  local a <close> = setmetatable({}, { __close = function(_, e) print("a", e) end })
  local b <close> = setmetatable({}, { __close = function(_, e) print("b", e) end })
end
print(pcall(function()
  local a <close> = setmetatable({}, { __close = function(_, e) print("a err", e) end })
  error("E")
end))
print(pcall(function() local x <close> = 42 end))
for i = 1, 3 do
  if i == 2 then goto continue end
  print("i", i)
  ::continue::
end
