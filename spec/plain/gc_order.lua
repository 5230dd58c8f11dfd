-- finalizers: order, resurrection, errors, and __close with __gc
local order = {}
for i = 1, 3 do setmetatable({}, { __gc = function() order[#order + 1] = i end }) end
collectgarbage()
print(table.concat(order, ","))
local saved
do setmetatable({}, { __gc = function(o) saved = o end }) end
collectgarbage()
print(type(saved))
local mt = { __gc = function() error("in gc") end }
setmetatable({}, mt)
print(pcall(collectgarbage))
print(collectgarbage("isrunning"), collectgarbage("step", 0) ~= nil)
do
  local a <close> = setmetatable({}, { __close = function() print("close a") end,
                                       __gc = function() print("gc a") end })
end
collectgarbage()
local weak = setmetatable({}, { __mode = "k" })
weak[{}] = 1
collectgarbage()
print(next(weak))
print(collectgarbage("incremental"), collectgarbage("generational"), collectgarbage("incremental"))
