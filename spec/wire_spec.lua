-- wire_spec.lua: values as bytes (§12): every row of §4 through a frame and
-- back, in the same state and in a job; what cannot go, with its path; the
-- tag, the code modes, the header's account of its maker; and each class of
-- bad input (cut, flipped, forged, oversized, too deep), refused with a
-- clear error before anything is made of it. routes_spec.lua sends random
-- graphs as bytes; tools/fuzz.sh fuzzes the decoder.
local lu = require "luaunit"
local jobs = require "jobs"
local hmac = require "hmac"

local KEY = "a shared key"
local tagged = { key = KEY }

local function roundtrip(...)
  return jobs.decode(tagged, jobs.encode(tagged, ...))
end

local function refused(pattern, f, ...)
  local ok, err = pcall(f, ...)
  lu.assertFalse(ok, "not refused: " .. pattern)
  lu.assertStrContains(tostring(err), pattern, false)
  return err
end

-- A frame made by hand: a real header with its counts, flags and any
-- 'patch' ({ [byte] = bytes }) replaced, tagged with 'key' if given.
local W = {}  -- the steps of a body (src/wire.c), a byte each
for i, step in ipairs { "NIL", "FALSE", "TRUE", "INT", "FLT", "STR", "NEWKEY",
                        "KEY", "TABLE", "END", "META", "REF", "FUNC", "SRC",
                        "ENV", "JOIN", "NAME" } do
  W[step] = string.char(i - 1)
end

local function varint(n)
  local out = {}
  repeat
    local b = n & 0x7f
    n = n >> 7
    out[#out + 1] = string.char(n ~= 0 and (b | 0x80) or b)
  until n == 0
  return table.concat(out)
end

local function forge(body, n, flags, key, patch)
  local h = jobs.encode(nil):sub(1, 64)
  h = h:sub(1, 5) .. string.char((flags or 0) | (key and 1 or 0)) ..
      h:sub(7, 56) .. string.pack("<I4I4", n, #body)
  for at, bytes in pairs(patch or {}) do
    h = h:sub(1, at - 1) .. bytes .. h:sub(at + #bytes)
  end
  local f = h .. body
  return key and f .. hmac.sha256(key, f) or f
end

-- The frame 'f' with its header patched and tagged again with KEY.
local function retag(f, patch)
  local body = f:sub(65, -33)
  local h = f:sub(1, 64)
  for at, bytes in pairs(patch) do
    h = h:sub(1, at - 1) .. bytes .. h:sub(at + #bytes)
  end
  return h .. body .. hmac.sha256(KEY, h .. body)
end

TestValues = {}

function TestValues.test_scalars_keep_their_subtypes_and_bits()
  local all = {}
  for i = 0, 255 do all[#all + 1] = string.char(i) end
  local bytes = table.concat(all)
  local r = table.pack(roundtrip(nil, true, false, 0, -0.0, 1 / 0, -1 / 0,
                                 0 / 0, math.maxinteger, math.mininteger,
                                 2 ^ 53, 5e-324, 3, 3.0, "", bytes,
                                 string.rep("x", 1 << 20)))
  lu.assertEquals(r.n, 17)
  lu.assertNil(r[1])
  lu.assertIsTrue(r[2]); lu.assertIsFalse(r[3])
  lu.assertEquals(math.type(r[4]), "integer")
  lu.assertEquals(1 / r[5], -1 / 0)  -- -0.0 kept its sign
  lu.assertEquals(r[6], 1 / 0); lu.assertEquals(r[7], -1 / 0)
  lu.assertNotEquals(r[8], r[8])  -- NaN
  lu.assertEquals(r[9], math.maxinteger); lu.assertEquals(r[10], math.mininteger)
  lu.assertEquals(r[11], 2 ^ 53); lu.assertEquals(r[12], 5e-324)
  lu.assertEquals(math.type(r[13]), "integer")
  lu.assertEquals(math.type(r[14]), "float")
  lu.assertEquals(r[15], ""); lu.assertEquals(r[16], bytes)
  lu.assertEquals(#r[17], 1 << 20)
  -- data frames need no key
  lu.assertEquals({ jobs.decode(nil, jobs.encode(nil, 1, "two", { 3 })) },
                  { 1, "two", { 3 } })
end

function TestValues.test_tables_keep_sharing_cycles_metatables_and_keys()
  local shared, mt = { "s" }, { __index = { z = 9 } }
  local t = { shared, shared, [true] = 1, [2.5] = "f", [shared] = "k",
              sub = setmetatable({}, mt), again = setmetatable({}, mt) }
  t.self = t
  local c = roundtrip(t)
  lu.assertIs(c[1], c[2])
  lu.assertIs(c.self, c)
  lu.assertEquals(c[true], 1); lu.assertEquals(c[2.5], "f")
  lu.assertEquals(c[c[1]], "k")
  lu.assertIs(getmetatable(c.sub), getmetatable(c.again))
  lu.assertEquals(c.sub.z, 9)
  local rows = {}
  for i = 1, 1000 do rows[i] = { id = i, name = "row" .. i, score = i / 2 } end
  local back = roundtrip(rows)
  lu.assertEquals(back, rows)
end

function TestValues.test_functions_keep_their_upvalues_shared()
  local n = 0
  local function inc() n = n + 1; return n end
  local function get() return n end
  local function fact(k) return k <= 1 and 1 or k * fact(k - 1) end
  local i2, g2, f2 = roundtrip(inc, get, fact)
  i2(); i2()
  lu.assertEquals(g2(), 2)  -- one upvalue, shared, as before
  lu.assertEquals(n, 0)  -- a copy: the original is untouched
  lu.assertEquals(f2(10), 3628800)  -- a recursive local function
end

function TestValues.test_a_function_takes_the_receivers_globals_and_names()
  local frame = jobs.encode(tagged, function() return WIRE_GLOBAL end,
                            print, string.format, string, require "graphs")
  local ok, r, same, sfmt, str, graphs = jobs.new(function(f, key)
    WIRE_GLOBAL = "the job's"
    local fn, p, fmt, s, g = jobs.decode({ key = key }, f)
    return fn(), p == print, fmt == string.format, s == string,
           package.loaded.graphs == g and type(g.make)
  end, frame, KEY):wait(30)
  lu.assertTrue(ok, r)
  lu.assertEquals({ r, same, sfmt, str, graphs },
                  { "the job's", true, true, true, "function" })
end

function TestValues.test_a_module_is_required_only_for_a_tagged_frame()
  local data = jobs.encode(nil, { g = require "graphs" })
  local ok, err = jobs.new(function(f)
    return pcall(jobs.decode, nil, f)
  end, data):wait(30)
  lu.assertTrue(ok)
  lu.assertStrContains(select(2, jobs.new(function(f)
    return select(2, pcall(jobs.decode, nil, f))
  end, data):wait(30)), "module 'graphs': it is not loaded here, and a "
                       .. "frame with no tag requires no module")
  lu.assertFalse(err == true)
end

function TestValues.test_what_cannot_go_says_what_and_where()
  refused("cannot send channel at argument 2.out to another process",
          jobs.encode, nil, { out = jobs.channel() })
  refused("cannot send userdata (FILE*) at argument 3[1] to another process",
          jobs.encode, nil, 1, { io.stdout })
  refused("cannot send light userdata at argument 2[1] to another process "
          .. "(an address means nothing there)", jobs.encode, nil,
          { debug.upvalueid(roundtrip, 1) })
  refused("cannot send thread at argument 2.co",
          jobs.encode, nil, { co = coroutine.create(print) })
  refused("cannot send function at argument 2.f: a frame that carries code "
          .. "needs a key", jobs.encode, nil, { f = function() end })
  refused("cannot send function at argument 2: a frame that carries code",
          jobs.encode, nil, print)
  refused("cannot send function at argument 2: this frame carries no code",
          jobs.encode, { key = KEY, code = "none" }, function() end)
  local deep = {}
  for _ = 1, 1100 do deep = { deep } end
  refused("nested deeper than 1000 levels", jobs.encode, nil, deep)
  local m = jobs.pool { size = 1 }
  refused("to another process", jobs.encode, nil, m)
  m:close()
  refused("unknown option 'keys'", jobs.encode, { keys = 1 })
  refused("option 'key' must be a non-empty string", jobs.encode, { key = "" })
  refused("option 'code' must be", jobs.encode, { code = "text" })
  refused("option 'replay' is for jobs.decode", jobs.encode,
          { replay = print })
  refused("option 'replay' must be a function", jobs.decode, { replay = 1 },
          jobs.encode(nil))
end

function TestValues.test_tracebacks_keep_lines_unless_stripped()
  local function boom() error("boom") end
  local _, full = pcall(roundtrip, boom)
  local _, err = pcall(full)
  lu.assertStrContains(err, "wire_spec.lua:")
  local bare = jobs.decode(tagged, jobs.encode({ key = KEY, strip = true }, boom))
  _, err = pcall(bare)
  lu.assertEquals(err, "boom")
  lu.assertTrue(#jobs.encode({ key = KEY, strip = true }, boom) <
                #jobs.encode(tagged, boom))
end

function TestValues.test_a_userdata_that_opts_in_goes_as_its_data()
  local counter = require "counter"
  local c = counter.new(41)
  refused("cannot send userdata (counter.Counter) at argument 2.c: a frame "
          .. "that carries code needs a key", jobs.encode, nil, { c = c })
  local f = jobs.encode(tagged, { c, c })
  local back = jobs.decode(tagged, f)
  lu.assertIs(back[1], back[2])  -- one userdata, made once
  lu.assertEquals(back[1]:add(1), 42)
  lu.assertEquals(c:get(), 41)  -- a new counter, not the same one
  local ok, n = jobs.new(function(frame, key)  -- required there, tagged
    return package.loaded.counter == nil and
           require("jobs").decode({ key = key }, frame)[1]:get()
  end, f, KEY):wait(30)
  lu.assertTrue(ok, n)
  lu.assertEquals(n, 41)
end

-- Room for objects is made only for an array that holds them: a long array
-- of numbers costs its own table, not a list of objects besides.
function TestValues.test_an_array_of_numbers_costs_its_table_alone()
  local n = 200000
  local list = {}
  for i = 1, n do list[i] = i end
  local frame = jobs.encode(nil, list)
  collectgarbage()
  collectgarbage("stop")
  local before = collectgarbage("count")
  local back = jobs.decode(nil, frame)
  local kib = collectgarbage("count") - before
  collectgarbage("restart")
  lu.assertEquals(#back, n)
  lu.assertTrue(kib < 1.5 * n * 16 / 1024, ("%.0f KiB"):format(kib))
end

TestCode = {}

function TestCode.test_source_mode_sends_chunks_as_text()
  local chunk = load("local a, b = ... return (a or 1) + (b or 2)")
  local f = jobs.encode({ key = KEY, code = "source" }, chunk)
  lu.assertStrContains(f, "return (a or 1)")
  lu.assertEquals(jobs.decode({ key = KEY, code = "source" }, f)(5), 7)
  refused("only a chunk loaded from a string travels", jobs.encode,
          { key = KEY, code = "source" }, function() end)
  -- a name given at load hides the text: Lua kept the name, not the source
  refused("only a chunk loaded from a string travels", jobs.encode,
          { key = KEY, code = "source" }, load("return 1", "named"))
  refused("frame carries bytecode: refused (code = \"source\"",
          jobs.decode, { key = KEY, code = "source" },
          jobs.encode(tagged, chunk))
  refused("frame carries code: refused (code = \"none\")",
          jobs.decode, { key = KEY, code = "none" }, f)
end

TestTags = {}

function TestTags.test_code_loads_only_from_a_frame_tagged_with_the_key()
  local f = jobs.encode(tagged, function() return 1 end)
  refused("frame carries code and a tag, but no key was given to check it",
          jobs.decode, nil, f)
  refused("frame's tag does not match the key: refused, nothing read",
          jobs.decode, { key = "another key" }, f)
  refused("frame has no tag: refused", jobs.decode, tagged,
          jobs.encode(nil, 1))
  -- the same body with no tag and no flag for code: the reader refuses
  -- the bytecode it meets
  local body = f:sub(65, -33)
  refused("bytecode, which the frame's header does not declare",
          jobs.decode, nil, forge(body, 1, 0))
  refused("frame carries code but no tag", jobs.decode, nil, forge(body, 1, 2))
end

function TestTags.test_every_bit_flipped_is_refused()
  local f = jobs.encode(tagged, { 1, "two", function(x) return x end })
  for i = 1, #f do
    for bit = 0, 7, 3 do
      local g = f:sub(1, i - 1) .. string.char(f:byte(i) ~ (1 << bit)) ..
                f:sub(i + 1)
      local ok = pcall(jobs.decode, tagged, g)
      lu.assertFalse(ok, ("byte %d, bit %d"):format(i, bit))
    end
  end
end

function TestTags.test_expiry_and_replays()
  local f = jobs.encode({ key = KEY, ttl = 60 }, "fresh")
  lu.assertEquals(jobs.decode(tagged, f), "fresh")
  local past = retag(f, { [49] = string.pack("<i8", os.time() - 10) })
  refused("frame expired", jobs.decode, tagged, past)
  local seen = {}
  local function replay(id, expires)
    lu.assertEquals(#id, 16)
    lu.assertTrue(expires >= os.time())
    if seen[id] then return true end
    seen[id] = true
  end
  lu.assertEquals(jobs.decode({ key = KEY, replay = replay }, f), "fresh")
  refused("frame replayed", jobs.decode, { key = KEY, replay = replay }, f)
  local g = jobs.encode({ key = KEY, id = string.rep("i", 16) }, 1)
  lu.assertEquals(g:sub(33, 48), string.rep("i", 16))
  local h = jobs.encode({ key = KEY, id = string.rep("i", 16) }, 1)
  lu.assertEquals(g, h)  -- the same values, id and key: the same frame
  lu.assertNotEquals(jobs.encode(tagged, 1), jobs.encode(tagged, 1))
end

function TestTags.test_the_header_says_why_its_code_cannot_load_here()
  local f = jobs.encode(tagged, function() end)
  refused("frame made by Lua 5.4 with 32-bit integers; this is Lua 5.4 with "
          .. "64-bit integers", jobs.decode, tagged, retag(f, { [10] = "\4" }))
  refused("frame made by Lua 5.4 with 32-bit floats; this is Lua 5.4 with "
          .. "64-bit floats", jobs.decode, tagged, retag(f, { [11] = "\4" }))
  refused("frame made by Lua 5.4 with a big-endian machine's numbers; this is "
          .. "Lua 5.4 with a little-endian machine's numbers",
          jobs.decode, tagged, retag(f, { [17] = string.pack(">i8", 0x5678) }))
  refused("frame made by Lua 5.3; this is Lua 5.4, which cannot load its "
          .. "code", jobs.decode, tagged, retag(f, { [7] = string.pack("<I2", 503) }))
  -- data does not depend on the maker's sizes
  local d = jobs.encode(tagged, { 1.5, 7 })
  lu.assertEquals(jobs.decode(tagged, retag(d, { [10] = "\4", [7] = "\247\1" })),
                  { 1.5, 7 })
end

TestBadInput = {}

function TestBadInput.test_what_is_no_frame_or_not_all_of_one()
  refused("not a luajobs frame (too short)", jobs.decode, nil, "")
  refused("not a luajobs frame (it does not begin as one)", jobs.decode, nil,
          string.rep("x", 100))
  local f = jobs.encode(tagged, { 1, 2, 3 }, "four")
  refused("frame of format 2; this luajobs reads format 1", jobs.decode,
          tagged, f:sub(1, 4) .. "\2" .. f:sub(6))
  for cut = 0, #f - 1 do
    lu.assertFalse(pcall(jobs.decode, tagged, f:sub(1, cut)), cut)
  end
  refused("frame cut short", jobs.decode, tagged, f:sub(1, -2))
  refused("frame followed by 1 bytes that are not its own", jobs.decode,
          tagged, f .. "x")
  refused("bad argument #2", jobs.decode, nil, {})
end

function TestBadInput.test_forged_bodies_are_refused_where_they_go_wrong()
  local cases = {
    { W.STR .. varint(1 << 40) .. "abc", "a string of 1099511627776 where 3 bytes remain" },
    { W.TABLE .. varint(1 << 30) .. varint(0) .. "\9", "a table of 1073741824 where 2 bytes remain" },
    { W.TABLE .. varint(3) .. varint(3) .. string.rep("\0", 8), "a table of 6 entries where 8 bytes remain" },
    { W.INT .. string.rep("\255", 11), "a number of more than 64 bits" },
    { W.FLT .. "abc", "it ends in the middle of a float" },
    { W.REF .. varint(1), "object 1, of 0 read" },
    { W.KEY .. varint(2), "key 2, of 0 read" },
    { W.TABLE .. "\0\1" .. W.NIL .. W.TRUE .. W.END, "a table key that is nil" },
    { W.TABLE .. "\0\1" .. W.FLT .. string.pack("<d", 0 / 0) .. W.TRUE .. W.END, "a table key that is NaN" },
    { W.TABLE .. "\0\0" .. W.META .. W.INT .. "\2", "a metatable that is a number" },
    { W.TABLE .. "\0\1" .. W.TRUE .. W.TRUE, "it ends in the middle of a table" },
    { "\99", "no value begins with 99" },
    { W.NIL .. W.NIL, "1 bytes after the last value" },
    { W.SRC .. varint(8) .. "return 1" .. "\1" .. W.ENV, "source code, which the frame's header does not declare" },
    { W.NAME .. varint(6) .. "string" .. varint(7) .. "format", "a C function, which the frame's header does not declare" },
    { W.NAME .. varint(5) .. "nomod" .. "\0", "module 'nomod': it is not loaded here" },
  }
  for i, case in ipairs(cases) do
    local err = refused(case[2], jobs.decode, nil, forge(case[1], 1, 0))
    lu.assertStrContains(err, "bad frame: byte ", false, i)
  end
  refused("bad frame: byte 0 of its body: 5 values in 1 bytes", jobs.decode,
          nil, forge("\0", 5, 0))
end

function TestBadInput.test_forged_code_in_a_tagged_frame_is_checked_too()
  local src = varint(8) .. "return 1"
  local cases = {
    { W.SRC .. src .. varint(2) .. W.ENV .. W.ENV, "a function of 1 upvalues said to have 2" },
    { W.SRC .. src .. varint(1) .. W.JOIN .. varint(1) .. varint(2), "upvalue 1 shared with no upvalue" },
    { W.SRC .. src .. varint(1) .. W.JOIN .. varint(2) .. varint(1), "upvalue 1 shared with no upvalue" },
    { W.SRC .. varint(5) .. "retur" .. varint(1) .. W.ENV, "syntax error" },
    { W.SRC .. varint(4) .. "\27Lua" .. varint(1) .. W.ENV, "attempt to load a binary chunk (mode is 't')" },
  }
  for _, case in ipairs(cases) do
    refused(case[2], jobs.decode, tagged, forge(case[1], 1, 4, KEY))
  end
  local f = jobs.decode(tagged, forge(W.SRC .. src .. varint(1) ..
                                      W.ENV, 1, 4, KEY))
  lu.assertEquals(f(), 1)
end

function TestBadInput.test_nesting_past_the_limit_is_refused_at_any_depth()
  for _, depth in ipairs { 1001, 100000 } do
    local body = string.rep(W.TABLE .. "\0\1" .. W.TRUE, depth) .. W.NIL ..
                 string.rep(W.END, depth)
    refused("nested deeper than 1000 levels", jobs.decode, nil,
            forge(body, 1, 0))
  end
  local ok, err = jobs.new(function(frame)  -- a job's thread, its C stack
    return pcall(jobs.decode, nil, frame)
  end, jobs.encode(nil, (function()
    local t = {}
    for _ = 1, 999 do t = { t } end
    return t
  end)())):wait(60)
  lu.assertTrue(ok, err)
end

os.exit(lu.LuaUnit.run(), true)
