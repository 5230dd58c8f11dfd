/*
** frame.h: jobs.encode and jobs.decode (SPEC §12), whose C twins are in
** jobs.h; and the layout of a frame's header, which the fuzzer forges too.
*/
#ifndef frame_h
#define frame_h

#include "lua.h"

/* jobs.encode(options, ...) -> frame */
int jobs_luaencode (lua_State *L);

/* jobs.decode(options, frame) -> ... */
int jobs_luadecode (lua_State *L);


/*
** The header, 64 bytes; then the body (wire.c); then, if the frame is
** tagged, the HMAC-SHA256 of header and body under the key. Multi-byte
** fields are least significant byte first; the probes are as this machine
** has them, so that a reader of bytecode can tell byte order and sizes.
*/
#define MAGIC	"\x89LJF"  /* not text: a frame mangled as text is no frame */
#define FORMAT	1
#define O_FORMAT	4
#define O_FLAGS	5  /* F_TAGGED, F_STRIPPED and JOBS_W* */
#define O_LUA	6  /* 2 bytes: LUA_VERSION_NUM */
#define O_INSTRUCTION	8  /* sizes of Instruction, lua_Integer, lua_Number */
#define O_INTEGER	9
#define O_NUMBER	10
#define O_IPROBE	16  /* 8 bytes: LUAC_INT as a lua_Integer */
#define O_NPROBE	24  /* 8 bytes: LUAC_NUM as a lua_Number */
#define O_ID	32  /* 16 bytes */
#define O_EXPIRES	48  /* 8 bytes: Unix time, 0 for none */
#define O_VALUES	56  /* 4 bytes */
#define O_BODY	60  /* 4 bytes: the body's length */
#define HEADSIZE	64
#define TAGSIZE	32
#define IDSIZE	16

#define F_TAGGED	1
#define F_STRIPPED	16

#endif
