/*
** luajobs.c: the luajobs interpreter (SPEC §7): lua5.4's command line, with
** 'jobs' preloaded, and a prompt with job control ('&', notices, waiting).
*/

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobs.h"

#include "repl_lua.h"  /* generated from lua/repl.lua: 'repl_lua' */

#if defined(LUAJOBS_READLINE)
#include <poll.h>
#include <readline/readline.h>
#include <readline/history.h>
#include "term.h"
#endif


#define PROMPT		"> "
#define PROMPT2		">> "
#define MAXINPUT	512  /* a line without readline */
#define EOFMARK		"<eof>"  /* ends the message of an incomplete chunk */
#define REPLKEY		"luajobs.repl"  /* registry: lua/repl.lua's table */
#define DROPPED		(-2)  /* a statement dropped by a Ctrl-C at the prompt */


static lua_State *globalL = NULL;  /* what a Ctrl-C interrupts */
static const char *progname = "luajobs";
static volatile sig_atomic_t interrupted = 0;  /* a Ctrl-C, when not running */


/*
** {======================================================
** Signals: Ctrl-C stops the statement running, as in lua.c
** =======================================================
*/

static void setsignal (int sig, void (*handler)(int)) {
  struct sigaction sa;
  sa.sa_handler = handler;
  sa.sa_flags = 0;  /* no SA_RESTART: a read at the prompt is interrupted */
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}


static void lstop (lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}


/* A Ctrl-C while Lua code runs: a hook stops it at its next step; a second
** one ends the process. Jobs never see it: their threads block signals. */
static void laction (int sig) {
  int flag = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
  setsignal(sig, SIG_DFL);
  lua_sethook(globalL, lstop, flag, 1);
  jobs_interrupt(1);  /* the module's waits return, and the hook raises */
}


/* A Ctrl-C at the prompt or while waiting for jobs at the end. */
static void noteinterrupt (int sig) {
  (void)sig;
  interrupted = 1;
}

/* }====================================================== */


/*
** {======================================================
** Running chunks, reporting errors
** =======================================================
*/

static void l_message (const char *pname, const char *msg) {
  if (pname)
    lua_writestringerror("%s: ", pname);
  lua_writestringerror("%s\n", msg);
}


/* Prints the message on top if 'status' is an error; returns 'status'. */
static int report (lua_State *L, int status) {
  if (status != LUA_OK) {
    l_message(progname, lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  return status;
}


static int msghandler (lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)",
                          luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}


/* Calls the function below 'narg' arguments with a traceback handler and
** Ctrl-C armed. */
static int docall (lua_State *L, int narg, int nres) {
  int status, base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  globalL = L;
  jobs_interrupt(0);  /* a Ctrl-C no wait took is over */
  setsignal(SIGINT, laction);
  status = lua_pcall(L, narg, nres, base);
  setsignal(SIGINT, SIG_DFL);
  lua_remove(L, base);
  return status;
}


static int dochunk (lua_State *L, int status) {
  if (status == LUA_OK)
    status = docall(L, 0, 0);
  return report(L, status);
}


static int dofile (lua_State *L, const char *name) {
  return dochunk(L, luaL_loadfile(L, name));
}


static int dostring (lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}


/* -l g=mod: g = require(mod) */
static int dolibrary (lua_State *L, char *globname) {
  int status;
  char *modname = strchr(globname, '=');
  if (modname == NULL)
    modname = globname;
  else
    *modname++ = '\0';
  lua_getglobal(L, "require");
  lua_pushstring(L, modname);
  status = docall(L, 1, 1);
  if (status == LUA_OK)
    lua_setglobal(L, globname);
  return report(L, status);
}


/* Pushes arg[1] .. arg[#arg]; returns how many. */
static int pushargs (lua_State *L) {
  int i, n;
  if (lua_getglobal(L, "arg") != LUA_TTABLE)
    luaL_error(L, "'arg' is not a table");
  n = (int)luaL_len(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (i = 1; i <= n; i++)
    lua_rawgeti(L, -i, i);
  lua_remove(L, -i);
  return n;
}


static int handle_script (lua_State *L, char **argv) {
  int status;
  const char *fname = argv[0];
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0)
    fname = NULL;  /* stdin */
  status = luaL_loadfile(L, fname);
  if (status == LUA_OK)
    status = docall(L, pushargs(L), LUA_MULTRET);
  return report(L, status);
}


static int handle_luainit (lua_State *L) {
  const char *name = "=LUA_INIT" LUA_VERSUFFIX;
  const char *init = getenv(name + 1);
  if (init == NULL) {
    name = "=LUA_INIT";
    init = getenv(name + 1);
  }
  if (init == NULL)
    return LUA_OK;
  if (init[0] == '@')
    return dofile(L, init + 1);
  return dostring(L, init, name);
}

/* }====================================================== */


/*
** {======================================================
** The command line, as lua5.4 reads it
** =======================================================
*/

#define has_error	1
#define has_i		2
#define has_v		4
#define has_h		64  /* -h, --help: help and nothing else */
#define has_e		8
#define has_E		16


/* The options, as a bad option lists them (as lua5.4 does) and -h. */
static const char options[] =
  "  -e stat   execute string 'stat'\n"
  "  -i        enter interactive mode after executing 'script'\n"
  "  -l mod    require library 'mod' into global 'mod'\n"
  "  -l g=mod  require library 'mod' into global 'g'\n"
  "  -v        show version information\n"
  "  -E        ignore environment variables\n"
  "  -W        turn warnings on\n"
  "  --        stop handling options\n"
  "  -         stop handling options and execute stdin\n";


static void print_usage (const char *badoption) {
  lua_writestringerror("%s: ", progname);
  if (badoption[1] == 'e' || badoption[1] == 'l')
    lua_writestringerror("'%s' needs argument\n", badoption);
  else
    lua_writestringerror("unrecognized option '%s'\n", badoption);
  lua_writestringerror("usage: %s [options] [script [args]]\n"
                       "Available options are:\n", progname);
  lua_writestringerror("%s", options);
}


static void print_version (void) {
  lua_writestring(LUA_COPYRIGHT, strlen(LUA_COPYRIGHT));
  lua_writeline();
  lua_writestring(LUAJOBS_VERSION, strlen(LUAJOBS_VERSION));
  lua_writeline();
}


/* luajobs -h, --help: the options, then the prompt's job control. */
static void print_help (void) {
  printf("usage: %s [options] [script [args]]\n"
         "Runs Lua 5.4 as lua5.4 does, with 'jobs' (luajobs) a global.\n"
         "Available options are:\n%s"
         "  -h, --help  show this help\n"
         "At the prompt:\n"
         "  stat &    run the line as a background job (its free names from\n"
         "            the prompt's globals); the jobs finished since the last\n"
         "            prompt are announced before the next one\n"
         "  jobs      print the status table (see also jobs.traceback(n),\n"
         "            jobs.result(n))\n"
         "  Ctrl-C    stop the statement in the foreground, or drop the line\n"
         "            being typed; never a background job\n"
         "  Ctrl-D    leave once the jobs still running (not daemons) end; a\n"
         "            Ctrl-C then cancels them\n", progname, options);
}


/* The options needing no Lua (a mask of has_*); '*first' is the script's
** index, or that of a bad option. */
static int collectargs (char **argv, int *first) {
  int args = 0, i;
  for (i = 1; argv[i] != NULL; i++) {
    *first = i;
    if (argv[i][0] != '-')
      return args;
    switch (argv[i][1]) {
      case '-':
        if (strcmp(argv[i], "--help") == 0)
          return has_h;
        if (argv[i][2] != '\0')
          return has_error;
        *first = i + 1;
        return args;
      case '\0':
        return args;  /* the script is "-" */
      case 'h':
        return argv[i][2] == '\0' ? has_h : has_error;
      case 'E': case 'W': case 'i': case 'v':  /* nothing may follow */
        if (argv[i][2] != '\0')
          return has_error;
        args |= argv[i][1] == 'E' ? has_E :
                argv[i][1] == 'i' ? has_i | has_v :  /* -i implies -v */
                argv[i][1] == 'v' ? has_v : 0;
        break;
      case 'e':
        args |= has_e;
        /* FALLTHROUGH */
      case 'l':
        if (argv[i][2] == '\0') {
          i++;
          if (argv[i] == NULL || argv[i][0] == '-')
            return has_error;
        }
        break;
      default:
        return has_error;
    }
  }
  *first = i;
  return args;
}


/* Runs -e and -l in order, and sets -W; 0 if some code failed. */
static int runargs (lua_State *L, char **argv, int n) {
  int i;
  for (i = 1; i < n; i++) {
    int option = argv[i][1];
    if (option == 'e' || option == 'l') {
      char *extra = argv[i] + 2;
      if (*extra == '\0')
        extra = argv[++i];
      if ((option == 'e' ? dostring(L, extra, "=(command line)")
                         : dolibrary(L, extra)) != LUA_OK)
        return 0;
    }
    else if (option == 'W')
      lua_warning(L, "@on", 0);
  }
  return 1;
}


/* arg: the script at 0, its arguments after, the interpreter's before. */
static void createargtable (lua_State *L, char **argv, int argc, int script) {
  int i;
  if (script == argc)
    script = 0;
  lua_createtable(L, argc - (script + 1), script + 1);
  for (i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

/* }====================================================== */


/*
** {======================================================
** The prompt
** =======================================================
*/

/* Calls the function 'name' of lua/repl.lua with the 'nargs' values on
** top; errors are reported, not raised. */
static int callrepl (lua_State *L, const char *name, int nargs, int nres) {
  int status;
  lua_getfield(L, LUA_REGISTRYINDEX, REPLKEY);
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
  lua_insert(L, -1 - nargs);
  status = report(L, lua_pcall(L, nargs, nres, 0));
  if (status != LUA_OK)
    lua_settop(L, lua_gettop(L) + nres);  /* nils, as if it had returned */
  return status;
}


#if defined(LUAJOBS_READLINE)

static FILE *tty = NULL;  /* the terminal, when term.c holds stdout */
static lua_State *promptL = NULL;  /* the state whose prompt reads a line */


/* Says what happened while a line was typed: clears the line, writes the
** output held meanwhile, with 'news' the notices of jobs ended, and draws
** the line again below. */
static void shownews (int news) {
  rl_clear_visible_line();
  fflush(rl_outstream);  /* cleared before anything is written */
  if (tty != NULL && term_hold(0)) {
    fputs("\n", tty);  /* the line goes below what was written */
    fflush(tty);
  }
  if (news)
    callrepl(promptL, "announce", 0, 0);
  fflush(stdout);
  if (tty != NULL)
    term_hold(1);
  rl_on_new_line();
  rl_redisplay();
}


/* Readline's input: a key, or after a Ctrl-C, Enter on an emptied line.
** Meanwhile, notices of jobs that end and other threads' output are
** written as they come, above the line being typed. */
static int getkey (FILE *f) {
  for (;;) {
    struct pollfd p[3];
    unsigned char c;
    ssize_t r;
    if (interrupted) {
      rl_replace_line("", 0);
      return '\n';
    }
    p[0].fd = fileno(f);
    p[1].fd = tty != NULL ? term_fd() : -1;
    p[2].fd = jobs_fd(promptL);
    p[0].events = p[1].events = p[2].events = POLLIN;
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR)
        continue;
      return EOF;
    }
    if (p[1].revents || p[2].revents)
      shownews(p[2].revents != 0);
    if (p[0].revents == 0)
      continue;
    if ((r = read(p[0].fd, &c, 1)) == 1)
      return c;
    if (r == 0 || errno != EINTR)
      return EOF;
  }
}

static void initreadline (lua_State *L) {
  promptL = L;
  rl_readline_name = "luajobs";
  rl_catch_signals = 0;  /* a Ctrl-C reaches 'noteinterrupt', then getkey */
  rl_getc_function = getkey;
  if (tty != NULL)
    rl_outstream = tty;  /* stdout is held while a line is typed */
}

/* Reads a line; meanwhile, with term.c, output is held (getkey writes it
** above the line) and written when the line is done. */
static char *readline_ (const char *prompt) {
  char *b;
  fflush(stdout);  /* what was written before goes before the prompt */
  if (tty == NULL)
    return readline(prompt);
  term_hold(1);
  b = readline(prompt);
  term_hold(0);
  return b;
}

/* Before the first state: stdout and stderr through term.c, when a
** prompt on a terminal will read lines. */
static void openterm (void) {
  tty = term_open();
}

#define saveline(line)	add_history(line)

#else

#define initreadline(L)	((void)(L))

#define openterm()	((void)0)

static char *readline_ (const char *prompt) {
  char *b = (char *)malloc(MAXINPUT);
  fputs(prompt, stdout);
  fflush(stdout);
  if (b != NULL && fgets(b, MAXINPUT, stdin) != NULL)
    return b;
  if (b != NULL && interrupted) {  /* a Ctrl-C: an empty line */
    clearerr(stdin);
    lua_writeline();
    b[0] = '\0';
    return b;
  }
  free(b);
  return NULL;
}

#define saveline(line)	((void)(line))

#endif


/* Pushes the jobs module, whatever the global 'jobs' holds now. */
static void pushjobs (lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, "jobs");
  lua_remove(L, -2);
}


static const char *get_prompt (lua_State *L, int firstline) {
  if (lua_getglobal(L, firstline ? "_PROMPT" : "_PROMPT2") == LUA_TNIL)
    return firstline ? PROMPT : PROMPT2;
  else {
    const char *p = luaL_tolstring(L, -1, NULL);
    lua_remove(L, -2);
    return p;
  }
}


static int incomplete (lua_State *L, int status) {
  size_t lmsg, mark = sizeof(EOFMARK) - 1;
  const char *msg;
  if (status != LUA_ERRSYNTAX)
    return 0;
  msg = lua_tolstring(L, -1, &lmsg);
  if (lmsg < mark || strcmp(msg + lmsg - mark, EOFMARK) != 0)
    return 0;
  lua_pop(L, 1);
  return 1;
}


/* Announces finished jobs (before a first line), prompts, and pushes the
** line read: 1; or 0 at the end of input; or DROPPED after a Ctrl-C. */
static int pushline (lua_State *L, int firstline) {
  char *b;
  size_t l;
  const char *prompt;
  if (firstline)
    callrepl(L, "announce", 0, 0);
  prompt = get_prompt(L, firstline);
  interrupted = 0;
  setsignal(SIGINT, noteinterrupt);
  b = readline_(prompt);
  setsignal(SIGINT, SIG_DFL);
  lua_pop(L, 1);  /* the prompt */
  if (b == NULL)
    return 0;
  if (interrupted) {
    free(b);
    return DROPPED;
  }
  l = strlen(b);
  if (l > 0 && b[l - 1] == '\n')
    b[--l] = '\0';
  if (firstline && b[0] == '=')
    lua_pushfstring(L, "return %s", b + 1);
  else
    lua_pushlstring(L, b, l);
  free(b);
  return 1;
}


/* The length of the first 'l' characters of 's' without trailing blanks. */
static size_t trimmed (const char *s, size_t l) {
  while (l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\t'))
    l--;
  return l;
}


/* Whether the 'l' bytes at 's' compile, as an expression or statements. */
static int compiles (lua_State *L, const char *s, size_t l) {
  int ok;
  lua_pushliteral(L, "return ");
  lua_pushlstring(L, s, l);
  lua_concat(L, 2);
  ok = luaL_loadbuffer(L, lua_tostring(L, -1), l + 7, "=stdin") == LUA_OK ||
       (lua_pop(L, 1), luaL_loadbuffer(L, s, l, "=stdin") == LUA_OK);
  lua_pop(L, 2);
  return ok;
}


/* Whether the code at 'idx' ends in an '&' that is no part of its code (in
** a comment or a string it compiles): a background job. If so, leaves
** only the code before it there. With 'whole', only if that code compiles
** (a statement of several lines, ended by '&' on its last). */
static int background (lua_State *L, int idx, int whole) {
  size_t l;
  const char *code = lua_tolstring(L, idx, &l);
  l = trimmed(code, l);
  if (l == 0 || code[l - 1] != '&' || compiles(L, code, l) ||
      (whole && !compiles(L, code, trimmed(code, l - 1))))
    return 0;
  lua_pushlstring(L, code, trimmed(code, l - 1));
  lua_replace(L, idx);
  return 1;
}


/* Starts the code on top as a job of the default manager and says so; its
** free names come from the globals: jobs.new is called from C. A line
** "name = expr" runs 'expr', whose result goes to the global 'name' once
** the job is done (repl.lua). */
static int startjob (lua_State *L) {
  int status;
  saveline(lua_tostring(L, -1));
  lua_pushvalue(L, -1);
  callrepl(L, "assignment", 1, 2);  /* code, name, expr */
  if (!lua_isnil(L, -1))
    lua_replace(L, -3);  /* expr, name */
  else
    lua_pop(L, 1);  /* code, nil */
  lua_insert(L, -2);
  pushjobs(L);
  lua_getfield(L, -1, "new");
  lua_replace(L, -2);
  lua_insert(L, -2);  /* name, jobs.new, code */
  if ((status = docall(L, 1, 1)) == LUA_OK) {
    lua_insert(L, -2);  /* job, name */
    callrepl(L, "started", 2, 0);
  }
  return report(L, status);
}


static int addreturn (lua_State *L) {
  const char *line = lua_tostring(L, -1);
  const char *retline = lua_pushfstring(L, "return %s;", line);
  int status = luaL_loadbuffer(L, retline, strlen(retline), "=stdin");
  if (status == LUA_OK) {
    lua_remove(L, -2);
    if (line[0] != '\0')
      saveline(line);
  }
  else
    lua_pop(L, 2);
  return status;
}


/* Reads continuation lines until the chunk at 1 is complete; DROPPED if a
** Ctrl-C drops it. A chunk whose last line ends in '&' is a background
** job ('*bg'), its code left at 1. */
static int multiline (lua_State *L, int *bg) {
  for (;;) {
    size_t len;
    const char *line = lua_tolstring(L, 1, &len);
    int status = luaL_loadbuffer(L, line, len, "=stdin"), more;
    if (!incomplete(L, status) || (more = pushline(L, 0)) == 0) {
      saveline(line);
      return status;
    }
    if (more == DROPPED)
      return DROPPED;
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);
    if ((*bg = background(L, 1, 1))) {
      lua_settop(L, 1);
      return LUA_OK;
    }
  }
}


/* Reads a statement: -1 at the end of input; DROPPED; a status and the
** function (or error) on top; or, with '*bg', a background job's code. */
static int loadline (lua_State *L, int *bg) {
  int status;
  lua_settop(L, 0);
  if ((status = pushline(L, 1)) != 1)
    return status == 0 ? -1 : DROPPED;
  if ((*bg = background(L, 1, 0)))
    return LUA_OK;
  if ((status = addreturn(L)) != LUA_OK && (status = multiline(L, bg)) ==
      LUA_OK && *bg)
    return LUA_OK;  /* the job's code at 1, alone */
  lua_remove(L, 1);
  return status;
}


static void l_print (lua_State *L) {
  int n = lua_gettop(L);
  if (n > 0) {
    luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
    lua_getglobal(L, "print");
    lua_insert(L, 1);
    if (lua_pcall(L, n, 0, 0) != LUA_OK)
      l_message(progname, lua_pushfstring(L, "error calling 'print' (%s)",
                                          lua_tostring(L, -1)));
  }
}


/* At the end of input: waits for the state's jobs but daemons (pools'
** tasks too), saying how many; a Ctrl-C meanwhile cancels them. */
static void awaitjobs (lua_State *L) {
  int n;
  callrepl(L, "awaited", 0, 1);
  if ((n = (int)lua_tointeger(L, -1)) == 0)
    return;
  interrupted = 0;
  setsignal(SIGINT, noteinterrupt);  /* before saying a Ctrl-C cancels */
  printf("waiting for %d job%s (Ctrl-C cancels)\n", n, n == 1 ? "" : "s");
  fflush(stdout);
  lua_settop(L, 0);
  while (!interrupted) {
    lua_pushnumber(L, 0.1);  /* a Ctrl-C is seen within 0.1 s */
    if (callrepl(L, "await", 1, 1) != LUA_OK || lua_toboolean(L, -1))
      break;
    lua_pop(L, 1);
  }
  setsignal(SIGINT, SIG_DFL);
  if (interrupted) {
    printf("\ncancelling them\n");  /* after the terminal's ^C */
    callrepl(L, "cancel", 0, 0);
  }
  lua_settop(L, 0);
}


static void doREPL (lua_State *L) {
  int status, bg;
  const char *oldprogname = progname;
  progname = NULL;  /* no name in front of errors at the prompt */
  initreadline(L);
  if (isatty(0))
    printf("'jobs' lists jobs; a line ending in & runs as one (-h: more)\n");
  while ((status = loadline(L, &bg)) != -1) {
    if (status == DROPPED)
      continue;
    if (bg)
      status = startjob(L);
    else if (status == LUA_OK && (status = docall(L, 0, LUA_MULTRET)) == LUA_OK)
      l_print(L);
    else
      report(L, status);
  }
  lua_settop(L, 0);
  lua_writeline();
  awaitjobs(L);
  progname = oldprogname;
}

/* }====================================================== */


/* Opens what every luajobs state has: the standard libraries, 'jobs' as a
** global, and the prompt's helpers. */
static void openlibs (lua_State *L) {
  luaL_openlibs(L);
  luaL_requiref(L, "jobs", luaopen_jobs, 1);
  if (luaL_loadbufferx(L, repl_lua, sizeof(repl_lua), "=repl.lua", "t")
      != LUA_OK)
    lua_error(L);
  lua_insert(L, -2);
  lua_call(L, 1, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, REPLKEY);
}


/*
** luajobs --worker URL [options]: a worker of remote pools (SPEC §13), its
** loop in jobs.remote; a Ctrl-C ends it, its lease and name let go of.
*/
static int runworker (lua_State *L, int argc, char **argv) {
  int i;
  openlibs(L);
  if (handle_luainit(L) != LUA_OK)
    return 0;
  lua_getglobal(L, "require");
  lua_pushliteral(L, "jobs.remote");
  if (docall(L, 1, 1) != LUA_OK)
    return report(L, LUA_ERRRUN), 0;
  lua_getfield(L, -1, "main");
  lua_createtable(L, argc, 0);
  for (i = 2; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - 1);
  }
  if (docall(L, 1, 0) != LUA_OK)
    return report(L, LUA_ERRRUN), 0;
  lua_pushboolean(L, 1);
  return 1;
}


static int pmain (lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  int script;
  int args;
  if (argc > 1 && strcmp(argv[1], "--worker") == 0)
    return runworker(L, argc, argv);
  args = collectargs(argv, &script);
  int bare = (script == argc && !(args & (has_e | has_v)));  /* no work given */
  int prompting = (args & has_i) || (bare && isatty(0));
  luaL_checkversion(L);
  if (argv[0] && argv[0][0])
    progname = argv[0];
  if (args == has_error) {
    print_usage(argv[script]);
    return 0;
  }
  if (args == has_h) {
    print_help();
    lua_pushboolean(L, 1);
    return 1;
  }
  if (args & has_v)
    print_version();
  if (args & has_E) {
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  if (prompting)
    openterm();  /* before any job can write */
  openlibs(L);
  createargtable(L, argv, argc, script);
  lua_gc(L, LUA_GCGEN, 0, 0);
  if (!(args & has_E) && handle_luainit(L) != LUA_OK)
    return 0;
  if (!runargs(L, argv, script))
    return 0;
  if (script < argc && handle_script(L, argv + script) != LUA_OK)
    return 0;
  if (prompting) {
    if (!(args & has_i))
      print_version();  /* as lua.c: -i printed it already */
    doREPL(L);
  }
  else if (bare)
    dofile(L, NULL);  /* stdin, not a terminal */
  lua_pushboolean(L, 1);
  return 1;
}


int main (int argc, char **argv) {
  int status, result;
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    l_message(argv[0], "cannot create state: not enough memory");
    return EXIT_FAILURE;
  }
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  status = lua_pcall(L, 2, 1, 0);
  result = lua_toboolean(L, -1);
  report(L, status);
  lua_close(L);  /* waits for the jobs still running */
  return (result && status == LUA_OK) ? EXIT_SUCCESS : EXIT_FAILURE;
}
