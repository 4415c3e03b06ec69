/*
** unit_pattern.c — the bound on Lua pattern matching in the sandbox
** (core/sandbox.c, "patterns"; docs/security.md). The matcher cannot be
** interrupted, so before a match the sandbox bounds its worst case,
** (n + 1)^q steps per start position for q unbounded quantifiers and n + 1
** start positions unless anchored with ^, and refuses a match past 2e8
** steps or a subject over 1 MiB. pattern_steps is static: it is reached the
** way a script reaches it, through string.find and string.gmatch in a
** sandboxed state, and the test computes the bound itself.
*/
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>

#include "run/sandbox.h"
#include "run/lua.h"
#include "run/watchdog.h"
#include "unit.h"

static lua_State *L;

/* Runs `return string.find(S, P[, 1, true])` (gmatch: `string.gmatch(S,
** P)`) in fresh run globals with S = n times 'a'; returns NULL when it
** succeeded, else the error message (static). */
static const char *match(size_t n, const char *pattern, const char *how)
{
  static char err[512];
  char src[128];
  snprintf(src, sizeof src, "local s, p = ...\n%s\n", how);
  int top = lua_gettop(L);
  lua_pushcfunction(L, sandbox_msgh);
  if (sandbox_load(L, src, strlen(src), "=test", 1) != LUA_OK
      || lua_pcall(L, 0, 1, 0) != LUA_OK) {
    snprintf(err, sizeof err, "load: %s", lua_tostring(L, -1));
    lua_settop(L, top);
    return err;
  }
  sandbox_push_run_globals(L);
  char *s = malloc(n + 1);
  memset(s, 'a', n);
  lua_pushlstring(L, s, n);
  free(s);
  lua_pushstring(L, pattern);
  const char *result = NULL;
  if (lua_pcall(L, 3, 0, top + 1) != LUA_OK) {
    snprintf(err, sizeof err, "%s", lua_tostring(L, -1));
    result = err;
  }
  lua_settop(L, top);
  return result;
}

#define FIND "return string.find(s, p)"
#define PLAIN "return string.find(s, p, 1, true)"
#define GMATCH "return string.gmatch(s, p)"

/* The refusal's text for a pattern on n bytes with `steps` computed here. */
static int refused(const char *err, const char *pattern, size_t n, double steps)
{
  char want[256];
  snprintf(want, sizeof want, "pattern '%s' is too costly to match on a %zu-byte string (up to "
           "%.3g steps, limit 2e+08)", pattern, n, steps);
  return err && strstr(err, want) != NULL;
}

int main(void)
{
  static tr_lua lx;
  L = sandbox_new(&lx);
  CHECK(L != NULL);
  if (!L)
    return unit_done("unit_pattern");

  /* Three quantifiers, unanchored, 5000 bytes: 5001^3 * 5001 steps. */
  const char *e = match(5000, "a*a*a*b", FIND);
  CHECK(refused(e, "a*a*a*b", 5000, pow(5001, 4)));
  /* Anchored: 5001^2 = 2.5e7 steps, allowed (and no match). */
  CHECK_STR(match(5000, "^a*a*b", FIND), NULL);
  /* gmatch never anchors: the same pattern is refused there. */
  e = match(5000, "^a*a*b", GMATCH);
  CHECK(refused(e, "^a*a*b", 5000, pow(5001, 3)));
  /* A plain find is no pattern. */
  CHECK_STR(match(5000, "a*a*a*b", PLAIN), NULL);
  /* The exact bound: one quantifier, unanchored, (n + 1)^2 <= 2e8 up to
  ** n = 14141 (14142^2 = 199996164), refused from n = 14142. */
  CHECK_STR(match(14141, "a*b", FIND), NULL);
  e = match(14142, "a*b", FIND);
  CHECK(refused(e, "a*b", 14142, 14143.0 * 14143.0));
  /* A '?' doubles the bound; %b counts as a quantifier; a set's '*' is none. */
  CHECK_STR(match(5000, "[*+-]a*b", FIND), NULL);
  e = match(5000, "%b()a*b", FIND);
  CHECK(refused(e, "%b()a*b", 5000, pow(5001, 3)));
  e = match(14141, "a?a*b", FIND);
  CHECK(refused(e, "a?a*b", 14141, 2 * 14142.0 * 14142.0));
  /* Subjects over 1 MiB are refused whatever the pattern. */
  e = match((1u << 20) + 1, "b", FIND);
  CHECK_STR(e && strstr(e, "pattern matching on a string of 1048577 bytes refused (limit 1048576)")
                ? "refused" : e, "refused");
  CHECK_STR(match(1u << 20, "^b", FIND), NULL);

  watchdog_unregister(&lx);
  lua_close(L);
  return unit_done("unit_pattern");
}
