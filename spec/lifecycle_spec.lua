-- lifecycle_spec.lua: the random tester of lifecycles (spec/lifecycle.lua),
-- each seed in a fresh interpreter, which must print its "ok" and end
-- with status 0: no crash, hang, leak or race as objects are made, used,
-- cancelled, closed, collected, reloaded and used from finalizers (§3,
-- §5, §6, §10). FUZZ_RUNS=2000 FUZZ_SEED=1 FUZZ_OPS=1000 runs it longer.
local lu = require "luaunit"

local RUNS = tonumber(os.getenv("FUZZ_RUNS")) or 30
local SEED = tonumber(os.getenv("FUZZ_SEED")) or 20261206
local OPS = tonumber(os.getenv("FUZZ_OPS")) or 150

-- Runs spec/lifecycle.lua for 'seed'; its status and what it printed.
local function run(seed)
  local exe = os.getenv("LUA_TEST_EXE") or "lua5.4"
  local p = assert(io.popen(("timeout 120 %s spec/lifecycle.lua %d %d 2>&1")
                            :format(exe, seed, OPS)))
  local out = p:read("a")
  local ok, _, code = p:close()
  return ok and 0 or code, out
end

TestLifecycle = {}

function TestLifecycle.test_random_lifecycles_end_cleanly()
  for i = 1, RUNS do
    local seed = SEED + i
    local code, out = run(seed)
    lu.assertEquals(code, 0, ("seed %d:\n%s"):format(seed, out))
    lu.assertStrContains(out, "ok " .. seed, false,
                         ("seed %d:\n%s"):format(seed, out))
  end
end

os.exit(lu.LuaUnit.run(), true)
