-- demo.lua: several jobs at once, from functions and from strings.
-- Run: LUA_CPATH="build/?.so" lua5.4 examples/demo.lua
local jobs = require "jobs"

local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local n = 26

jobs.new(fib, 27)                                     -- a function and its argument
jobs.new(fib, 28)
jobs.new("fib(n)")                                    -- a string: fib and n come along
jobs.new("string.rep('ab', 3):upper()")               -- an expression
jobs.new(function(t) table.sort(t) return table.concat(t, " ") end,
         { "pear", "fig", "apple" })                  -- a table crosses as a copy
jobs.new(function() error("no such file") end)        -- a job that dies
print(("started %d jobs; they run while this script goes on"):format(#jobs.list()))

jobs.wait_all()
jobs()                                                -- the status of every job
