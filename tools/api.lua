-- api.lua API MD META: makes the API reference MD (doc/api.md) and the
-- lua-language-server stub META (lua/jobs/meta.lua) from the structured
-- reference API (doc/api.lua). spec/api_spec.lua checks that both are
-- what this makes, and that API names everything the module exports.
local api = dofile(arg[1])

-- How the reference names each class's value in examples.
local VAR = { ["jobs"] = "jobs", ["jobs.Manager"] = "m", ["jobs.Job"] = "job",
              ["jobs.Channel"] = "ch", ["jobs.Pool"] = "p",
              ["jobs.SpawnOptions"] = "options", ["jobs.PoolOptions"] = "options",
              ["jobs.Config"] = "settings", ["jobs.luv"] = "jobsluv",
              ["jobs.cqueues"] = "jobscq" }

local function names(params)
  local list = {}
  for i, p in ipairs(params or {}) do list[i] = p[1] end
  return table.concat(list, ", ")
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

-- The reference in Markdown.
local function markdown()
  local out = { "# luajobs API reference\n\n",
                "Every name the module exports, typed. Made by `tools/api.lua` from\n",
                "`doc/api.lua` (edit that, not this); the README says more of each.\n" }
  local function add(...) for _, s in ipairs({ ... }) do out[#out + 1] = s end end
  for _, c in ipairs(api) do
    add("\n## `", c.name, "`\n\n", c.doc, "\n")
    if c.alias then add("\n`", c.alias, "`\n") end
    for _, e in ipairs(c.entries or {}) do
      local var = VAR[c.name]
      if e.kind == "field" then
        add("\n### `", var, ".", e.name, "`: `", e.type, "`\n\n", e.doc, "\n")
      else
        add("\n### `", var, e.kind == "method" and ":" or ".", e.name, "(",
            names(e.params), ")`\n\n", e.doc, "\n")
        if e.params and #e.params > 0 then
          add("\n")
          for _, p in ipairs(e.params) do
            add("- `", p[1], "`: `", p[2], "`", p[3] ~= "" and " — " .. p[3] or "", "\n")
          end
        end
        if e.returns then
          local list = {}
          for i, r in ipairs(e.returns) do
            list[i] = "`" .. r[1] .. "`" .. ((r[2] or "") ~= "" and " (" .. r[2] .. ")" or "")
          end
          add("\nReturns ", table.concat(list, ", "), ".\n")
        end
        if e.errors then add("\nRaises: ", e.errors, ".\n") end
      end
    end
  end
  return table.concat(out)
end

-- The stub, for editors: what the C module holds, typed.
local function stub()
  local out = { "---@meta jobs\n",
                "-- meta.lua: luajobs' types for lua-language-server (the module is C).\n",
                "-- Made by tools/api.lua from doc/api.lua; do not edit.\n" }
  local function add(...) for _, s in ipairs({ ... }) do out[#out + 1] = s end end
  for _, c in ipairs(api) do
    if c.alias then
      add("\n---", c.doc, "\n---@alias ", c.name, " ", c.alias, "\n")
    elseif not c.module then
      local var = c.name:gsub("%.", "_")
      add("\n---", c.doc, "\n---@class ", c.name, c.parent and ": " .. c.parent or "", "\n")
      for _, e in ipairs(c.entries) do
        if e.kind == "field" then add("---@field ", e.name, " ", e.type, " ", e.doc, "\n") end
      end
      add("local ", var, " = {}\n")
      for _, e in ipairs(c.entries) do
        if e.kind ~= "field" then
          add("\n---", e.doc, "\n")
          for _, p in ipairs(e.params or {}) do
            add("---@param ", p[1], " ", p[2], p[3] ~= "" and " " .. p[3] or "", "\n")
          end
          for _, r in ipairs(e.returns or {}) do
            add("---@return ", r[1], (r[2] or "") ~= "" and " # " .. r[2] or "", "\n")
          end
          add("function ", var, e.kind == "method" and ":" or ".", e.name, "(",
              names(e.params), ") end\n")
        end
      end
    end
  end
  add("\nreturn jobs\n")
  return table.concat(out)
end

write(arg[2], markdown())
write(arg[3], stub())
