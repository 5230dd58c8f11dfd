-- build_spec.lua: building luajobs by hand, as the README says (§9).
local lu = require "luaunit"

TestBuild = {}

-- What 'command' prints (both streams) and whether it succeeded.
local function run(command)
  local p = assert(io.popen(command .. " 2>&1"))
  local out = p:read("a")
  return p:close() == true, out
end

-- Without luaunit, configuring still works: the tests are off, and a
-- notice says why and what to do.
function TestBuild.test_configure_without_luaunit_turns_the_tests_off()
  local dir = os.tmpname()
  os.remove(dir)
  local cmake = os.getenv("CMAKE") or "cmake"
  local ok, out = run(("%q -S . -B %q -DCMAKE_IGNORE_PATH='/usr/share/lua/5.4;/usr/local/share/lua/5.4'")
                      :format(cmake, dir))
  os.execute(("rm -rf %q"):format(dir))
  lu.assertTrue(ok, out)
  lu.assertStrContains(out, "luajobs: tests off, not found: LUAUNIT_DIR")
  lu.assertStrContains(out, "-DLUAJOBS_TESTS=OFF")
end

os.exit(lu.LuaUnit.run(), true)
