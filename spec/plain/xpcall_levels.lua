-- a message handler that reads its levels
print(xpcall(function() error("x") end, function(m)
  return m .. " " .. tostring(debug.getinfo(2, "n").name) .. " " ..
         debug.getinfo(2, "S").what
end))
print(xpcall(function() local t = nil; return t.x end, function(m)
  return tostring(debug.getinfo(2, "S").what) .. ": " .. m
end))
print(xpcall(function(a, b) return a + b end, print, 2, 3))
print(pcall(xpcall))
print(pcall(xpcall, print))
