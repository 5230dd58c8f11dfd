-- hook events with every mask, around a call
local function run(mask, count)
  local ev = {}
  debug.sethook(function(e) ev[#ev + 1] = e end, mask, count)
  local function f() local x = 1; return x end
  f()
  debug.sethook()
  print(mask, count, table.concat(ev, ","))
end
run("c")
run("r")
run("cr")
run("l")
run("crl")
run("", 1)
local n = 0
debug.sethook(function() n = n + 1; if n == 2 then print(debug.getinfo(2, "S").short_src) end end, "c")
local function g() end
g()
debug.sethook()
