/*
** control.c: steering a running job (SPEC §6): cancel and timeouts, waits a
** cancel wakes, sleep, progress, captured output, libraries.
**
** A cancel never touches the job's state from another thread: it sets
** 'j->cancel', wakes what the job is blocked on, and signals the job's
** thread, whose handler arms a hook there; the job raises at its next
** instruction or when its wait wakes.
*/

#define _GNU_SOURCE  /* pthread_sigqueue, pthread_attr_setsigmask_np */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobs.h"
#include "jobsconf.h"
#include "control.h"
#include "copy.h"


/* Its address keys, in a job's registry, a light userdata: its Job. */
static const char selfkey = 0;


/*
** {======================================================
** The libraries of a job's state
** =======================================================
*/

static int openbase (lua_State *L);
static int opencoroutine (lua_State *L);
static int openos (lua_State *L);
static int opendebug (lua_State *L);

static const luaL_Reg libs[] = {  /* base and package are always opened */
  {LUA_COLIBNAME, opencoroutine},
  {LUA_TABLIBNAME, luaopen_table},
  {LUA_IOLIBNAME, luaopen_io},
  {LUA_OSLIBNAME, openos},
  {LUA_STRLIBNAME, luaopen_string},
  {LUA_MATHLIBNAME, luaopen_math},
  {LUA_UTF8LIBNAME, luaopen_utf8},
  {LUA_DBLIBNAME, opendebug},
  {NULL, NULL}
};

/* The bit of library 'name' in 'libs'; 0 for base and package, which every
** job opens; -1 for any other name. */
static int libbit (const char *name) {
  int k;
  if (name == NULL)
    return -1;
  for (k = 0; libs[k].name != NULL; k++)
    if (strcmp(name, libs[k].name) == 0)
      return 1 << k;
  return (strcmp(name, "base") == 0 || strcmp(name, LUA_LOADLIBNAME) == 0)
         ? 0 : -1;
}


/* The 'libs' option at 'idx', a table of names, as bits. */
int jobs_checklibs (lua_State *L, int idx) {
  int i, n, bits = 0;
  n = (int)luaL_len(L, idx);
  for (i = 1; i <= n; i++) {
    int bit;
    lua_geti(L, idx, i);
    if ((bit = libbit(lua_tostring(L, -1))) < 0)
      luaL_error(L, "bad option 'libs' to 'spawn' (unknown library '%s')",
                 luaL_tolstring(L, -1, NULL));
    bits |= bit;
    lua_pop(L, 1);
  }
  return bits;
}


/* Print and io.write of a job whose output is captured: upvalue 1 is the
** Job; they append to 'j->out' under 'j->mu'. */
static void capture (lua_State *L, Job *j, const char *s, size_t len) {
  Text *t = &j->out;
  int ok = 1;
  pthread_mutex_lock(&j->mu);
  if (t->len + len > t->size) {
    size_t size = (t->len + len) * 2;
    char *grown = (char *)realloc(t->s, size);
    if (grown == NULL)
      ok = 0;
    else {
      t->s = grown;
      t->size = size;
    }
  }
  if (ok && len > 0) {
    memcpy(t->s + t->len, s, len);
    t->len += len;
  }
  pthread_mutex_unlock(&j->mu);
  if (!ok)
    luaL_error(L, "not enough memory");
}


static int capprint (lua_State *L) {
  Job *j = (Job *)lua_touserdata(L, lua_upvalueindex(1));
  int i, n = lua_gettop(L);
  size_t len;
  const char *s;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (i = 1; i <= n; i++) {
    if (i > 1)
      luaL_addchar(&b, '\t');
    luaL_tolstring(L, i, NULL);
    luaL_addvalue(&b);
  }
  luaL_addchar(&b, '\n');
  luaL_pushresult(&b);
  s = lua_tolstring(L, -1, &len);
  capture(L, j, s, len);
  return 0;
}


static int capwrite (lua_State *L) {
  Job *j = (Job *)lua_touserdata(L, lua_upvalueindex(1));
  int i, n = lua_gettop(L);
  for (i = 1; i <= n; i++) {
    char num[64];
    size_t len;
    const char *s = num;
    if (lua_type(L, i) != LUA_TNUMBER)
      s = luaL_checklstring(L, i, &len);
    else if (lua_isinteger(L, i))  /* as io.write formats numbers */
      len = (size_t)snprintf(num, sizeof(num), LUA_INTEGER_FMT,
                             (LUAI_UACINT)lua_tointeger(L, i));
    else
      len = (size_t)snprintf(num, sizeof(num), LUA_NUMBER_FMT,
                             (LUAI_UACNUMBER)lua_tonumber(L, i));
    capture(L, j, s, len);
  }
  return 0;
}


/*
** A library opened at its first use. Opening them all takes five times as
** long as a state with base, package and string alone, and most jobs use
** few. Its table stands in the globals and package.loaded from the start,
** empty, with a metatable whose '__open' is its luaopen_ function: the
** first read of a field it lacks, or 'pairs', fills it (fields set before
** stay) and drops the metatable.
*/
static void fill (lua_State *L) {  /* the table at 1 */
  if (!lua_getmetatable(L, 1))
    return;
  if (lua_getfield(L, -1, "__open") != LUA_TFUNCTION) {
    lua_pop(L, 2);
    return;
  }
  lua_call(L, 0, 1);  /* the library, opened */
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pushvalue(L, -2);
    if (lua_rawget(L, 1) == LUA_TNIL) {
      lua_pop(L, 1);
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, 1);
    }
    else
      lua_pop(L, 2);
  }
  lua_pop(L, 2);
  lua_pushnil(L);
  lua_setmetatable(L, 1);
  jobs_forgetnames(L);  /* its C functions now have names to cross by */
}


static int lazyindex (lua_State *L) {
  lua_settop(L, 2);
  fill(L);
  lua_rawget(L, 1);
  return 1;
}


/* The 'next' of pairs over a library: the job's global 'next' may be
** anything by then. */
static int rawnext (lua_State *L) {
  lua_settop(L, 2);
  if (lua_next(L, 1))
    return 2;
  lua_pushnil(L);
  return 1;
}


static int lazypairs (lua_State *L) {
  lua_settop(L, 1);
  fill(L);
  lua_pushcfunction(L, rawnext);
  lua_insert(L, 1);
  lua_pushnil(L);
  return 3;
}


/* Sets global 'name' and package.loaded[name] to a library table that
** 'open' fills at its first use. */
static void lazylib (lua_State *J, const char *name, lua_CFunction open) {
  luaL_getsubtable(J, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_createtable(J, 0, 0);
  lua_createtable(J, 0, 3);
  lua_pushcfunction(J, open);
  lua_setfield(J, -2, "__open");
  lua_pushcfunction(J, lazyindex);
  lua_setfield(J, -2, "__index");
  lua_pushcfunction(J, lazypairs);
  lua_setfield(J, -2, "__pairs");
  lua_setmetatable(J, -2);
  lua_pushvalue(J, -1);
  lua_setfield(J, -3, name);
  lua_setglobal(J, name);
  lua_pop(J, 1);
}


/* Opens what 'j->opt' asks for in J (string at once, for the methods of
** strings; the others at first use); with captured output, replaces print
** and io.write there. Runs protected in J. */
void jobs_openlibs (lua_State *J, Job *j) {
  int k;
  lua_pushlightuserdata(J, j);  /* first: libraries of a job guard it */
  lua_rawsetp(J, LUA_REGISTRYINDEX, &selfkey);
  luaL_requiref(J, LUA_GNAME, openbase, 1);
  luaL_requiref(J, LUA_LOADLIBNAME, luaopen_package, 1);
  lua_pop(J, 2);
  for (k = 0; libs[k].name != NULL; k++) {
    if (!(j->opt.libs & (1 << k)))
      continue;
    if (libs[k].func == luaopen_string) {
      luaL_requiref(J, libs[k].name, libs[k].func, 1);
      lua_pop(J, 1);
    }
    else
      lazylib(J, libs[k].name, libs[k].func);
  }
  if (j->opt.capture) {
    lua_pushlightuserdata(J, j);
    lua_pushcclosure(J, capprint, 1);
    lua_setglobal(J, "print");
    if (lua_getglobal(J, LUA_IOLIBNAME) == LUA_TTABLE) {
      lua_pushlightuserdata(J, j);
      lua_pushcclosure(J, capwrite, 1);
      lua_setfield(J, -2, "write");
    }
    lua_pop(J, 1);
  }
}

/* }====================================================== */


/*
** {======================================================
** Cancel: a signal to the job's thread arms a hook there
** =======================================================
**
** A running job has no hook: Lua sends every instruction through the hook
** machinery while one is set, whatever its count, which halves the speed
** of plain Lua code. A cancel sets 'j->cancel', then sends the cancel
** signal to the thread running the job (if any); its handler, on that
** thread, sets a count hook on the job's state and on the coroutine
** running there. lua_sethook is the one call Lua allows from a signal
** handler, as lua.c does for Ctrl-C. Each cancel (or timeout) is a
** request, raised once, by the hook or a wait (jobs_stop): the job unwinds
** through its <close> handlers, and its pcall, xpcall and coroutine
** functions raise again on return (unwind), so that no code of its own
** goes on but those handlers, each stopped by a further request. A job
** stopped hard (its owner's state closing) raises before every
** instruction.
*/

/* The signal a cancel sends, chosen once for the process (a signal's
** handler is the process's, whatever state or thread asks). */
static int cancelsig = 0;
static pthread_once_t chosen = PTHREAD_ONCE_INIT;


Job *jobs_self (lua_State *L) {
  return (Job *)jobs_registered(L, &selfkey);
}


/* Why 'self' (NULL outside a job) must stop: 0 if it need not. */
int jobs_stopping (Job *self) {
  return self != NULL ? __atomic_load_n(&self->cancel, __ATOMIC_ACQUIRE) : 0;
}


/* Whether a request to stop 'self' (NULL outside a job) waits to be
** raised: always, for a job stopped hard. Read on the job's own thread. */
int jobs_pending (Job *self) {
  return self != NULL &&
         (__atomic_load_n(&self->hard, __ATOMIC_ACQUIRE) ||
          __atomic_load_n(&self->requests, __ATOMIC_ACQUIRE) != self->delivered);
}


/* Whether L runs a finalizer now, at any level: the error of one is lost
** to the collector. */
static int infinalizer (lua_State *L) {
  lua_Debug ar;
  int level;
  for (level = 0; lua_getstack(L, level, &ar); level++) {
    lua_getinfo(L, "n", &ar);
    if (ar.name != NULL && strcmp(ar.name, "__gc") == 0 &&
        strcmp(ar.namewhat, "metamethod") == 0)
      return 1;
  }
  return 0;
}


/* Pushes why 'self' stops: "cancelled", "timeout", "os.exit(5) ended the
** job". */
static void pushwhy (lua_State *L, Job *self) {
  int why = jobs_stopping(self);
  if (why == JOBS_EXITED)
    lua_pushfstring(L, "os.exit(%d) ended the job", self->exitcode);
  else if (why == JOBS_TIMEDOUT)
    lua_pushliteral(L, "timeout");
  else
    lua_pushliteral(L, "cancelled");
}


/* Goes on unwinding the stopping job 'self' past a boundary that would
** have caught the stop (a pcall, a coroutine's resume): raises again. */
static int unwind (lua_State *L, Job *self) {
  pushwhy(L, self);
  return lua_error(L);
}


static void hook (lua_State *L, lua_Debug *ar);

/*
** Raises, in the stopping job's state L, why it stops, delivering the
** requests so far: the job unwinds, running its pending <close> handlers,
** and each boundary on the way raises again (unwind). A further request
** stops only what runs then (a handler that does not end). Raised inside a
** finalizer, where the collector swallows it, it delivers nothing: the
** hook armed for it raises it again past the finalizer. A job stopped hard
** raises again before every instruction, handlers or not.
*/
int jobs_stop (lua_State *L, Job *self) {
  if (__atomic_load_n(&self->hard, __ATOMIC_ACQUIRE))
    lua_sethook(L, hook, LUA_MASKCOUNT, 1);
  else if (!infinalizer(L)) {
    self->delivered = __atomic_load_n(&self->requests, __ATOMIC_ACQUIRE);
    lua_sethook(L, NULL, 0, 0);
  }
  return unwind(L, self);
}


/* The hook a cancel arms: raises a request waiting, or goes. */
static void hook (lua_State *L, lua_Debug *ar) {
  Job *self = jobs_self(L);
  (void)ar;
  if (jobs_pending(self))
    jobs_stop(L, self);
  lua_sethook(L, NULL, 0, 0);
}


/* Arms the states 'r' runs: the coroutine running Lua code now and the
** job's own. Runs on the thread of 'r', maybe in its signal handler. */
static void arm (Runner *r) {
  lua_sethook(r->L, hook, LUA_MASKCOUNT, 1);
  if (r->J != r->L)
    lua_sethook(r->J, hook, LUA_MASKCOUNT, 1);
}


/* The cancel signal's handler: only a signal this process queued for a
** job's thread, carrying its Runner, arms anything. */
static void onsignal (int sig, siginfo_t *info, void *context) {
  Runner *r = (Runner *)info->si_value.sival_ptr;
  Job *j;
  (void)sig;
  (void)context;
  if (info->si_code != SI_QUEUE || info->si_pid != getpid() || r == NULL)
    return;
  __atomic_store_n(&r->inflight, 0, __ATOMIC_RELEASE);
  if ((j = r->job) != NULL && jobs_pending(j))
    arm(r);
}


/* Whether 'sig' has no handler and may be the cancel signal. */
static int isfree (int sig) {
  struct sigaction old;
  return sigaction(sig, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
         old.sa_handler == SIG_DFL;
}


/* Chooses the cancel signal, JOBS_CANCELSIGNAL or the highest free
** real-time signal, and installs its handler. */
static void choose (void) {
  struct sigaction sa;
  int sig = JOBS_CANCELSIGNAL;
  if (sig == 0)
    for (sig = SIGRTMAX; sig >= SIGRTMIN && !isfree(sig); sig--) {}
  if (sig < 1 || !isfree(sig))
    return;
  sa.sa_sigaction = onsignal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;  /* the job's system calls go on */
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) == 0)
    cancelsig = sig;
}


int jobs_initcancel (lua_State *L) {
  pthread_once(&chosen, choose);
  if (cancelsig == 0)
    return luaL_error(L, "no free signal to cancel jobs with "
                         "(see JOBS_CANCELSIGNAL)");
  return cancelsig;
}


/* Sets the signal mask a job's thread starts with: every asynchronous
** signal blocked (they go to the host's threads: a Ctrl-C in luajobs stops
** its prompt, never a job), but the cancel signal. */
void jobs_threadmask (pthread_attr_t *attr) {
  sigset_t async;
  sigfillset(&async);
  sigdelset(&async, SIGSEGV);
  sigdelset(&async, SIGBUS);
  sigdelset(&async, SIGFPE);
  sigdelset(&async, SIGILL);
  sigdelset(&async, cancelsig);
  pthread_attr_setsigmask_np(attr, &async);
}


/*
** The calling thread, whose Runner is 'r', runs the state of 'j' from now
** on: a cancel signals it. One asked for already arms it at once.
*/
void jobs_enter (Runner *r, Job *j) {
  r->thread = pthread_self();
  __atomic_store_n(&r->inflight, 0, __ATOMIC_RELAXED);  /* not shared yet */
  r->J = r->L = j->L;
  r->job = j;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);  /* all set before a signal */
  pthread_mutex_lock(&j->mu);
  j->runner = r;
  pthread_mutex_unlock(&j->mu);
  if (jobs_pending(j))
    arm(r);
}


/* The thread of 'r' no longer runs the state of 'j': a late signal does
** nothing. A hook a cancel armed stays, but no Lua code runs there any
** more, but finalizers as it closes, which Lua runs with hooks off. */
void jobs_leave (Runner *r, Job *j) {
  pthread_mutex_lock(&j->mu);
  j->runner = NULL;
  pthread_mutex_unlock(&j->mu);
  r->job = NULL;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}


/* Sends the cancel signal to the thread of 'r', unless one is on its way
** already: a thread flooded with signals makes no progress (a system call
** it restarts after each is interrupted again). */
static void interrupt (Runner *r) {
  union sigval v;
  if (__atomic_exchange_n(&r->inflight, 1, __ATOMIC_ACQ_REL))
    return;
  v.sival_ptr = r;
  if (pthread_sigqueue(r->thread, cancelsig, v) != 0)
    __atomic_store_n(&r->inflight, 0, __ATOMIC_RELEASE);
}


/* Records a request that 'j' stop, for 'why' if it is the first. Returns
** whether it was. */
static int request (Job *j, int why) {
  int none = 0;
  int first = __atomic_compare_exchange_n(&j->cancel, &none, why, 0,
                                          __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
  __atomic_add_fetch(&j->requests, 1, __ATOMIC_ACQ_REL);
  return first;
}


/* Asks 'j' to stop (the first reason given stays), signals the thread
** running it and wakes its waits; 'hard': for good, <close> handlers too,
** as the owner's state closes. */
void jobs_cancel (Job *j, int why, int hard) {
  if (hard)
    __atomic_store_n(&j->hard, 1, __ATOMIC_RELEASE);
  request(j, why);
  pthread_mutex_lock(&j->mu);  /* order: 'j->mu', then what it waits on */
  if (j->runner != NULL)
    interrupt(j->runner);
  pthread_cond_broadcast(&j->wake);
  if (j->waitmu != NULL) {
    pthread_mutex_lock(j->waitmu);
    pthread_cond_broadcast(j->waitcv);
    pthread_mutex_unlock(j->waitmu);
  }
  pthread_mutex_unlock(&j->mu);
}


/* The job whose state (or one of its coroutines) L is: kept in the
** extra space of the job's state, which Lua copies into every coroutine
** made there. Only for states of jobs: those of the coroutine library
** and debug.sethook below, which only a job's state has. */
#define jobof(L)	(*(Job **)lua_getextraspace(L))


/*
** Follows the job of L onto its coroutine 'co' (NULL: none), on the job's
** thread 'r' (NULL: none), so that a cancel arms the coroutine running;
** arms it at once if the job is stopping already (a coroutine made before
** the cancel has no hook).
*/
static void follow (Runner *r, lua_State *co) {
  if (co == NULL || r == NULL)
    return;
  r->L = co;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  if (jobs_pending(r->job))
    lua_sethook(co, hook, LUA_MASKCOUNT, 1);
}


/*
** Resumes 'co' with the 'narg' values on top of L, following the job
** there and back; as Lua's coroutine library does, leaves on L what it
** yielded or returned and returns how many, or leaves the error and
** returns -1.
*/
static int resumeco (lua_State *L, lua_State *co, int narg) {
  Runner *r = jobof(L)->runner;  /* this thread's own, if it runs the job */
  int st, nres;
  if (!lua_checkstack(co, narg)) {
    lua_pushliteral(L, "too many arguments to resume");
    return -1;
  }
  lua_xmove(L, co, narg);
  follow(r, co);
  st = lua_resume(co, L, narg, &nres);
  follow(r, L);
  if (jobs_stopping(jobof(L)))  /* what it yields or throws cannot stop it */
    unwind(L, jobof(L));
  if (st != LUA_OK && st != LUA_YIELD) {
    lua_xmove(co, L, 1);
    return -1;
  }
  if (!lua_checkstack(L, nres + 1)) {
    lua_pop(co, nres);
    lua_pushliteral(L, "too many results to resume");
    return -1;
  }
  lua_xmove(co, L, nres);
  return nres;
}


/* coroutine.resume of a job. */
static int resume (lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
  int n;
  luaL_argexpected(L, co != NULL, 1, "thread");
  if ((n = resumeco(L, co, lua_gettop(L) - 1)) < 0) {
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, -(n + 1));
  return n + 1;
}


/* A function of coroutine.wrap in a job; upvalue 1 is its coroutine. An
** error in the coroutine closes it and goes on in the caller, with where
** it was called from. */
static int wrapped (lua_State *L) {
  lua_State *co = lua_tothread(L, lua_upvalueindex(1));
  int n = resumeco(L, co, lua_gettop(L)), st;
  if (n >= 0)
    return n;
  st = lua_status(co);
  if (st != LUA_OK && st != LUA_YIELD) {  /* an error in the coroutine */
    Runner *r = jobof(L)->runner;
    follow(r, co);  /* its <close> handlers run there */
#if LUA_VERSION_RELEASE_NUM >= 50406
    st = lua_closethread(co, L);
#else
    st = lua_resetthread(co);
#endif
    follow(r, L);
    lua_xmove(co, L, 1);
  }
  if (st != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
    luaL_where(L, 1);
    lua_insert(L, -2);
    lua_concat(L, 2);
  }
  return lua_error(L);
}


/* coroutine.wrap of a job. */
static int wrap (lua_State *L) {
  lua_State *co;
  luaL_checktype(L, 1, LUA_TFUNCTION);
  co = lua_newthread(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, co, 1);
  lua_pushcclosure(L, wrapped, 1);
  return 1;
}


/* coroutine.close of a job; upvalue 1 is Lua's own. The coroutine's
** <close> handlers run in it. */
static int closeco (lua_State *L) {
  Runner *r = jobof(L)->runner;
  int st;
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  follow(r, lua_tothread(L, 2));
  st = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  follow(r, L);
  if (jobs_stopping(jobof(L)))
    unwind(L, jobof(L));
  if (st != LUA_OK)
    return lua_error(L);
  return lua_gettop(L);
}


/* debug.sethook of a job; upvalue 1 is Lua's own. A hook the job sets
** over the cancel's, as a cancel lands, is the cancel's again. */
static int sethook (lua_State *L) {
  Job *j = jobof(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 0);
  if (jobs_pending(j) && j->runner != NULL)
    arm(j->runner);
  return 0;
}


/* Replaces field 'name' of the library on top with 'f', whose upvalue is
** the library's own function. */
static void guard (lua_State *L, const char *name, lua_CFunction f) {
  lua_getfield(L, -1, name);
  lua_pushcclosure(L, f, 1);
  lua_setfield(L, -2, name);
}


/* The coroutine library of a job: switching coroutines tells the cancel
** where the job's code runs. */
static int opencoroutine (lua_State *L) {
  static const luaL_Reg own[] = {{"resume", resume}, {"wrap", wrap},
                                 {NULL, NULL}};
  luaopen_coroutine(L);
  luaL_setfuncs(L, own, 0);
  guard(L, "close", closeco);
  return 1;
}


/* os.exit of a job: ends the job, "dead" with an error naming the exit,
** never the process; its second argument, closing the state, is moot. */
static int exitjob (lua_State *L) {
  Job *j = jobof(L);
  j->exitcode = lua_isboolean(L, 1)
                ? (lua_toboolean(L, 1) ? EXIT_SUCCESS : EXIT_FAILURE)
                : (int)luaL_optinteger(L, 1, EXIT_SUCCESS);
  if (request(j, JOBS_EXITED)) {
    lua_pushfstring(L, "os.exit(%d) ended the job", j->exitcode);
    jobs_keeptraceback(L, lua_tostring(L, -1), 0);
  }
  return jobs_stop(L, j);  /* a cancel that came first stays the reason */
}


static int openos (lua_State *L) {
  luaopen_os(L);
  lua_pushcfunction(L, exitjob);
  lua_setfield(L, -2, "exit");
  return 1;
}


/* The end of a pcall or xpcall of a job (as Lua's own): a stopping job
** goes on unwinding. */
static int finishpcall (lua_State *L, int status, lua_KContext extra) {
  if (jobs_stopping(jobof(L)))
    return unwind(L, jobof(L));
  if (status != LUA_OK && status != LUA_YIELD) {
    lua_pushboolean(L, 0);
    lua_pushvalue(L, -2);
    return 2;
  }
  return lua_gettop(L) - (int)extra;
}


static int pcalljob (lua_State *L) {
  int status;
  luaL_checkany(L, 1);
  lua_pushboolean(L, 1);
  lua_insert(L, 1);
  status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, finishpcall);
  return finishpcall(L, status, 0);
}


/* The message handler of an xpcall of a job, upvalue 1 the job's own: not
** called for a stop, which no handler may turn into anything else. */
static int xpcallhandler (lua_State *L) {
  if (jobs_stopping(jobof(L)))
    return 1;
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}


static int xpcalljob (lua_State *L) {
  int status, n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, xpcallhandler, 1);
  lua_replace(L, 2);
  lua_pushboolean(L, 1);
  lua_pushvalue(L, 1);
  lua_rotate(L, 3, 2);
  status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, finishpcall);
  return finishpcall(L, status, 2);
}


/* The base library of a job: its pcall and xpcall do not end a stop. */
static int openbase (lua_State *L) {
  static const luaL_Reg own[] = {{"pcall", pcalljob}, {"xpcall", xpcalljob},
                                 {NULL, NULL}};
  luaopen_base(L);
  luaL_setfuncs(L, own, 0);
  return 1;
}


static int opendebug (lua_State *L) {
  luaopen_debug(L);
  guard(L, "sethook", sethook);
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** Timeouts: a hub's clock cancels each job at its deadline
** =======================================================
**
** The jobs of a hub running with a timeout wait in a heap by deadline,
** 'h->timed[1 .. h->ntimed]', each knowing its place ('tindex'), all under
** 'h->mu'. The hub's clock thread sleeps until the first deadline and
** cancels that job as job:cancel() does, with the reason "timeout".
*/

#define deadline(h, i)	((h)->timed[i]->deadline)

static void place (Hub *h, int i, Job *j) {
  h->timed[i] = j;
  j->tindex = i;
}


/* Moves the job at 'i' up the heap as far as its deadline says. */
static void siftup (Hub *h, int i) {
  Job *j = h->timed[i];
  for (; i > 1 && deadline(h, i / 2) > j->deadline; i /= 2)
    place(h, i, h->timed[i / 2]);
  place(h, i, j);
}


/* Moves the job at 'i' down the heap as far as its deadline says. */
static void siftdown (Hub *h, int i) {
  Job *j = h->timed[i];
  int c;
  while ((c = 2 * i) <= h->ntimed) {
    if (c < h->ntimed && deadline(h, c + 1) < deadline(h, c))
      c++;
    if (deadline(h, c) >= j->deadline)
      break;
    place(h, i, h->timed[c]);
    i = c;
  }
  place(h, i, j);
}


/* Takes job 'j' out of the heap, keeping its room (it may go back in
** line); 'h->mu' is held. */
void jobs_untime (Hub *h, Job *j) {
  int i = j->tindex;
  Job *last = h->timed[h->ntimed--];
  j->tindex = 0;
  if (last == j)
    return;
  place(h, i, last);
  siftup(h, i);
  siftdown(h, last->tindex);
}


/* The clock thread of a hub: cancels each timed job at its deadline, until
** the hub stops it. */
static void *ticker (void *arg) {
  Hub *h = (Hub *)arg;
  pthread_mutex_lock(&h->mu);
  while (!h->clockstop) {
    if (h->ntimed > 0 && deadline(h, 1) <= jobs_now()) {
      Job *j = h->timed[1];  /* and again a timeout later, for a <close>
                                handler that does not end, till it is over */
      j->deadline += j->opt.timeout > JOBS_GRACEMIN ? j->opt.timeout
                                                    : JOBS_GRACEMIN;
      siftdown(h, 1);
      jobs_cancel(j, JOBS_TIMEDOUT, 0);  /* order: 'h->mu', then 'j->mu' */
    }
    else
      jobs_waitcv(&h->clockcv, &h->mu, h->ntimed > 0 ? deadline(h, 1) : -1);
  }
  pthread_mutex_unlock(&h->mu);
  return NULL;
}


/*
** Makes room in the heap of 'h' for one more job with a timeout, and
** starts the clock if it is not running; called by the owner's thread
** before it starts such a job. Returns 0 or an error number.
*/
int jobs_reservetime (Hub *h) {
  int err = 0;
  pthread_mutex_lock(&h->mu);
  if (h->timedjobs + 1 >= h->timedsize) {
    int size = h->timedsize == 0 ? 16 : 2 * h->timedsize;
    Job **grown = (Job **)realloc(h->timed, sizeof(Job *) * (size_t)size);
    if (grown == NULL)
      err = ENOMEM;
    else {
      h->timed = grown;
      h->timedsize = size;
    }
  }
  if (err == 0 && !h->clockon) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    jobs_threadmask(&attr);
    if ((err = pthread_create(&h->clock, &attr, ticker, h)) == 0)
      h->clockon = 1;
    pthread_attr_destroy(&attr);
  }
  if (err == 0)
    h->timedjobs++;
  pthread_mutex_unlock(&h->mu);
  return err;
}


/* Job 'j', with a timeout, starts now (or its state closes): its deadline
** goes in the heap of its hub (room was reserved); 'h->mu' is held. */
void jobs_timein (Hub *h, Job *j) {
  j->deadline = j->started + j->opt.timeout;
  place(h, ++h->ntimed, j);
  siftup(h, h->ntimed);
  if (j->tindex == 1)  /* the first deadline now */
    pthread_cond_signal(&h->clockcv);
}


/* Job 'j', with a timeout, is over and its state closed (or it could not
** start): out of the heap of its hub, and its room with it; 'h->mu' is
** held. */
void jobs_timeout (Hub *h, Job *j) {
  if (j->tindex != 0)
    jobs_untime(h, j);
  if (j->timeroom) {
    j->timeroom = 0;
    h->timedjobs--;
  }
}


/* Stops and joins the clock of 'h', which no job needs any more. */
void jobs_stopclock (Hub *h) {
  pthread_mutex_lock(&h->mu);
  h->clockstop = 1;
  pthread_cond_signal(&h->clockcv);
  pthread_mutex_unlock(&h->mu);
  if (h->clockon)
    pthread_join(h->clock, NULL);
  free(h->timed);
}

/* }====================================================== */


/*
** {======================================================
** Waits that a cancel wakes
** =======================================================
*/

/* Initializes 'cv' for jobs_waitcv: its timed waits use the monotonic
** clock, which no change of the system's time disturbs. */
void jobs_initcv (pthread_cond_t *cv) {
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(cv, &ca);
  pthread_condattr_destroy(&ca);
}


/* Waits on 'cv' (holding 'mu') until signalled or the monotonic time
** 'until' (negative: no limit); returns ETIMEDOUT once it has passed. */
int jobs_waitcv (pthread_cond_t *cv, pthread_mutex_t *mu, double until) {
  struct timespec ts;
  if (until < 0)
    return pthread_cond_wait(cv, mu);
  ts.tv_sec = (time_t)until;
  ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
  return pthread_cond_timedwait(cv, mu, &ts);
}


/*
** Tells a cancel of 'self' (NULL outside a job) what it blocks on: 'cv'
** under 'mu', or nothing (NULL). Call it without holding 'mu', before
** waiting and after; while waiting, check jobs_pending(self) under 'mu'.
*/
void jobs_blockon (Job *self, pthread_mutex_t *mu, pthread_cond_t *cv) {
  if (self == NULL)
    return;
  pthread_mutex_lock(&self->mu);
  self->waitmu = mu;
  self->waitcv = cv;
  pthread_mutex_unlock(&self->mu);
}


/* The monotonic time the number of seconds at 'idx' from now; negative
** (no limit) if absent or huge. */
double jobs_later (lua_State *L, int idx) {
  double secs = luaL_optnumber(L, idx, -1);
  luaL_argcheck(L, lua_isnoneornil(L, idx) || secs >= 0, idx,
                "non-negative number expected");
  return (secs < 0 || secs > 1e9) ? -1 : jobs_now() + secs;
}


/* jobs.sleep(seconds): math.huge sleeps until the job is cancelled. */
int jobs_sleep (lua_State *L) {
  Job *self = jobs_self(L);
  double until;
  luaL_checknumber(L, 1);
  until = jobs_later(L, 1);
  if (self == NULL) {  /* not a job: nothing can cancel the sleep */
    double secs = until < 0 ? 1e9 : until - jobs_now();
    struct timespec ts;
    do {
      if (secs <= 0)
        break;
      ts.tv_sec = (time_t)secs;
      ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
      while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
    } while (until < 0);
    return 0;
  }
  pthread_mutex_lock(&self->mu);  /* 'wake' is broadcast under it */
  while (!jobs_pending(self) &&
         jobs_waitcv(&self->wake, &self->mu, until) != ETIMEDOUT) {}
  pthread_mutex_unlock(&self->mu);
  if (jobs_pending(self))
    return jobs_stop(L, self);
  return 0;
}


int jobs_cancelled (lua_State *L) {
  int why = jobs_stopping(jobs_self(L));
  lua_pushboolean(L, why == JOBS_CANCELLED || why == JOBS_TIMEDOUT);
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** What a job tells its owner: self, progress
** =======================================================
*/

/* Sets 't' to a copy of 's'; keeps it as it was if memory runs out. */
void jobs_settext (Text *t, const char *s, size_t len) {
  if (len > t->size || t->s == NULL) {
    char *n = (char *)realloc(t->s, len + 1);
    if (n == NULL)
      return;
    t->s = n;
    t->size = len + 1;
  }
  memcpy(t->s, s, len);
  t->len = len;
}


/*
** Pushes a copy of 't', a text of 'j' that another thread may change under
** 'j->mu'. Lua may raise while it allocates, so it allocates before taking
** the lock, and again if the text grew meanwhile.
*/
void jobs_pushtext (lua_State *L, Job *j, const Text *t) {
  luaL_Buffer b;
  size_t len;
  pthread_mutex_lock(&j->mu);
  len = t->len;
  pthread_mutex_unlock(&j->mu);
  for (;;) {
    char *p = luaL_buffinitsize(L, &b, len);
    pthread_mutex_lock(&j->mu);
    if (t->len <= len) {
      len = t->len;
      if (len > 0)  /* an empty text may have no buffer yet */
        memcpy(p, t->s, len);
      pthread_mutex_unlock(&j->mu);
      luaL_pushresultsize(&b, len);
      return;
    }
    len = t->len;
    pthread_mutex_unlock(&j->mu);
    lua_pop(L, 1);  /* the buffer's box, if it has one */
  }
}


int jobs_whoami (lua_State *L) {
  Job *self = jobs_self(L);
  if (self == NULL)
    return 0;
  lua_pushinteger(L, self->num);  /* both set before its thread started */
  lua_pushlstring(L, self->name.s, self->name.len);
  return 2;
}


int jobs_progress (lua_State *L) {
  Job *self = jobs_self(L);
  int t = lua_type(L, 1);
  size_t len = 0, mlen = 0;
  const char *s = NULL;
  const char *msg = luaL_optlstring(L, 2, NULL, &mlen);
  luaL_argexpected(L, t == LUA_TNIL || t == LUA_TBOOLEAN ||
                   t == LUA_TNUMBER || t == LUA_TSTRING, 1,
                   "nil, boolean, number or string");
  if (self == NULL)
    return 0;  /* not a job: nobody to tell */
  if (t == LUA_TSTRING)
    s = lua_tolstring(L, 1, &len);
  pthread_mutex_lock(&self->mu);
  self->progtype = t;
  self->progint = lua_isinteger(L, 1);
  self->prognum = t == LUA_TBOOLEAN ? lua_toboolean(L, 1) : lua_tonumber(L, 1);
  jobs_settext(&self->progress, s ? s : "", len);
  jobs_settext(&self->progmsg, msg ? msg : "", mlen);
  pthread_mutex_unlock(&self->mu);
  return 0;
}

/* }====================================================== */
