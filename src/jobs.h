/*
** jobs.h: what a C host or another C module may call (SPEC §8).
** Every function here is called on the thread that owns the lua_State given.
*/
#ifndef jobs_h
#define jobs_h

#include "lua.h"

#define LUAJOBS_VERSION	"luajobs 0.2"

#if !defined(JOBS_API)
#define JOBS_API	__attribute__((visibility("default")))
#endif

/*
** Opens the module in L and pushes its table, as 'require "jobs"' does.
** Call it (or luaL_requiref(L, "jobs", luaopen_jobs, 1)) on the thread that
** owns L, once per state. Jobs started from L run on threads of their own;
** lua_close(L) waits for those still running before it returns (daemons
** are cancelled first; after jobs.config{at_close = "cancel"} in L, every
** job is, its <close> handlers each within its grace: for hosts that
** close their state on stop and give Lua no hook to cancel jobs from).
** After fork(), the child has none of the parent's jobs: those unfinished
** are "dead" there, saying so, new ones work, and lua_close waits for no
** thread of the parent's; a job that forks gives its child the host's
** signal mask.
** The first call in a process takes a signal for cancels: the highest
** real-time signal with no handler then (JOBS_CANCELSIGNAL at build time
** names another); it raises if none is free. It takes a backup too, for
** when the kernel's queue of pending signals is full: the first of
** SIGSTKFLT, SIGURG and SIGPWR with no handler (JOBS_BACKUPSIGNALS). Job
** threads unblock only those two, so the host's own signals keep going to
** the host's threads; give them no handler of your own after. The signal mask of the thread
** making that first call is kept as the host's: the processes a job
** starts (its os.execute and io.popen) get it, not the job thread's.
*/
JOBS_API int luaopen_jobs (lua_State *L);

/*
** The descriptor that becomes readable when a job started from L finishes,
** as jobs.fd() (-1 if the module is not open in L). Wait on it in your own
** loop (select, poll, epoll) from any thread; it stays valid until
** lua_close(L).
*/
JOBS_API int jobs_fd (lua_State *L);

/*
** Does what jobs.poll() does in L: runs pending on_done callbacks and pushes
** the list of jobs finished since the last poll. Returns LUA_OK, or, like
** lua_pcall, an error status with the error pushed instead. Call it on the
** thread that owns L, with room for 3 values on L's stack.
*/
JOBS_API int jobs_poll (lua_State *L);

/*
** jobs_interrupt(1), for a host's SIGINT handler (it is async-signal-safe),
** as luajobs calls it for Ctrl-C: the wait of the module running on a
** thread that is not a job's, or the next to begin, returns within
** JOBS_BREAKTIME seconds and takes the interrupt. job:wait(), a channel's
** pop and push and a manager's wait_any() and wait_all() return nil,
** "interrupted" (a push queues nothing), jobs.sleep() returns early. A
** handler that also sets a hook, as lua.c's does, raises "interrupted!" as
** the function returns. jobs_interrupt(0) drops an interrupt no wait took:
** call it before running code that a new interrupt should stop.
*/
JOBS_API void jobs_interrupt (int on);


/*
** Values as bytes (SPEC §12), as jobs.encode and jobs.decode, with the
** options of the table at index 'opts' of L (0: none): jobs_encode pushes
** the frame of the 'n' values at 'first'; jobs_decode pushes the values
** of the frame 's' of 'len' bytes and returns how many. Both raise in L,
** saying why (a value that cannot go, a frame refused or malformed); a
** frame's code is loaded only after its tag is checked with the key.
*/
JOBS_API void jobs_encode (lua_State *L, int first, int n, int opts);
JOBS_API int jobs_decode (lua_State *L, const char *s, size_t len, int opts);


/*
** {======================================================
** Userdata that may cross between states (SPEC §4)
** =======================================================
**
** A full userdata crosses when its metatable has the field JOBS_COPYFIELD
** holding a light userdata that points to a jobs_Copyable of static
** duration, made with JOBS_COPYABLE:
**   static const jobs_Copyable copyable = JOBS_COPYABLE(copy);
** Its 'magic' tells it from any other light userdata there (a forged one
** is refused, not called). To copy it, luajobs calls 'copy(from, idx, to)' on the thread
** that owns both states at that moment; it pushes onto 'to' the value that
** stands for the userdata at 'idx' of 'from': a new userdata sharing the same
** C object (by reference, with a count of its own), or a new copy of it.
** 'copy' must leave 'from' as it found it and must not raise in 'from'; it
** may raise in 'to' (out of memory, say). 'to' may be a store, the bare
** state where a channel or a pool keeps values on their way, with no
** library and no 'require': 'copy' makes its metatable there itself
** (luaL_newmetatable), with C functions only, and calls no Lua code; a
** store runs nothing of the user's, but for these C functions (a '__gc'
** among them). A userdata reached twice in one copy is copied once.
*/

#define JOBS_COPYFIELD	"__jobs_copy"

/* "jobscop" and a version byte: no pointer, the first field of most
** objects, can hold it (its high bits make it no address). */
#define JOBS_COPYMAGIC	0x6a6f6273636f7001ULL

typedef struct jobs_Copyable {
  unsigned long long magic;  /* JOBS_COPYMAGIC */
  void (*copy) (lua_State *from, int idx, lua_State *to);
} jobs_Copyable;

#define JOBS_COPYABLE(copy)	{JOBS_COPYMAGIC, copy}


/*
** A full userdata goes into a frame (jobs_encode, SPEC §12) when its
** metatable has the field JOBS_BYTESFIELD holding a light userdata that
** points to a jobs_Bytesable of static duration:
**   static const jobs_Bytesable bytesable = JOBS_BYTESABLE("mod.make", put);
** 'put(L, idx)' pushes onto L plain data that stands for the userdata at
** 'idx' (a string, a number, a table of them); it may raise. The frame
** carries that data and the name 'maker', "module.function" of a C
** function, which the receiver finds as it finds C functions by name and
** calls with the data, on the thread reading the frame, to get the value
** that stands for the userdata there. A frame with one is a frame with
** code: it needs a key, and its tag is checked before the maker is called.
*/

#define JOBS_BYTESFIELD	"__jobs_bytes"

/* "jobsbyt" and a version byte, as JOBS_COPYMAGIC. */
#define JOBS_BYTESMAGIC	0x6a6f627362797401ULL

typedef struct jobs_Bytesable {
  unsigned long long magic;  /* JOBS_BYTESMAGIC */
  const char *maker;
  void (*put) (lua_State *L, int idx);
} jobs_Bytesable;

#define JOBS_BYTESABLE(maker, put)	{JOBS_BYTESMAGIC, maker, put}

/* }====================================================== */

#endif
