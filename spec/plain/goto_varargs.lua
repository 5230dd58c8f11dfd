-- goto, varargs, integer loops, metamethods, string methods
local i = 1
::top::
local seen = {}
if i <= 3 then seen[#seen + 1] = i i = i + 1 goto top end
print(table.concat(seen, " "))
local function v(...) return select("#", ...), ... end
print(v(nil, nil), v(), table.pack(v(1, nil)).n)
seen = {}
for k = math.maxinteger - 2, math.maxinteger do seen[#seen + 1] = k end
for x = 1, 2, 0.5 do seen[#seen + 1] = x end
print(table.concat(seen, " "))
print(pcall(function() for _ = 1, 10, 0 do end end))
local mt = { __index = function(_, k) return k .. "!" end, __call = function(_, a) return a * 2 end,
             __concat = function(a, b) return "cat" end, __len = function() return 99 end,
             __eq = function() return true end, __lt = function() return true end,
             __close = nil, __name = "MyType" }
local a, b = setmetatable({}, mt), setmetatable({}, mt)
print(a.key, a(21), a .. "x", #a, a == b, a < b, rawequal(a, b))
print(pcall(function() return a + 1 end))
print(tostring(setmetatable({}, { __tostring = function() return "T" end })))
print(pcall(tostring, setmetatable({}, { __tostring = function() return 1 end })))
print(("%s|%10.3s|%-3s|"):format("a", "abcdef", "b"), ("abc"):byte(-1), ("x"):rep(0))
print(string.format("%q", "a\0b\n\"c"), string.format("%q", math.mininteger), string.format("%a", 1))
print(table.concat({ 1, 2.5, "x" }, "-"), pcall(table.concat, { {} }))
print(table.unpack({ 1, 2, 3 }, 2), select(-1, 1, 2, 3), pcall(select, 0))
local t = { 5, 2, 8, 1 }
table.sort(t, function(x, y) return x > y end)
print(table.concat(t, " "), table.move({ 1, 2, 3 }, 1, 3, 2)[3], next({}))
print(math.ult(1, -1), math.abs(math.mininteger), math.fmod(-7, 3), math.fmod(7, -3.0))
print(pcall(math.fmod, 1, 0), math.floor(-0.5), math.ceil(-0.5), 2^-1074 > 0)
print(utf8.len("h\xe4"), utf8.char(0x10FFFF):byte(1, -1))
print(select("#", ...), ...)
