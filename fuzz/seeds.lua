-- fuzz/seeds.lua DIR: writes frames of every kind to DIR, as the fuzzer's
-- first corpus (tools/fuzz.sh): data, shared and cyclic tables, metatables,
-- functions as bytecode and as source, C functions and modules by name.
local jobs = require "jobs"
local dir = assert(arg[1], "usage: seeds.lua DIR")
local key = { key = "fuzz key" }
local up = { 1 }
local function f(x) up[1] = up[1] + x; return up end
local function g() return up end
local cyc = { "c" }
cyc.self = cyc
local frames = {
  jobs.encode(nil),
  jobs.encode(nil, nil, true, false, 0, -0.0, 1 / 0, 0 / 0, math.mininteger,
              "", "\0\255", string.rep("s", 300)),
  jobs.encode(nil, { 1, 2, 3, x = { y = { z = {} } } }),
  jobs.encode(nil, cyc, { cyc, cyc }),
  jobs.encode(nil, setmetatable({}, { __index = { a = 1 } })),
  jobs.encode(nil, { { id = 1, name = "a" }, { id = 2, name = "b" } }),
  jobs.encode(nil, string, { m = math }),
  jobs.encode(key, f, g),
  jobs.encode({ key = "fuzz key", strip = true }, f),
  jobs.encode({ key = "fuzz key", code = "source" },
              load("local a = ... return a * 2")),
  jobs.encode(key, print, string.format, { p = table.concat }),
}
for i, frame in ipairs(frames) do
  local out = assert(io.open(("%s/seed%02d"):format(dir, i), "wb"))
  out:write(frame)
  out:close()
end
