# Turns the Lua file IN into a C header OUT defining 'static const char NAME[]'
# (its bytes, without a terminating zero), so the library carries it.
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}" "/* generated from ${IN}: do not edit */\nstatic const char ${NAME}[] = {\n${bytes}\n};\n")
