/*
** names.c: the free names of a job's string (SPEC §2): the identifiers it
** uses, valued from the calling function's locals, upvalues and globals.
*/

#include <ctype.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "names.h"


/*
** {======================================================
** The identifiers of a chunk, found lexically
** =======================================================
*/

/* Words that are never variables: Lua's reserved words, and _ENV, which
** the job's chunk has of its own. */
static const char *const reserved[] = {
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function",
  "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then",
  "true", "until", "while", "_ENV", NULL
};


/* What 'identifiers' remembers of a token that is not punctuation: bytes
** no punctuation sign is. */
#define NAME	'\1'
#define VALUE	'\2'


static int isreserved (const char *s, size_t len) {
  int i;
  for (i = 0; reserved[i] != NULL; i++)
    if (strlen(reserved[i]) == len && memcmp(reserved[i], s, len) == 0)
      return 1;
  return 0;
}


static int isnamechar (char c) {
  return isalnum((unsigned char)c) || c == '_';
}


/* The end of the long bracket "[==[ ... ]==]" opening at 'p' (a '['), or
** NULL if none opens there. An unfinished one runs to the end: the
** compiler reports it. */
static const char *longbracket (const char *p, const char *e) {
  size_t level = 0, l;
  for (p++; p < e && *p == '='; p++)
    level++;
  if (p >= e || *p != '[')
    return NULL;
  for (p++; p < e; p++) {
    if (*p != ']')
      continue;
    for (l = 0; p + 1 + l < e && p[1 + l] == '='; l++) {}
    if (l == level && p + 1 + l < e && p[1 + l] == ']')
      return p + 2 + l;
  }
  return e;
}


/* The end of the quoted string opening at 'p' (its quote). */
static const char *quoted (const char *p, const char *e) {
  char q = *p;
  for (p++; p < e && *p != q && *p != '\n'; p++)
    if (*p == '\\' && p + 1 < e)
      p++;
  return p < e ? p + 1 : e;
}


/* The end of the numeral starting at 'p', exponent signs included. */
static const char *numeral (const char *p, const char *e) {
  const char *expo = "Ee";
  if (p + 1 < e && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
    expo = "Pp";
  while (p < e) {
    if (strchr(expo, *p) && p + 1 < e && (p[1] == '+' || p[1] == '-'))
      p += 2;
    else if (isnamechar(*p) || *p == '.')
      p++;
    else
      break;
  }
  return p;
}


/* The end of the blanks and comments at 'p'. */
static const char *skipblank (const char *p, const char *e) {
  for (;;) {
    const char *end;
    while (p < e && isspace((unsigned char)*p))
      p++;
    if (p + 1 >= e || p[0] != '-' || p[1] != '-')
      return p;
    p += 2;
    if (p < e && *p == '[' && (end = longbracket(p, e)) != NULL)
      p = end;
    else
      while (p < e && *p != '\n')
        p++;
  }
}


/* Whether the name ending at 'p' is a field or key rather than a variable:
** followed by '=' (not '==') right after '{', ',' or ';' (a key in a table
** constructor; or a target of an assignment, which needs no value). */
static int iskey (char before, const char *p, const char *e) {
  p = skipblank(p, e);
  return (before == '{' || before == ',' || before == ';') &&
         p < e && *p == '=' && (p + 1 >= e || p[1] != '=');
}


/*
** Sets want[name] = true in the table at 'want' for each variable name of
** the chunk 's': not a reserved word, a field after '.' or ':', a label,
** nor anything inside a string or a comment.
*/
static void identifiers (lua_State *L, const char *s, size_t len, int want) {
  const char *p = s, *e = s + len, *end;
  char before = ' ', beforethat = ' ';  /* the last two tokens, punctuation
                                           as itself, a name as NAME */
  int afterkeyword = 0;  /* the last token was "goto" */
  while ((p = skipblank(p, e)) < e) {
    if (isalpha((unsigned char)*p) || *p == '_') {
      int field = (before == '.' && beforethat != '.') ||
                  before == ':';  /* a method, or after '::', a label */
      for (end = p; end < e && isnamechar(*end); end++) {}
      if (!field && !afterkeyword && !isreserved(p, (size_t)(end - p)) &&
          !iskey(before, end, e)) {
        lua_pushlstring(L, p, (size_t)(end - p));
        lua_pushboolean(L, 1);
        lua_rawset(L, want);
      }
      afterkeyword = (end - p == 4 && memcmp(p, "goto", 4) == 0);
      beforethat = ' ';
      before = NAME;
      p = end;
      continue;
    }
    afterkeyword = 0;
    if (isdigit((unsigned char)*p) ||
        (*p == '.' && p + 1 < e && isdigit((unsigned char)p[1])))
      end = numeral(p, e);
    else if (*p == '"' || *p == '\'')
      end = quoted(p, e);
    else if (*p == '[' && (end = longbracket(p, e)) != NULL) {}
    else {  /* punctuation: remember it, and the same sign right before */
      beforethat = (p > s && p[-1] == before) ? before : ' ';
      before = *p++;
      continue;
    }
    beforethat = ' ';
    before = VALUE;
    p = end;
  }
}

/* }====================================================== */


/*
** {======================================================
** Their values in the caller's frame
** =======================================================
*/

/* Binds 'name' to the value on top (popped) in the table at 'r', if the
** table at 'want' wants it: any time when 'rebind', else only while not
** bound yet. A nil binding shadows all the same. */
static void bind (lua_State *L, int want, int r, const char *name,
                  int rebind) {
  int wanted;
  lua_getfield(L, want, name);
  wanted = rebind ? !lua_isnil(L, -1) : lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (!wanted) {
    lua_pop(L, 1);
    return;
  }
  lua_setfield(L, r, name);
  lua_pushboolean(L, 0);  /* bound */
  lua_setfield(L, want, name);
}


/* Binds the locals of the frame 'ar', the later shadowing the earlier;
** the last named _ENV goes to 'env'. */
static void bindlocals (lua_State *L, lua_Debug *ar, int want, int r,
                        int env) {
  const char *name;
  int i;
  for (i = 1; (name = lua_getlocal(L, ar, i)) != NULL; i++) {
    if (strcmp(name, "_ENV") == 0) {
      lua_pushvalue(L, -1);
      lua_replace(L, env);
    }
    bind(L, want, r, name, 1);
  }
}


/* Binds the upvalues of the frame's function at 'fn' not yet bound; its
** _ENV goes to 'env' unless a local one is there. */
static void bindupvalues (lua_State *L, int fn, int want, int r, int env) {
  const char *name;
  int i;
  for (i = 1; (name = lua_getupvalue(L, fn, i)) != NULL; i++) {
    if (strcmp(name, "_ENV") == 0 && lua_isnil(L, env)) {
      lua_pushvalue(L, -1);
      lua_replace(L, env);
    }
    bind(L, want, r, name, 0);
  }
}


/* Binds the names still unbound to their values in the globals at 'env'
** (read raw, as a copy reads: no metamethod runs). */
static void bindglobals (lua_State *L, int want, int r, int env) {
  lua_pushnil(L);
  while (lua_next(L, want)) {
    if (lua_toboolean(L, -1)) {
      lua_pushvalue(L, -2);
      if (lua_rawget(L, env) != LUA_TNIL) {
        lua_pushvalue(L, -3);
        lua_insert(L, -2);
        lua_rawset(L, r);
      }
      else
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
}


int jobs_freenames (lua_State *L, int base) {
  lua_Debug ar;
  size_t len;
  const char *s = lua_tolstring(L, base, &len);
  int want, env, r;
  lua_newtable(L);
  identifiers(L, s, len, want = lua_gettop(L));
  lua_pushnil(L);
  env = lua_gettop(L);
  lua_newtable(L);
  r = lua_gettop(L);
  if (lua_getstack(L, 1, &ar)) {  /* called from a function: its frame */
    bindlocals(L, &ar, want, r, env);
    lua_getinfo(L, "f", &ar);
    bindupvalues(L, lua_gettop(L), want, r, env);
    lua_pop(L, 1);
  }
  if (!lua_istable(L, env)) {  /* no _ENV of its own: the state's */
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_replace(L, env);
  }
  bindglobals(L, want, r, env);
  lua_replace(L, want);
  lua_settop(L, want);
  return want;
}

/* }====================================================== */
