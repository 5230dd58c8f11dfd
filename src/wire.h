/*
** wire.h: the body of a frame (SPEC §12): the bytes copy.c's walk writes
** for a value graph (its byte end), and the reading of them into a state
** through build.c, the receiving end of a copy.
*/
#ifndef wire_h
#define wire_h

#include <stddef.h>

#include "lua.h"


/* What a frame's body may hold besides data: the walk sets them as it
** writes, the frame's header carries them, and a reader allows only those. */
#define JOBS_WBYTECODE	2  /* Lua functions as bytecode */
#define JOBS_WSOURCE	4  /* Lua functions as source text */
#define JOBS_WCFUNCTION	8  /* C functions, by name */
#define JOBS_WCODE	(JOBS_WBYTECODE | JOBS_WSOURCE | JOBS_WCFUNCTION)

/* How Lua functions are written: jobs.encode's 'code'. */
enum { JOBS_CODEBYTECODE, JOBS_CODESOURCE, JOBS_CODENONE };


/* Bytes being written, in a userdata at 'slot' of 'L' (so that an error
** frees them), which grows as they do. */
typedef struct jobs_Out {
  lua_State *L;
  int slot;
  unsigned char *p;
  size_t n, size;
  int code;  /* JOBS_CODE* */
  int strip;  /* bytecode without debug information */
  int keyed;  /* the frame will be tagged: code may go in it */
  int has;  /* JOBS_W* of what was written */
} jobs_Out;

/* Pushes onto L the userdata of 'o', with room for 'size' bytes. */
void jobs_outopen (lua_State *L, jobs_Out *o, size_t size);

/* Makes room for 'more' bytes after the 'n' written; returns where. */
unsigned char *jobs_outroom (jobs_Out *o, size_t more);


/* The byte end of the walk: each writes one step of the value graph. */
void jobs_putscalar (jobs_Out *o, lua_State *L, int idx);
void jobs_putref (jobs_Out *o, lua_Integer n);
void jobs_putnewkey (jobs_Out *o, const char *s, size_t len);  /* numbered */
void jobs_putkey (jobs_Out *o, lua_Integer n);  /* the n-th new key again */
void jobs_puttable (jobs_Out *o, lua_Unsigned narr, lua_Unsigned nrec);
void jobs_putend (jobs_Out *o, int meta);
void jobs_putname (jobs_Out *o, const char *mod, const char *field);
void jobs_putfunction (jobs_Out *o, lua_State *L, int idx, int nups);
void jobs_putsource (jobs_Out *o, const char *s, size_t len, int nups);
void jobs_putmaker (jobs_Out *o, const char *maker);
void jobs_putenv (jobs_Out *o);
void jobs_putjoin (jobs_Out *o, lua_Integer fn, int n);


/*
** Reads the 'n' values of the body 'p' (of 'len' bytes) onto L, allowing
** only the JOBS_W* of 'allow'; names of modules not loaded in L are
** required if 'require' is set (a tagged frame), else an error. Raises in
** L on any byte it cannot take, saying which and why.
*/
void jobs_readbody (lua_State *L, const unsigned char *p, size_t len,
                    lua_Integer n, int allow, int require);

#endif
