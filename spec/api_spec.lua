-- api_spec.lua: the typed reference (doc/api.lua, and doc/api.md and the
-- editors' stub lua/jobs/meta.lua made from it by tools/api.lua) names
-- every name the module exports, and nothing it does not.
local lu = require "luaunit"
local helpers = require "helpers"
local jobs = require "jobs"

local LUA = os.getenv("LUA_TEST_EXE") or "lua5.4"
local api = dofile("doc/api.lua")

local readfile = helpers.readfile

-- The names of class 'name' in the reference, of one kind or every kind.
local function documented(name, kind)
  local set = {}
  for _, c in ipairs(api) do
    if c.name == name then
      for _, e in ipairs(c.entries) do
        if kind == nil or e.kind == kind then set[e.name] = true end
      end
    end
  end
  return set
end

local function keys(t)
  local set = {}
  for k in pairs(t) do set[k] = true end
  return set
end

local function union(a, b)
  local set = {}
  for k in pairs(a) do set[k] = true end
  for k in pairs(b) do set[k] = true end
  return set
end

-- The strings of a C array or a chain of strcmp calls in 'file' between
-- the line matching 'from' and the next line matching 'to'.
local function cstrings(file, from, to)
  local text = readfile(file)
  local first = assert(text:find(from), from)
  local last = assert(text:find(to, first + #from), to)
  local set = {}
  for s in text:sub(first, last):gmatch('"([%w_]+)"') do set[s] = true end
  return set
end

-- Each side's names missing from the other, as a message.
local function same(exported, doc, what)
  local missing, extra = {}, {}
  for k in pairs(exported) do if not doc[k] then missing[#missing + 1] = k end end
  for k in pairs(doc) do if not exported[k] then extra[#extra + 1] = k end end
  table.sort(missing)
  table.sort(extra)
  lu.assertEquals({ missing, extra }, { {}, {} },
    ("%s: {not in doc/api.lua}, {in doc/api.lua, not exported}"):format(what))
end

TestApi = {}

function TestApi.test_the_reference_names_everything_the_module_exports()
  local manager = documented("jobs.Manager")
  same(keys(jobs), union(documented("jobs"), manager), "the module")
  same(keys(jobs.manager()), manager, "a manager")
  local j = jobs.new("1")
  j:wait()
  local _, methods = debug.getupvalue(getmetatable(j).__index, 1)
  same(keys(methods), documented("jobs.Job", "method"), "a job's methods")
  same(cstrings("src/job.c", "static int field %(", "\n}\n"),
       documented("jobs.Job", "field"), "a job's fields")
  same(keys(getmetatable(jobs.channel()).__index), documented("jobs.Channel"), "a channel")
  local p <close> = jobs.pool{ size = 1 }
  same(keys(getmetatable(p).__index), documented("jobs.Pool"), "a pool")
  same(cstrings("src/job.c", "known%[%] = {", "};"), documented("jobs.SpawnOptions"),
       "jobs.spawn's options")
  same(cstrings("src/pools.c", "known%[%] = {", "};"), documented("jobs.PoolOptions"),
       "jobs.pool's options")
  same(keys(require("jobs.remote").options), documented("jobs.RemotePoolOptions"),
       "a remote pool's options")
  same(keys(require("jobs.remote").workeroptions), documented("jobs.WorkerOptions"),
       "a worker's options")
  same(keys(jobs.config()), documented("jobs.Config"), "jobs.config's settings")
  same(keys(require "jobs.luv"), documented("jobs.luv"), "jobs.luv")
  same(keys(require "jobs.cqueues"), documented("jobs.cqueues"), "jobs.cqueues")
end

-- doc/api.md and lua/jobs/meta.lua are what tools/api.lua makes now.
function TestApi.test_the_reference_and_the_stub_are_made_from_it()
  local md, meta = os.tmpname(), os.tmpname()
  local ok = os.execute(("%s tools/api.lua doc/api.lua %s %s"):format(LUA, md, meta))
  lu.assertTrue(ok)
  lu.assertEquals(readfile(md), readfile("doc/api.md"),
                  "doc/api.md is stale: run lua5.4 tools/api.lua doc/api.lua doc/api.md lua/jobs/meta.lua")
  lu.assertEquals(readfile(meta), readfile("lua/jobs/meta.lua"), "lua/jobs/meta.lua is stale")
  os.remove(md)
  os.remove(meta)
  local stub = readfile("lua/jobs/meta.lua")
  for name in pairs(jobs) do  -- every name of the module is typed
    lu.assertNotNil(stub:find("function jobs%." .. name .. "%(") or
                    stub:find("function jobs_Manager%." .. name .. "%(") or
                    stub:find("---@field " .. name .. " "), name)
  end
end

os.exit(lu.LuaUnit.run(), true)
