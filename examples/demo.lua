-- demo.lua: several jobs at once, from functions and from strings.
-- Run: LUA_CPATH="build/?.so" lua5.4 examples/demo.lua
local jobs = require "jobs"

local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end

local list = {
  jobs.new(fib, 27),                                  -- a function and its argument
  jobs.new(fib, 28),
  jobs.new("fib(n)", { fib = fib, n = 26 }),          -- a string, with its env
  jobs.new("string.rep('ab', 3):upper()"),            -- an expression
  jobs.new(function(t) table.sort(t) return table.concat(t, " ") end,
           { "pear", "fig", "apple" }),              -- a table crosses as a copy
  jobs.new(function() error({ code = 7 }) end),       -- a job that dies
}
print(("started %d jobs; they run while this script goes on"):format(#list))

for _, job in ipairs(list) do
  local ok, value = job:wait()
  local shown = ok and tostring(value) or ("error.code = " .. value.code)
  print(("[%d] %-9s %-32s -> %s"):format(job.num, job.status, job.name, shown))
end
