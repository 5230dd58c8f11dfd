-- cli_spec.lua: luajobs takes the command line of lua5.4 (§7): for each
-- case, the same output, errors and exit status as the interpreter running
-- the specs, with 'jobs' preloaded besides.
local lu = require "luaunit"
local helpers = require "helpers"

local lua = os.getenv("LUA_TEST_EXE") or "lua5.4"
local luajobs = assert(os.getenv("LUAJOBS_EXE"), "LUAJOBS_EXE not set")

TestCommandLine = {}

local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  os.remove(path)
  return s
end

local tmpfile = helpers.tmpfile

-- Runs 'exe' with the arguments 'args', the environment variables 'env'
-- (on top of ours, LUA_INIT unset) and 'stdin'; returns its exit status,
-- output and error output, with its own path written as "LUA".
local function run(exe, args, env, stdin)
  local out, err = os.tmpname(), os.tmpname()
  local input = tmpfile(stdin or "")
  local cmd = { "env -u LUA_INIT -u LUA_INIT_5_4" }
  for k, v in pairs(env or {}) do cmd[#cmd + 1] = k .. "=" .. quote(v) end
  cmd[#cmd + 1] = quote(exe)
  for _, a in ipairs(args) do cmd[#cmd + 1] = quote(a) end
  cmd[#cmd + 1] = "<" .. input .. " >" .. out .. " 2>" .. err
  local ok, _, code = os.execute(table.concat(cmd, " "))
  os.remove(input)
  local plain = exe:gsub("%p", "%%%0")
  return ok and 0 or code, (slurp(out):gsub(plain, "LUA")),
         (slurp(err):gsub(plain, "LUA"))
end

-- Both interpreters must behave alike on 'args', 'env' and 'stdin'.
local function same(args, env, stdin)
  local expected = { run(lua, args, env, stdin) }
  local got = { run(luajobs, args, env, stdin) }
  lu.assertEquals(got, expected)
  return table.unpack(got)
end

local script = tmpfile([[
print("script", arg[0] ~= nil, arg[1], arg[2], #arg, arg[-1] ~= nil, ...)
if arg[1] == "fail" then error("boom") end
if arg[1] == "exit" then os.exit(3) end
]])
local init = tmpfile("print('init from a file')")

function TestCommandLine.test_e_and_arg()
  local code, out = same({ "-e", "print(1, arg[0] ~= nil, #arg)" })
  lu.assertEquals(code, 0)
  lu.assertEquals(out, "1\ttrue\t2\n")  -- arg[1], arg[2]: -e and its code
  same({ "-eprint(2)" })
end

function TestCommandLine.test_a_script_with_arguments()
  local code, out = same({ script, "a", "b" })
  lu.assertEquals(code, 0)
  lu.assertStrContains(out, "script\ttrue\ta\tb\t2\ttrue\ta\tb")
  same({ "--", script, "x" })
end

function TestCommandLine.test_errors_and_exit_codes()
  lu.assertEquals(same({ script, "fail" }), 1)
  lu.assertEquals(same({ script, "exit" }), 3)
  lu.assertEquals(same({ "no/such/file.lua" }), 1)
  lu.assertEquals(same({ "-e", "x = = 1" }), 1)
  lu.assertEquals(same({ "-e", "error({})" }), 1)
  lu.assertEquals(same({ "-e", "error(setmetatable({}, {__tostring = function() return 'obj' end}))" }), 1)
end

function TestCommandLine.test_bad_options_print_the_usage()
  lu.assertEquals(same({ "-x" }), 1)
  lu.assertEquals(same({ "-e" }), 1)
  lu.assertEquals(same({ "-l" }), 1)
  lu.assertEquals(same({ "-vx" }), 1)
  lu.assertEquals(same({ "--x" }), 1)
end

function TestCommandLine.test_l_v_w_and_stdin()
  same({ "-l", "s=string", "-e", "print(s.rep('a', 3))" })
  same({ "-l", "no_such_module" })
  same({ "-W", "-e", "warn('hi')" })
  same({ "-e", "warn('unseen')" })
  same({ "-" }, nil, "print('from stdin', ...)")
  same({}, nil, "print('stdin is not a terminal')")
end

-- -v (and -i, which implies it) says luajobs' version after Lua's.
function TestCommandLine.test_v_shows_both_versions()
  local _, lua_out = run(lua, { "-v" })
  lu.assertEquals({ run(luajobs, { "-v" }) }, { 0, lua_out .. "luajobs 0.2\n", "" })
  local input = "x = 2\nx\nfor i = 1, 2 do\nprint(i) end\n"
  local code, out, err = run(lua, { "-i" }, nil, input)
  out = out:gsub("\n", "\nluajobs 0.2\n", 1)
  lu.assertEquals({ run(luajobs, { "-i" }, nil, input) }, { code, out, err })
  lu.assertEquals(select(2, run(luajobs, { "-e", "print(jobs._VERSION, jobs.version)" })),
                  "luajobs 0.2\tnil\n")
end

-- -h and --help list the options and the prompt's job control.
function TestCommandLine.test_h_lists_the_options_and_job_control()
  for _, option in ipairs({ "-h", "--help" }) do
    local code, out, err = run(luajobs, { option })
    lu.assertEquals({ code, err }, { 0, "" })
    for _, text in ipairs({ "usage: LUA [options] [script [args]]", "-e stat",
                            "-h, --help", "stat &", "jobs      print the status table",
                            "Ctrl-C", "Ctrl-D" }) do
      lu.assertStrContains(out, text)
    end
  end
  lu.assertEquals(run(luajobs, { "-hx" }), 1)
end

function TestCommandLine.test_lua_init_and_E()
  same({ "-e", "print(2)" }, { LUA_INIT = "print('init')" })
  same({ "-e", "print(2)" }, { LUA_INIT = "@" .. init })
  same({ "-e", "print(2)" }, { LUA_INIT_5_4 = "print('versioned')", LUA_INIT = "print('plain')" })
  same({ "-E", "-e", "print(2)" }, { LUA_INIT = "print('init')" })
  lu.assertEquals(same({ "-e", "print(2)" }, { LUA_INIT = "error('bad init')" }), 1)
end

-- A module loaded with -l is a global a function job may name.
function TestCommandLine.test_a_function_job_names_a_module_loaded_with_l()
  local code, out = run(luajobs, { "-l", "jl=jobs.luv", "-e",
    "print(jobs.new(function() return type(jl.start), jl == require('jobs.luv') end):wait())" })
  lu.assertEquals({ code, out }, { 0, "true\tfunction\ttrue\n" })
end

function TestCommandLine.test_jobs_is_preloaded()
  local code, out = run(luajobs, { "-e", "print(require('jobs') == jobs, jobs.new('6 * 7'):wait())" })
  lu.assertEquals({ code, out }, { 0, "true\ttrue\t42\n" })
end

function TestCommandLine.test_the_end_of_a_script_waits_for_its_jobs()
  local code, out = run(luajobs, { "-e", "local jobs = jobs jobs.new(function() jobs.sleep(0.2) print('job done') end)" })
  lu.assertEquals({ code, out }, { 0, "job done\n" })
end

local result = lu.LuaUnit.run()
os.remove(script)
os.remove(init)
os.exit(result, true)
