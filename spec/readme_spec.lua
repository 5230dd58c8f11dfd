-- readme_spec.lua: the README's code as a newcomer meets it (§9): its
-- fences pair up, and every Lua block runs as written, printing what its
-- "-->" comments say where that is fixed.
local lu = require "luaunit"
local helpers = require "helpers"

TestReadme = {}

local function readme()
  local f = assert(io.open("README.md"))
  local text = f:read("a")
  f:close()
  return text
end

-- The fenced blocks, in order: { lang = "lua", code = ..., line = n }.
local function blocks(text)
  local list, open, n = {}, nil, 0
  for line in (text .. "\n"):gmatch("(.-)\n") do
    n = n + 1
    local fence, lang = line:match("^(```+)(%S*)%s*$")
    if fence and open == nil then
      open = { lang = lang, code = {}, line = n }
    elseif fence and lang == "" then
      open.code = table.concat(open.code, "\n")
      list[#list + 1] = open
      open = nil
    elseif fence then
      error(("README.md:%d: a fence opens inside the block of line %d")
            :format(n, open.line))
    elseif open then
      open.code[#open.code + 1] = line
    end
  end
  assert(open == nil, "a block never closed")
  return list
end

-- The words of a line, for comparing printed values with a comment.
local function words(s)
  local t = {}
  for w in s:gmatch("%S+") do t[#t + 1] = w end
  return table.concat(t, " ")
end

-- What a block's comments say its prints print, where that is fixed: no
-- "...", no remark in parentheses, no quotes, no addresses.
local function promised(code)
  local list = {}
  for line in code:gmatch("[^\n]+") do
    local said = line:match("^%s*print%b().-%-%->%s*(.-)%s*$")
    if said and not said:find("%.%.%.") and not said:find("[%(\"']") and
       not said:find(",") then
      list[#list + 1] = words(said)
    end
  end
  return list
end

function TestReadme.test_every_fence_pairs_up()
  local list = blocks(readme())
  lu.assertTrue(#list >= 8)
  local lua = 0
  for _, b in ipairs(list) do
    if b.lang == "lua" then lua = lua + 1 end
    lu.assertStrMatches(b.lang, "[%a]*", nil, nil, tostring(b.line))
  end
  lu.assertTrue(lua >= 2)
end

-- A block of remote pools runs against a server and a worker of its own,
-- named to it by LUAJOBS_REDIS.
local remote
local function wrapper(code)
  if not code:find("LUAJOBS_REDIS", 1, true) then return nil end
  if not remote then
    remote = require("remote.server").start()
    local key = remote.dir .. "/key"
    local f = assert(io.open(key, "w"))
    f:write("a secret both ends share")
    f:close()
    remote:worker("render", key)
  end
  return "env LUAJOBS_REDIS=" .. remote.url
end

function TestReadme.test_every_lua_block_runs_as_written()
  for _, b in ipairs(blocks(readme())) do
    if b.lang == "lua" then
      local code, out = helpers.run(b.code, wrapper(b.code))
      lu.assertEquals(code, 0, ("README.md:%d: %s"):format(b.line, out))
      local lines, at = {}, 1
      for line in out:gmatch("[^\n]+") do lines[#lines + 1] = words(line) end
      for _, said in ipairs(promised(b.code)) do
        while at <= #lines and lines[at] ~= said do at = at + 1 end
        lu.assertTrue(at <= #lines, ("README.md:%d: no line %q in\n%s")
                                    :format(b.line, said, out))
        at = at + 1
      end
    end
  end
end

local status = lu.LuaUnit.run()
if remote then
  remote:stop()
  os.execute("rm -rf " .. remote.dir)
end
os.exit(status, true)
