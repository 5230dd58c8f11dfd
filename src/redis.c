/*
** redis.c: the client of the Redis engine (SPEC §13), module 'jobs.redis':
** a connection to a server and its commands and replies in a state, and
** a lease's thread, which keeps keys alive with a connection of its own.
*/

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "lua.h"
#include "lauxlib.h"

#include "jobsconf.h"
#include "jobs.h"
#include "cancel.h"
#include "record.h"


#define JOBS_REDIS	"jobs.redis.connection"
#define JOBS_LEASE	"jobs.redis.lease"

/* How deep a reply's arrays may nest (the engine's scripts return two). */
#define MAXREPLYDEPTH	8

/* Seconds a connection waits for a server to answer before it gives up on
** it (a reply to a blocking command counts from the block's end). */
#define IOTIMEOUT	30.0


/* Where a server is, from a URL redis://[user[:password]@]host[:port][/db]. */
typedef struct Url {
  char host[256];
  int port;
  char user[128], pass[256];
  int db;
} Url;


/* A connection of a state: NULL 'c' once lost, made again by the next
** command sent. Its replies come in the order their commands were sent;
** 'waiting' counts those not yet read. */
typedef struct Conn {
  redisContext *c;
  Url url;
  int waiting;
  long long id;  /* the server's CLIENT ID of 'c' */
  long long abandoned;  /* the id of the last connection dropped with a
                           reply unread, or 0 (see c:abandoned()) */
  pid_t pid;  /* the process that made 'c': a child forked since has a
                 copy of its socket, which is its parent's to use */
  int closed;  /* c:close() or the finalizer ran: no new connection */
} Conn;


/* Copies 'len' bytes of 's' into 'to' of room 'size'; 0 if they do not fit. */
static int part (char *to, size_t size, const char *s, size_t len) {
  if (len >= size)
    return 0;
  memcpy(to, s, len);
  to[len] = '\0';
  return 1;
}


/*
** Reads 'url' into 'u'; NULL, or why it cannot be used. rediss:// needs
** hiredis with TLS (1.0 and later), which this build has not: refused,
** never taken for a plain connection.
*/
static const char *parseurl (const char *url, Url *u) {
  const char *s, *at, *slash, *colon, *end;
  memset(u, 0, sizeof(Url));
  u->port = 6379;
  if (strncmp(url, "rediss://", 9) == 0)
    return "rediss:// needs hiredis with TLS (1.0 or later); this build's "
           "hiredis has none: refused";
  if (strncmp(url, "redis://", 8) != 0)
    return "URL must start with redis://";
  s = url + 8;
  end = s + strlen(s);
  slash = strchr(s, '/');
  if (slash == NULL)
    slash = end;
  at = memchr(s, '@', (size_t)(slash - s));
  if (at != NULL) {  /* user[:password] or :password */
    colon = memchr(s, ':', (size_t)(at - s));
    if (colon == NULL)
      colon = at;
    if (!part(u->user, sizeof(u->user), s, (size_t)(colon - s)) ||
        (colon < at && !part(u->pass, sizeof(u->pass), colon + 1,
                             (size_t)(at - colon - 1))))
      return "user or password too long";
    s = at + 1;
  }
  colon = memchr(s, ':', (size_t)(slash - s));
  if (!part(u->host, sizeof(u->host), s,
            (size_t)((colon ? colon : slash) - s)) || u->host[0] == '\0')
    return "no host";
  if (colon != NULL) {
    char *e;
    long port = strtol(colon + 1, &e, 10);
    if (e != slash || port <= 0 || port > 65535)
      return "bad port";
    u->port = (int)port;
  }
  if (slash < end && slash[1] != '\0') {
    char *e;
    long db = strtol(slash + 1, &e, 10);
    if (*e != '\0' || db < 0 || db > 1000000)
      return "bad database number";
    u->db = (int)db;
  }
  return NULL;
}


static struct timeval timeval (double secs) {
  struct timeval tv;
  tv.tv_sec = (time_t)secs;
  tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
  return tv;
}


/* Runs one command on 'c' and checks its reply is no error; 0, or writes
** why into 'err'. */
static int simple (redisContext *c, char *err, size_t errlen, int argc,
                   const char **argv) {
  redisReply *r = redisCommandArgv(c, argc, argv, NULL);
  int ok = (r != NULL && r->type != REDIS_REPLY_ERROR);
  if (!ok)
    snprintf(err, errlen, "%s: %s", argv[0],
             r != NULL ? r->str : c->errstr);
  if (r != NULL)
    freeReplyObject(r);
  return ok ? 0 : -1;
}


/* A connection to 'u', authenticated, its database chosen; NULL, with why
** in 'err'. */
static redisContext *dial (const Url *u, char *err, size_t errlen) {
  redisContext *c = redisConnectWithTimeout(u->host, u->port, timeval(5));
  const char *argv[3];
  char db[16];
  if (c == NULL || c->err) {
    snprintf(err, errlen, "cannot connect to %.100s:%d: %.100s", u->host, u->port,
             c != NULL ? c->errstr : "out of memory");
    if (c != NULL)
      redisFree(c);
    return NULL;
  }
  redisEnableKeepAlive(c);
  argv[0] = "AUTH";
  argv[1] = u->user;
  argv[2] = u->pass;
  if ((u->pass[0] != '\0' &&
       simple(c, err, errlen, u->user[0] ? 3 : 2,
              u->user[0] ? argv : (argv[1] = u->pass, argv)) != 0)) {
    redisFree(c);
    return NULL;
  }
  snprintf(db, sizeof(db), "%d", u->db);
  argv[0] = "SELECT";
  argv[1] = db;
  if (u->db != 0 && simple(c, err, errlen, 2, argv) != 0) {
    redisFree(c);
    return NULL;
  }
  return c;
}


/*
** {======================================================
** A connection in a state
** =======================================================
*/

static Conn *checkconn (lua_State *L) {
  return (Conn *)luaL_checkudata(L, 1, JOBS_REDIS);
}


/* Lets go of the connection of 'k', whose replies will never be read. */
static void drop (Conn *k) {
  if (k->c != NULL)
    redisFree(k->c);
  if (k->waiting > 0)
    k->abandoned = k->id;
  k->c = NULL;
  k->waiting = 0;
}


/* Drops the connection of 'k' and raises why, naming 'what'. */
static int lost (lua_State *L, Conn *k, const char *what) {
  char msg[256];
  snprintf(msg, sizeof(msg), "%s", k->c != NULL && k->c->err ? k->c->errstr
                                                              : what);
  drop(k);
  return luaL_error(L, "redis: connection lost: %s", msg);
}


/* Pushes the reply 'r' as a Lua value: a string, an integer, false for
** nil, a table for an array; an error reply raises. */
static void pushreply (lua_State *L, redisReply *r, int depth) {
  size_t i;
  switch (r->type) {
    case REDIS_REPLY_STRING: case REDIS_REPLY_STATUS:
      lua_pushlstring(L, r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      lua_pushinteger(L, (lua_Integer)r->integer);
      break;
    case REDIS_REPLY_ARRAY:
      if (depth >= MAXREPLYDEPTH)
        luaL_error(L, "redis: reply nested too deep");
      luaL_checkstack(L, 2, "redis reply");
      lua_createtable(L, (int)r->elements, 0);
      for (i = 0; i < r->elements; i++) {
        pushreply(L, r->element[i], depth + 1);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
      }
      break;
    case REDIS_REPLY_ERROR:
      luaL_error(L, "redis: %s", r->str);
      break;
    default:  /* nil */
      lua_pushboolean(L, 0);
  }
}


/* Runs protected: pushes the reply at 1 (a light userdata). */
static int pushprotected (lua_State *L) {
  pushreply(L, (redisReply *)lua_touserdata(L, 1), 0);
  return 1;
}


/* Pushes the reply 'r' and frees it, then raises if making it raised
** (an error reply, memory). L has room for 2 more (checked before 'r'
** was taken, as nothing here may raise while it is held). */
static void takereply (lua_State *L, redisReply *r) {
  int st;
  lua_pushcfunction(L, pushprotected);
  lua_pushlightuserdata(L, r);
  st = lua_pcall(L, 1, 1, 0);
  freeReplyObject(r);
  if (st != LUA_OK)
    lua_error(L);
}


static int sendcommand (lua_State *L);

/* Makes the connection of 'k' if it has none; raises if it cannot. */
static void ensure (lua_State *L, Conn *k) {
  char err[300];
  redisReply *r;
  if (k->c != NULL && k->pid != getpid()) {  /* forked: the socket is the
                                               parent's; the copy goes */
    redisFree(k->c);
    k->c = NULL;
    k->waiting = 0;
  }
  if (k->c != NULL)
    return;
  if (k->closed)
    luaL_error(L, "redis: the connection is closed");
  k->pid = getpid();
  if ((k->c = dial(&k->url, err, sizeof(err))) == NULL)
    luaL_error(L, "redis: %s", err);
  r = (redisReply *)redisCommand(k->c, "CLIENT ID");
  k->id = (r != NULL && r->type == REDIS_REPLY_INTEGER) ? r->integer : 0;
  if (r != NULL)
    freeReplyObject(r);
}


/* c:send(command, ...): sends a command, its reply to be read by c:recv. */
static int sendcommand (lua_State *L) {
  Conn *k = checkconn(L);
  int n = lua_gettop(L) - 1, i;
  const char *argv[64];
  size_t len[64];
  const char **av = argv;
  size_t *al = len;
  luaL_argcheck(L, n >= 1, 2, "command expected");
  if (n > 64) {
    av = (const char **)lua_newuserdatauv(L, n * sizeof(char *), 0);
    al = (size_t *)lua_newuserdatauv(L, n * sizeof(size_t), 0);
  }
  for (i = 0; i < n; i++)
    av[i] = luaL_checklstring(L, i + 2, &al[i]);
  ensure(L, k);
  if (redisAppendCommandArgv(k->c, n, av, al) != REDIS_OK)
    return lost(L, k, "cannot send");
  k->waiting++;
  return 0;
}


/* What polling the connection of 'k' (and 'fd', if not negative) until
** 'until' gave: one of these. */
enum { READY, OTHERFD, TIMEDOUT, FAILED };

static int await (Conn *k, short events, int fd, double until) {
  struct pollfd p[2];
  double slice = JOBS_BREAKTIME, left;
  int n;
  if (until >= 0 && (left = until - jobs_now()) < slice)
    slice = left > 0 ? left : 0;
  p[0].fd = k->c->fd;
  p[0].events = events;
  p[1].fd = fd;
  p[1].events = POLLIN;
  n = poll(p, fd >= 0 ? 2 : 1, (int)(slice * 1000));
  if (n < 0)
    return errno == EINTR ? TIMEDOUT : FAILED;
  if (n > 0 && (p[0].revents & (events | POLLERR | POLLHUP)))
    return READY;
  if (n > 0 && fd >= 0 && p[1].revents)
    return OTHERFD;
  return TIMEDOUT;
}


/* Whether the wait of the calling job, or of the host, must end now. */
static int cutshort (lua_State *L) {
  Job *self = jobs_self(L);
  return self != NULL ? jobs_pending(self) : jobs_interrupted();
}


/* Raises the stop of the calling job (or the host's interrupt), the
** connection of 'k' dropped: its replies will never be read. */
static int stopped (lua_State *L, Conn *k) {
  Job *self = jobs_self(L);
  drop(k);
  if (self != NULL)
    return jobs_stop(L, self);
  return luaL_error(L, "interrupted");
}


/* Writes what 'k' has to send; raises if the connection fails, or the
** wait is cut short (see 'stopped'). */
static void flush (lua_State *L, Conn *k) {
  int done = 0;
  double until = jobs_now() + IOTIMEOUT;
  for (;;) {
    int st;
    if (redisBufferWrite(k->c, &done) != REDIS_OK)
      lost(L, k, "cannot write");
    if (done)
      return;
    if (cutshort(L))
      stopped(L, k);
    st = await(k, POLLOUT, -1, until);
    if (st == FAILED || jobs_now() >= until)
      lost(L, k, "the server does not read");
  }
}


/*
** Pushes the reply to the first command of 'k' not yet read, waiting
** 'secs' at most (negative: until the server answers, IOTIMEOUT past which
** the connection is dropped); or nil, "timeout" after them, or nil, "fd"
** as soon as descriptor 'fd' (negative: none) is readable, the reply still
** to be read. A cancel of the calling job, or the host's interrupt, cuts
** the wait short (see 'stopped'). Returns how many values it pushed.
*/
static int receive (lua_State *L, Conn *k, double secs, int fd) {
  double until = secs < 0 ? -1 : jobs_now() + secs;
  double giveup = jobs_now() + IOTIMEOUT + (secs > 0 ? secs : 0);
  void *r = NULL;
  if (k->c == NULL || k->waiting == 0 || k->pid != getpid())
    return luaL_error(L, "redis: no reply to wait for");
  luaL_checkstack(L, 2, "redis reply");
  flush(L, k);
  for (;;) {
    int st;
    if (redisGetReplyFromReader(k->c, &r) != REDIS_OK)
      return lost(L, k, "bad reply");
    if (r != NULL)
      break;
    if (cutshort(L))
      return stopped(L, k);
    st = await(k, POLLIN, fd, until);
    if (st == READY && redisBufferRead(k->c) != REDIS_OK)
      return lost(L, k, "cannot read");
    if (st == FAILED)
      return lost(L, k, "poll failed");
    if (st == OTHERFD || (until >= 0 && jobs_now() >= until)) {
      lua_pushnil(L);
      lua_pushstring(L, st == OTHERFD ? "fd" : "timeout");
      return 2;
    }
    if (jobs_now() >= giveup)
      return lost(L, k, "no reply from the server");
  }
  k->waiting--;
  takereply(L, (redisReply *)r);
  return 1;
}


/* c:recv([seconds [, fd]]): see 'receive'. */
static int recvreply (lua_State *L) {
  Conn *k = checkconn(L);
  double secs = luaL_optnumber(L, 2, -1);
  return receive(L, k, secs, (int)luaL_optinteger(L, 3, -1));
}


/* c:call(command, ...): sends it and returns its reply, those of commands
** sent before it read and dropped first. */
static int call (lua_State *L) {
  Conn *k = checkconn(L);
  sendcommand(L);
  while (k->waiting > 1) {
    receive(L, k, -1, -1);
    lua_pop(L, 1);
  }
  return receive(L, k, -1, -1);
}


/*
** c:abandoned(): the server's id of the last connection dropped with a
** reply unread (a blocking command's, cut short by a cancel), once; or
** nil. The server may not have seen it go yet, and may give it what the
** command waited for: CLIENT KILL ID it first.
*/
static int abandoned (lua_State *L) {
  Conn *k = checkconn(L);
  if (k->abandoned == 0)
    return 0;
  lua_pushinteger(L, (lua_Integer)k->abandoned);
  k->abandoned = 0;
  return 1;
}


/* c:waiting(): how many replies are not read yet. */
static int waiting (lua_State *L) {
  lua_pushinteger(L, checkconn(L)->waiting);
  return 1;
}


static int closeconn (lua_State *L) {
  Conn *k = checkconn(L);
  drop(k);
  k->closed = 1;
  return 0;
}


/* redis.check(url): raises if 'url' is no URL of a server. */
static int checkurl (lua_State *L) {
  const char *url = luaL_checkstring(L, 1);
  Url u;
  const char *why = parseurl(url, &u);
  if (why != NULL)
    return luaL_error(L, "bad engine URL '%s': %s", url, why);
  return 0;
}


/* redis.connect(url): a connection, made at once (raising if it cannot
** be) and made again by the next command after it is lost. */
static int connect (lua_State *L) {
  const char *url = luaL_checkstring(L, 1);
  const char *why;
  Conn *k = (Conn *)lua_newuserdatauv(L, sizeof(Conn), 0);
  memset(k, 0, sizeof(Conn));
  if ((why = parseurl(url, &k->url)) != NULL)
    return luaL_error(L, "bad engine URL '%s': %s", url, why);
  luaL_setmetatable(L, JOBS_REDIS);
  ensure(L, k);
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** A lease: a thread that runs commands again and again
** =======================================================
*/


/* The commands of a lease, run every 'every' seconds on a connection of
** its thread's own, until 'stop'; 'mu' guards 'stop' and 'err'. */
typedef struct Lease {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop;
  double every;
  Url url;
  pid_t pid;  /* the process whose thread it is: a child forked since has
                 none to stop */
  int n;  /* commands */
  int *argc;
  char ***argv;
  size_t **len;
  char err[256];  /* the last failure, or "" */
} Lease;


static void freecommands (Lease *l) {
  int i, a;
  for (i = 0; i < l->n; i++) {
    for (a = 0; a < l->argc[i]; a++)
      free(l->argv[i][a]);
    free(l->argv[i]);
    free(l->len[i]);
  }
  free(l->argc);
  free(l->argv);
  free(l->len);
}


static void freelease (Lease *l) {
  freecommands(l);
  pthread_mutex_destroy(&l->mu);
  pthread_cond_destroy(&l->cv);
  free(l);
}


static void failed (Lease *l, const char *what, const char *why) {
  pthread_mutex_lock(&l->mu);
  snprintf(l->err, sizeof(l->err), "%.60s: %.180s", what, why);
  pthread_mutex_unlock(&l->mu);
}


/* Runs the commands of 'l' once on '*c' (made first if NULL); '*c' is NULL
** after, if the connection failed. */
static void renew (Lease *l, redisContext **c) {
  int i, bad = 0;
  if (*c == NULL) {
    char err[300];
    if ((*c = dial(&l->url, err, sizeof(err))) == NULL) {
      failed(l, "connect", err);
      return;
    }
    redisSetTimeout(*c, timeval(l->every * 2 + 1));
  }
  for (i = 0; i < l->n; i++)
    redisAppendCommandArgv(*c, l->argc[i], (const char **)l->argv[i],
                           l->len[i]);
  for (i = 0; i < l->n && !bad; i++) {
    void *r;
    if (redisGetReply(*c, &r) != REDIS_OK)
      bad = 1;
    else {
      if (((redisReply *)r)->type == REDIS_REPLY_ERROR)
        failed(l, l->argv[i][0], ((redisReply *)r)->str);
      freeReplyObject(r);
    }
  }
  if (bad) {
    failed(l, "connection lost", (*c)->errstr);
    redisFree(*c);
    *c = NULL;
  }
}


static void *leasethread (void *arg) {
  Lease *l = (Lease *)arg;
  redisContext *c = NULL;
  pthread_mutex_lock(&l->mu);
  while (!l->stop) {
    pthread_mutex_unlock(&l->mu);
    renew(l, &c);
    pthread_mutex_lock(&l->mu);
    if (!l->stop)
      jobs_waitcv(&l->cv, &l->mu, jobs_now() + l->every);
  }
  pthread_mutex_unlock(&l->mu);
  if (c != NULL)
    redisFree(c);
  return NULL;
}


static Lease **checklease (lua_State *L) {
  return (Lease **)luaL_checkudata(L, 1, JOBS_LEASE);
}


/* l:stop(), and its finalizer: the thread ends (a run of its commands
** under way ends first) and is joined. */
static int stoplease (lua_State *L) {
  Lease **b = checklease(L), *l = *b;
  if (l == NULL)
    return 0;
  *b = NULL;
  if (l->pid != getpid()) {  /* forked: the thread is the parent's, and so
                               may be the lock; its memory is a copy */
    freecommands(l);
    free(l);
    return 0;
  }
  pthread_mutex_lock(&l->mu);
  l->stop = 1;
  pthread_cond_signal(&l->cv);
  pthread_mutex_unlock(&l->mu);
  pthread_join(l->thread, NULL);
  freelease(l);
  return 0;
}


/* l:error(): the last failure of its commands, or nil. */
static int leaseerror (lua_State *L) {
  Lease *l = *checklease(L);
  if (l == NULL)
    return 0;
  pthread_mutex_lock(&l->mu);
  lua_pushstring(L, l->err);
  pthread_mutex_unlock(&l->mu);
  if (lua_rawlen(L, -1) == 0)
    lua_pushnil(L);
  return 1;
}


/* Checks that the table at 3 is a list of commands, each a list of
** strings. */
static void checkcommands (lua_State *L) {
  int n = (int)lua_rawlen(L, 3), i, a;
  luaL_argcheck(L, n > 0 && n < 100, 3, "1 to 99 commands expected");
  for (i = 1; i <= n; i++) {
    int words;
    luaL_argcheck(L, lua_rawgeti(L, 3, i) == LUA_TTABLE, 3,
                  "list of commands expected");
    words = (int)lua_rawlen(L, -1);
    luaL_argcheck(L, words > 0 && words < 1000, 3, "command of 1 to 999 words");
    for (a = 1; a <= words; a++) {
      luaL_argcheck(L, lua_rawgeti(L, -1, a) == LUA_TSTRING, 3,
                    "commands of strings expected");
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
}


/* Copies the commands at 3 (checked) into 'l'; 0 if memory fails. Raises
** nothing. */
static int takecommands (lua_State *L, Lease *l) {
  int i, a;
  l->n = (int)lua_rawlen(L, 3);
  l->argc = (int *)calloc((size_t)l->n, sizeof(int));
  l->argv = (char ***)calloc((size_t)l->n, sizeof(char **));
  l->len = (size_t **)calloc((size_t)l->n, sizeof(size_t *));
  if (l->argc == NULL || l->argv == NULL || l->len == NULL) {
    l->n = 0;
    return 0;
  }
  for (i = 0; i < l->n; i++) {
    int n = (lua_rawgeti(L, 3, i + 1), (int)lua_rawlen(L, -1));
    l->argv[i] = (char **)calloc((size_t)n, sizeof(char *));
    l->len[i] = (size_t *)calloc((size_t)n, sizeof(size_t));
    for (a = 0; a < n && l->argv[i] != NULL && l->len[i] != NULL; a++) {
      size_t len;
      const char *s = (lua_rawgeti(L, -1, a + 1), lua_tolstring(L, -1, &len));
      lua_pop(L, 1);
      if ((l->argv[i][a] = (char *)malloc(len + 1)) == NULL)
        break;
      memcpy(l->argv[i][a], s, len + 1);
      l->len[i][a] = len;
      l->argc[i] = a + 1;
    }
    lua_pop(L, 1);
    if (l->argc[i] != n)
      return 0;
  }
  return 1;
}


/*
** redis.lease(url, every, commands): a thread with a connection of its own
** that runs 'commands' (a list of lists of strings) at once and then every
** 'every' seconds, until l:stop() or its finalizer. Nothing of Lua runs
** there: whatever a state's code does, the commands keep their pace. All
** signals are blocked in it.
*/
static int newlease (lua_State *L) {
  const char *url = luaL_checkstring(L, 1);
  double every = luaL_checknumber(L, 2);
  const char *why;
  Lease **b, *l;
  sigset_t all, old;
  int err;
  Url u;
  luaL_argcheck(L, every > 0 && every < 3600, 2, "seconds expected");
  luaL_checktype(L, 3, LUA_TTABLE);
  checkcommands(L);
  if ((why = parseurl(url, &u)) != NULL)
    return luaL_error(L, "bad engine URL '%s': %s", url, why);
  b = (Lease **)lua_newuserdatauv(L, sizeof(Lease *), 0);
  *b = NULL;  /* nothing may raise from here until it holds 'l' */
  luaL_setmetatable(L, JOBS_LEASE);
  if ((l = (Lease *)calloc(1, sizeof(Lease))) == NULL)
    return luaL_error(L, "not enough memory");
  jobs_initmutex(&l->mu);
  jobs_initcv(&l->cv);
  l->every = every;
  l->url = u;
  l->pid = getpid();
  if (!takecommands(L, l)) {
    freelease(l);
    return luaL_error(L, "not enough memory");
  }
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  err = pthread_create(&l->thread, NULL, leasethread, l);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (err != 0) {
    freelease(l);
    return luaL_error(L, "cannot start a lease thread: %s", strerror(err));
  }
  *b = l;
  return 1;
}

/* }====================================================== */


static const luaL_Reg connmethods[] = {
  {"send", sendcommand},
  {"recv", recvreply},
  {"call", call},
  {"waiting", waiting},
  {"abandoned", abandoned},
  {"close", closeconn},
  {NULL, NULL}
};

static const luaL_Reg leasemethods[] = {
  {"stop", stoplease},
  {"error", leaseerror},
  {NULL, NULL}
};


static void newclass (lua_State *L, const char *name, const luaL_Reg *m,
                      lua_CFunction gc) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  luaL_setfuncs(L, m, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
}


JOBS_API int luaopen_jobs_redis (lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"check", checkurl},
    {"connect", connect},
    {"lease", newlease},
    {"raise", jobs_raisewith},  /* a remote task's error, as it came */
    {NULL, NULL}
  };
  newclass(L, JOBS_REDIS, connmethods, closeconn);
  newclass(L, JOBS_LEASE, leasemethods, stoplease);
  luaL_newlib(L, funcs);
  return 1;
}
