-- require of Lua modules, C modules, preload and failures
local lu = require "luaunit"
print(type(lu), type(lu.assertEquals), package.loaded.luaunit == lu)
print(require("string") == string, require "coroutine" == coroutine)
package.preload.mine = function(name, extra) return { name = name, extra = extra } end
local m, extra = require "mine"
print(m.name, m.extra, extra)
print(select(2, pcall(require, "no.such.module")))
print(pcall(require))
print(package.config:sub(1, 1), type(package.searchers), #package.searchers)
print(type(package.searchpath), package.searchpath("no.such", "./?.lua"))
package.loaded.mine = nil
print(require("mine") ~= m)
