/*
** cancel.c: stopping a running job (SPEC §6): a cancel signals the job's
** thread, whose handler arms a hook there; the job's own coroutine, pcall
** and os.exit; the waits a cancel wakes.
**
** A cancel never touches the job's state from another thread: it sets
** 'j->cancel', wakes what the job is blocked on, and signals the job's
** thread, whose handler arms a hook there; the job raises at its next
** instruction or when its wait wakes.
*/

#define _GNU_SOURCE  /* pthread_attr_setsigmask_np */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobs.h"
#include "jobsconf.h"
#include "cancel.h"
#include "child.h"
#include "clock.h"


/* Its address keys, in a job's registry, a light userdata: its Job. */
static const char selfkey = 0;

/* Its address keys, in a job's registry, the metatable of its watch. */
static const char watchkey = 0;


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
** goes on but those handlers, each stopped by a further request: a
** cancel, or the end of its grace, which the stop starts (clock.c). A job
** stopped hard (its owner's state closing) raises before every
** instruction.
*/

/* The signal a cancel sends, and the one it sends when the kernel refuses
** that one (0: none), chosen once for the process (a signal's handler is
** the process's, whatever state or thread asks). */
static int cancelsig = 0;
static int backupsig = 0;
static pthread_once_t chosen = PTHREAD_ONCE_INIT;

/* The Runner of the calling thread, set as it first runs a job, for the
** signals' handler: a standard signal sent when the queue is full comes
** with no data. Initial-exec, so that the handler reads it with no call
** into the dynamic linker (which may allocate). */
static __thread Runner *running __attribute__((tls_model("initial-exec")));


Job *jobs_self (lua_State *L) {
  return (Job *)jobs_registered(L, &selfkey);
}


static int newwatch (lua_State *L);

/* Makes 'j' the job of its state J: in J's registry, for jobs_self, and
** in J's extra space, which Lua copies into every coroutine made there
** (for the coroutine library and debug.sethook below); makes its watch.
** Runs protected. */
void jobs_setself (lua_State *J, Job *j) {
  *(Job **)lua_getextraspace(J) = j;
  j->current = j;
  lua_pushlightuserdata(J, j);
  lua_rawsetp(J, LUA_REGISTRYINDEX, &selfkey);
  newwatch(J);
  lua_pop(J, 1);
}


/* Makes 'task' (NULL: none) the job that J, the state of 'rec' (set by
** jobs_setself), runs from now on: a pool's state serves its tasks in
** turn. A coroutine made for an earlier task finds the task running
** through 'rec'. Raises nothing: it sets the key only where jobs_setself
** made it (a state whose opening ran out of memory before has none), and
** only with room on the stack, which lua_checkstack makes or refuses. */
void jobs_settask (lua_State *J, Job *rec, Job *task) {
  rec->current = task != NULL ? task : rec;
  if (!lua_checkstack(J, 1))
    return;
  if (lua_rawgetp(J, LUA_REGISTRYINDEX, &selfkey) == LUA_TLIGHTUSERDATA) {
    lua_pushlightuserdata(J, rec->current);
    lua_rawsetp(J, LUA_REGISTRYINDEX, &selfkey);  /* a key it has */
  }
  lua_pop(J, 1);
}


/* The final status of job 'j' whose function returned 'st' (a lua_pcall
** status): once a stop was raised in it, it is stopped, whatever C code
** that caught the stop let it return. */
JobStatus jobs_ended (Job *j, int st) {
  int why = jobs_stopping(j);
  if (st == LUA_OK && (why == 0 || j->delivered == 0))
    return JOB_COMPLETED;
  return (why == JOBS_CANCELLED || why == JOBS_TIMEDOUT) ? JOB_CANCELLED
                                                         : JOB_DEAD;
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
** to the collector. Lua stops its collector while a finalizer runs (and
** lua_gc then says so, or refuses with -1), so a running collector needs
** no walk of the stack, which costs the square of its depth. */
static int infinalizer (lua_State *L) {
  lua_Debug ar;
  int level;
  if (lua_gc(L, LUA_GCISRUNNING, 0) == 1)
    return 0;
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


static int xpcalljob (lua_State *L);

/* The message handler of an xpcall that a stop unwinds to: the message
** as it is. */
static int passmsg (lua_State *L) {
  lua_settop(L, 1);
  return 1;
}


/*
** Keeps the message handler of the innermost xpcall running in L (whose
** pcall is not over: see finishpcall) from seeing a stop: its slot in the
** xpcall's frame, a C function's local for lua_setlocal, gets passmsg.
** Lua calls a handler where the error is raised, and a stop raised in a
** hook would run it with hooks off, where no cancel reaches a handler that
** loops. So the job's own handler is called as plain Lua calls it (no
** wrapper frame that a handler counting levels would see), but for a stop.
** It looks JOBS_HANDLERLEVELS levels down at most (each look costs its
** level), and without room on L's stack it leaves the handler be.
*/
static void skiphandler (lua_State *L) {
  lua_Debug ar;
  int level, found = 0;
  if (!lua_checkstack(L, 2))
    return;
  for (level = 0; !found && level < JOBS_HANDLERLEVELS &&
                  lua_getstack(L, level, &ar); level++) {
    lua_getinfo(L, "f", &ar);
    if (lua_tocfunction(L, -1) == xpcalljob && lua_getlocal(L, &ar, 2)) {
      found = lua_isfunction(L, -1);  /* false: that pcall is over */
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  if (found) {
    lua_pushcfunction(L, passmsg);
    lua_setlocal(L, &ar, 2);
  }
}


/* Goes on unwinding the stopping job 'self' past a boundary that would
** have caught the stop (a pcall, a coroutine's resume): raises again,
** with no message handler of the job's called for it. */
static int unwind (lua_State *L, Job *self) {
  skiphandler(L);
  pushwhy(L, self);
  return lua_error(L);
}


static void hook (lua_State *L, lua_Debug *ar);

/* The events the cancel's hook stops at. A count of one alone would do,
** but a handler's lua_sethook can land between the load and the store of
** the VM's '--L->hookcount' (in a hook function of the job's own, where
** the count runs but calls no hook): the count is then lost for 2^32
** instructions. Lines, calls and returns need no count, and no code runs
** for long without one of them (a loop jumps back: a line event). */
#define ARMED	(LUA_MASKCOUNT | LUA_MASKLINE | LUA_MASKCALL | LUA_MASKRET)

/*
** Raises, in the stopping job's state L, why it stops, delivering the
** requests so far: the job unwinds, running its pending <close> handlers,
** and each boundary on the way raises again (unwind). A further request
** (a cancel, the end of the handler's grace) stops only what runs then. Raised inside a
** finalizer, where the collector swallows it, it delivers nothing: the
** hook armed for it raises it again past the finalizer. A job stopped hard
** raises again before every instruction, handlers or not.
*/
int jobs_stop (lua_State *L, Job *self) {
  if (__atomic_load_n(&self->hard, __ATOMIC_ACQUIRE))
    lua_sethook(L, hook, ARMED, 1);
  else if (!infinalizer(L)) {
    self->delivered = __atomic_load_n(&self->requests, __ATOMIC_ACQUIRE);
    lua_sethook(L, NULL, 0, 0);
    jobs_grace(self);  /* the handlers it unwinds to, each in its grace */
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
  lua_sethook(r->L, hook, ARMED, 1);
  if (r->J != r->L)
    lua_sethook(r->J, hook, ARMED, 1);
}


/* The handler of the cancel and backup signals: on a thread that runs a
** job, arms it if a request waits. Whoever sent the signal, it does no
** more. */
static void onsignal (int sig) {
  Runner *r = running;
  Job *j;
  (void)sig;
  if (r == NULL)
    return;
  __atomic_store_n(&r->inflight, 0, __ATOMIC_RELEASE);
  if ((j = r->job) != NULL && jobs_pending(j))
    arm(r);
}


/*
** The watch of a job's state: garbage with a finalizer, made again by its
** finalizer, so that it runs at each cycle of the state's collector, on
** the coroutine that allocates. A C function may resume a coroutine past
** the job's coroutine library (cqueues does), where a cancel's hook cannot
** find it; if a request waits, the watch arms that coroutine.
*/
static int watchgc (lua_State *L) {
  if (jobs_pending(jobs_self(L)))
    lua_sethook(L, hook, ARMED, 1);
  lua_pushcfunction(L, newwatch);
  lua_pcall(L, 0, 0, 0);  /* out of memory: the watch ends */
  return 0;
}


/* Makes the state's watch. */
static int newwatch (lua_State *L) {
  lua_newuserdatauv(L, 0, 0);
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &watchkey) == LUA_TNIL) {
    lua_pop(L, 1);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, watchgc);
    lua_setfield(L, -2, "__gc");
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &watchkey);
  }
  lua_setmetatable(L, -2);
  return 0;
}


/* Whether 'sig' has no handler and may be taken. */
static int isfree (int sig) {
  struct sigaction old;
  return sig > 0 && sigaction(sig, NULL, &old) == 0 &&
         !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL;
}


/* Takes 'sig', if free, for cancels: returns it, or 0. */
static int take (int sig) {
  struct sigaction sa;
  if (!isfree(sig))
    return 0;
  sa.sa_handler = onsignal;
  sa.sa_flags = SA_RESTART;  /* the job's system calls go on */
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, NULL) == 0 ? sig : 0;
}


/* Chooses the cancel signal, JOBS_CANCELSIGNAL or the highest free
** real-time signal, and the backup signal, the first free one of
** JOBS_BACKUPSIGNALS, and installs their handler. */
static void choose (void) {
  static const int backups[] = {JOBS_BACKUPSIGNALS, 0};
  int sig = JOBS_CANCELSIGNAL, i;
  if (sig == 0)
    for (sig = SIGRTMAX; sig >= SIGRTMIN && !isfree(sig); sig--) {}
  if ((cancelsig = take(sig)) == 0)
    return;
  for (i = 0; backupsig == 0 && backups[i] != 0; i++)
    if (backups[i] != cancelsig)
      backupsig = take(backups[i]);
}


int jobs_initcancel (lua_State *L) {
  jobs_keephostmask();  /* the first to open the module is the host */
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
  if (backupsig != 0)
    sigdelset(&async, backupsig);
  pthread_attr_setsigmask_np(attr, &async);
}


/*
** The calling thread, whose Runner is 'r', runs 'j' in state J (its own, or
** a pool's) from now on: a cancel signals it. One asked for already arms
** it at once.
*/
void jobs_enter (Runner *r, Job *j, lua_State *J) {
  r->thread = pthread_self();
  __atomic_store_n(&r->inflight, 0, __ATOMIC_RELAXED);  /* not shared yet */
  r->J = r->L = J;
  r->job = j;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);  /* all set before a signal */
  running = r;
  pthread_mutex_lock(&j->mu);
  j->runner = r;
  pthread_mutex_unlock(&j->mu);
  if (jobs_pending(j))
    arm(r);
}


/* Makes 'set' the signals a cancel sends. */
void jobs_cancelsignals (sigset_t *set) {
  sigemptyset(set);
  sigaddset(set, cancelsig);
  if (backupsig != 0)
    sigaddset(set, backupsig);
}


/* Whether the calling thread is running a job. */
int jobs_onjobthread (void) {
  return running != NULL;
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
  running = NULL;  /* 'r' may end with the job */
}


/* Sends the cancel signal to the thread of 'r', unless one is on its way
** already: a thread flooded with signals makes no progress (a system call
** it restarts after each is interrupted again). The backup signal goes
** where the kernel refuses to queue the cancel signal (EAGAIN). */
static void interrupt (Runner *r) {
  if (__atomic_exchange_n(&r->inflight, 1, __ATOMIC_ACQ_REL))
    return;
  if (pthread_kill(r->thread, cancelsig) != 0 &&
      (backupsig == 0 || pthread_kill(r->thread, backupsig) != 0))
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
#define jobof(L)	((*(Job **)lua_getextraspace(L))->current)


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
    lua_sethook(co, hook, ARMED, 1);
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


/* Closes the coroutine 'co' of L's job (lua_closethread), following the
** job there, where its <close> handlers run, and back; returns its status,
** its error (if any) on top of co. */
static int closethread (lua_State *L, lua_State *co) {
  Runner *r = jobof(L)->runner;
  int st;
  follow(r, co);
#if LUA_VERSION_RELEASE_NUM >= 50406
  st = lua_closethread(co, L);
#else
  st = lua_resetthread(co);
#endif
  follow(r, L);
  return st;
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
    st = closethread(L, co);
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


/* What coroutine.status says of 'co', seen from L: lcorolib.c's
** auxstatus, for closeco. */
static const char *costatus (lua_State *L, lua_State *co) {
  lua_Debug ar;
  if (L == co)
    return "running";
  switch (lua_status(co)) {
    case LUA_YIELD: return "suspended";
    case LUA_OK:
      if (lua_getstack(co, 0, &ar))
        return "normal";  /* it has frames: it resumed another */
      return lua_gettop(co) == 0 ? "dead" : "suspended";
    default: return "dead";  /* an error ended it */
  }
}


/* coroutine.close of a job: Lua's own (luaB_close of lcorolib.c), but
** that the coroutine's <close> handlers run where a cancel finds them. */
static int closeco (lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
  const char *status;
  int st;
  luaL_argexpected(L, co != NULL, 1, "thread");
  status = costatus(L, co);
  if (strcmp(status, "dead") != 0 && strcmp(status, "suspended") != 0)
    return luaL_error(L, "cannot close a %s coroutine", status);
  st = closethread(L, co);
  if (jobs_stopping(jobof(L)))
    unwind(L, jobof(L));
  if (st == LUA_OK) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushboolean(L, 0);
  lua_xmove(co, L, 1);  /* its error */
  return 2;
}


/* ldblib.c's hook function, which calls the Lua function its debug.sethook
** keeps in the registry: one for the process, as the host's Lua is; found
** by the first job's state to open its debug library (lookhook). */
static lua_Hook luahook = NULL;

#define HOOKKEY	"_HOOKKEY"  /* ldblib.c's registry field: each thread's hook */


/*
** debug.sethook of a job: Lua's own (db_sethook of ldblib.c, line for
** line), so that the job's hooks see the events, levels and names that
** plain Lua's see, where a wrapper calling it would be a frame of its
** own. Then a hook the job sets over the cancel's, as a cancel lands, is
** the cancel's again.
*/
static int sethook (lua_State *L) {
  int arg = lua_isthread(L, 1), mask = 0, count = 0;
  lua_State *L1 = arg ? lua_tothread(L, 1) : L;
  lua_Hook func = NULL;
  Job *j = jobof(L);
  if (lua_isnoneornil(L, arg + 1))
    lua_settop(L, arg + 1);  /* no hook: hooks off */
  else {
    const char *smask = luaL_checkstring(L, arg + 2);
    luaL_checktype(L, arg + 1, LUA_TFUNCTION);
    count = (int)luaL_optinteger(L, arg + 3, 0);
    func = __atomic_load_n(&luahook, __ATOMIC_RELAXED);
    mask = (strchr(smask, 'c') ? LUA_MASKCALL : 0) |
           (strchr(smask, 'r') ? LUA_MASKRET : 0) |
           (strchr(smask, 'l') ? LUA_MASKLINE : 0) |
           (count > 0 ? LUA_MASKCOUNT : 0);
  }
  if (!luaL_getsubtable(L, LUA_REGISTRYINDEX, HOOKKEY)) {
    lua_pushliteral(L, "k");  /* made now: its keys, threads, are weak */
    lua_setfield(L, -2, "__mode");
    lua_pushvalue(L, -1);
    lua_setmetatable(L, -2);
  }
  if (L1 != L && !lua_checkstack(L1, 1))
    return luaL_error(L, "stack overflow");
  lua_pushthread(L1);
  lua_xmove(L1, L, 1);
  lua_pushvalue(L, arg + 1);
  lua_rawset(L, -3);  /* hooktable[L1] = the hook */
  lua_sethook(L1, func, mask, count);
  if (jobs_pending(j) && j->runner != NULL)
    arm(j->runner);
  return 0;
}


/* Finds ldblib's hook function, once: the hook that its sethook (on top)
** sets, on a coroutine made for it, left with no hook again. Any thread
** that races here finds the same function. */
static void lookhook (lua_State *L) {
  lua_State *co;
  if (__atomic_load_n(&luahook, __ATOMIC_RELAXED) != NULL)
    return;
  co = lua_newthread(L);
  lua_pushvalue(L, -2);
  lua_pushvalue(L, -2);
  lua_pushcfunction(L, luaopen_debug);  /* any function */
  lua_pushliteral(L, "c");
  lua_call(L, 3, 0);
  __atomic_store_n(&luahook, lua_gethook(co), __ATOMIC_RELAXED);
  lua_pop(L, 1);
}


/* The coroutine library of a job: switching coroutines tells the cancel
** where the job's code runs. */
int jobs_opencoroutine (lua_State *L) {
  static const luaL_Reg own[] = {{"resume", resume}, {"wrap", wrap},
                                 {"close", closeco}, {NULL, NULL}};
  luaopen_coroutine(L);
  luaL_setfuncs(L, own, 0);
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


int jobs_openos (lua_State *L) {
  luaopen_os(L);
  lua_pushcfunction(L, exitjob);
  lua_setfield(L, -2, "exit");
  return 1;
}


/* The end of a pcall or xpcall of a job (as Lua's own): a stopping job
** goes on unwinding. */
static int finishpcall (lua_State *L, int status, lua_KContext extra) {
  if (jobs_stopping(jobof(L))) {
    if (extra == 2) {  /* an xpcall's: its handler is out of play */
      lua_pushboolean(L, 0);
      lua_replace(L, 2);
    }
    return unwind(L, jobof(L));
  }
  if (status != LUA_OK && status != LUA_YIELD) {
    lua_pushboolean(L, 0);
    lua_pushvalue(L, -2);
    return 2;
  }
  return lua_gettop(L) - (int)extra;
}


/* The stack slot where load's reader keeps the piece it returned. */
#define READERSLOT	5

/* The reader of load from a function (generic_reader of lbaselib.c). */
static const char *readpiece (lua_State *L, void *ud, size_t *size) {
  (void)ud;
  luaL_checkstack(L, 2, "too many nested functions");
  lua_pushvalue(L, 1);
  lua_call(L, 0, 1);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    *size = 0;
    return NULL;
  }
  else if (!lua_isstring(L, -1))
    luaL_error(L, "reader function must return a string");
  lua_replace(L, READERSLOT);  /* kept there while Lua reads it */
  return lua_tolstring(L, READERSLOT, size);
}


/* load of a job: Lua's own (luaB_load of lbaselib.c), but that a stop
** raised in its reader function, which lua_load catches and returns as a
** message, goes on unwinding. */
static int loadjob (lua_State *L) {
  size_t l;
  const char *s = lua_tolstring(L, 1, &l);
  const char *mode = luaL_optstring(L, 3, "bt");
  int env = !lua_isnone(L, 4) ? 4 : 0, st;
  if (s != NULL)
    st = luaL_loadbufferx(L, s, l, luaL_optstring(L, 2, s), mode);
  else {
    const char *chunkname = luaL_optstring(L, 2, "=(load)");
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, READERSLOT);
    st = lua_load(L, readpiece, NULL, chunkname, mode);
    if (jobs_stopping(jobof(L)))
      return unwind(L, jobof(L));
  }
  if (st != LUA_OK) {
    luaL_pushfail(L);
    lua_insert(L, -2);
    return 2;
  }
  if (env != 0) {
    lua_pushvalue(L, env);
    if (!lua_setupvalue(L, -2, 1))  /* the chunk's _ENV */
      lua_pop(L, 1);
  }
  return 1;
}


static int pcalljob (lua_State *L) {
  int status;
  luaL_checkany(L, 1);
  lua_pushboolean(L, 1);
  lua_insert(L, 1);
  status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, finishpcall);
  return finishpcall(L, status, 0);
}


/* xpcall of a job: its message handler is the one Lua calls, as plain
** Lua's xpcall makes it, but for a stop (skiphandler). */
static int xpcalljob (lua_State *L) {
  int status, n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushboolean(L, 1);
  lua_pushvalue(L, 1);
  lua_rotate(L, 3, 2);
  status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, finishpcall);
  return finishpcall(L, status, 2);
}


/* The base library of a job: its pcall and xpcall do not end a stop. */
int jobs_openbase (lua_State *L) {
  static const luaL_Reg own[] = {{"pcall", pcalljob}, {"xpcall", xpcalljob},
                                 {"load", loadjob}, {NULL, NULL}};
  luaopen_base(L);
  luaL_setfuncs(L, own, 0);
  return 1;
}


int jobs_opendebug (lua_State *L) {
  luaopen_debug(L);
  lua_getfield(L, -1, "sethook");
  lookhook(L);
  lua_pop(L, 1);  /* Lua's own sethook */
  lua_pushcfunction(L, sethook);
  lua_setfield(L, -2, "sethook");
  return 1;
}


/* }====================================================== */


/*
** {======================================================
** Waits that a cancel wakes
** =======================================================
*/


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


/* An interrupt from the host waits to be taken (jobs_interrupt); atomic. */
static int hostinterrupt = 0;


JOBS_API void jobs_interrupt (int on) {
  __atomic_store_n(&hostinterrupt, on != 0, __ATOMIC_RELEASE);  /* lock-free */
}


/* Takes the host's interrupt, if one waits: the wait it stops is the one
** running, or the next (a Ctrl-C just before a wait began stops it too). */
int jobs_interrupted (void) {
  return __atomic_exchange_n(&hostinterrupt, 0, __ATOMIC_ACQ_REL);
}


/* Why a wait that returned 'st' (ETIMEDOUT or EINTR) ended without what it
** waited for, as the wait tells its caller. */
const char *jobs_whynot (int st) {
  return st == EINTR ? "interrupted" : "timeout";
}


/*
** Waits on 'cv' (holding 'mu') as jobs_waitcv does. Outside a job ('self'
** NULL), it sleeps JOBS_BREAKTIME seconds at most, returning 0 then as for
** a wake-up (the caller looks and waits again), and EINTR if it takes an
** interrupt of the host's.
*/
int jobs_waitbreak (Job *self, pthread_cond_t *cv, pthread_mutex_t *mu,
                    double until) {
  double slice;
  int st;
  if (self != NULL)
    return jobs_waitcv(cv, mu, until);
  if (jobs_interrupted())
    return EINTR;
  slice = jobs_now() + JOBS_BREAKTIME;
  if (until >= 0 && until <= slice)
    return jobs_waitcv(cv, mu, until);
  st = jobs_waitcv(cv, mu, slice);
  return st == ETIMEDOUT ? 0 : st;
}


/* The monotonic time the number of seconds at 'idx' from now; negative
** (no limit) if absent or huge. */
double jobs_later (lua_State *L, int idx) {
  double secs = luaL_optnumber(L, idx, -1);
  luaL_argcheck(L, lua_isnoneornil(L, idx) || secs >= 0, idx,
                "non-negative number expected");
  return (secs < 0 || secs > 1e9) ? -1 : jobs_now() + secs;
}


/* }====================================================== */
