/*
** plainlua.c — the plain-Lua reference of the proxy-web benchmark: stock
** Lua 5.4 running bench/plainlua/proxyweb.lua (the same policies over plain
** tables, with the same tick semantics) with no engine around it. It tells
** how much of tightrope's cost is the interpreter running the policies and
** how much is tightrope itself (bench/README.md).
**
** It gives the script what tightrope gives policies, the same way: `rng`
** (normal, bernoulli, uniform, shuffle, seed) and math.random as C
** functions drawing from one gsl_rng_mt19937 stream.
**
** Build: cc -O2 bench/plainlua.c $(pkg-config --cflags --libs lua5.4 gsl) \
**          -o build/bench/proxyweb-lua
** Usage: proxyweb-lua SCRIPT K T RUNS SEED
*/
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

static gsl_rng *stream;

static int l_seed(lua_State *L) {
  gsl_rng_set(stream, (unsigned long)luaL_checkinteger(L, 1));
  return 0;
}

static int l_normal(lua_State *L) {
  double mu = luaL_optnumber(L, 1, 0), sd = luaL_optnumber(L, 2, 1);
  lua_pushnumber(L, mu + gsl_ran_gaussian(stream, sd));
  return 1;
}

static int l_bernoulli(lua_State *L) {
  lua_pushboolean(L, gsl_rng_uniform(stream) < luaL_checknumber(L, 1));
  return 1;
}

static int l_uniform(lua_State *L) {
  lua_pushnumber(L, gsl_rng_uniform(stream));
  return 1;
}

static int l_random(lua_State *L) {       /* math.random(n): 1..n */
  lua_Integer n = luaL_checkinteger(L, 1);
  lua_pushinteger(L, 1 + (lua_Integer)gsl_rng_uniform_int(stream, (unsigned long)n));
  return 1;
}

static int l_shuffle(lua_State *L) {      /* Fisher-Yates, as gsl_ran_shuffle */
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
  for (lua_Integer i = n - 1; i > 0; i--) {
    lua_Integer j = (lua_Integer)gsl_rng_uniform_int(stream, (unsigned long)i + 1);
    lua_rawgeti(L, 1, i + 1);
    lua_rawgeti(L, 1, j + 1);
    lua_rawseti(L, 1, i + 1);
    lua_rawseti(L, 1, j + 1);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: proxyweb-lua SCRIPT K T RUNS SEED\n");
    return 2;
  }
  long k = atol(argv[2]), ticks = atol(argv[3]), runs = atol(argv[4]);
  long long seed = atoll(argv[5]);
  struct timespec start, stop;
  clock_gettime(CLOCK_MONOTONIC, &start);
  stream = gsl_rng_alloc(gsl_rng_mt19937);
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  static const luaL_Reg rng[] = {{"seed", l_seed}, {"normal", l_normal}, {"bernoulli", l_bernoulli},
                                 {"uniform", l_uniform}, {"shuffle", l_shuffle}, {NULL, NULL}};
  luaL_newlib(L, rng);
  lua_setglobal(L, "rng");
  lua_getglobal(L, "math");
  lua_pushcfunction(L, l_random);
  lua_setfield(L, -2, "random");
  lua_pop(L, 1);
  if (luaL_dofile(L, argv[1]) != LUA_OK) {
    fprintf(stderr, "proxyweb-lua: %s\n", lua_tostring(L, -1));
    return 1;
  }
  lua_getglobal(L, "main");
  lua_pushinteger(L, k);
  lua_pushinteger(L, ticks);
  lua_pushinteger(L, runs);
  lua_pushinteger(L, seed);
  if (lua_pcall(L, 4, 3, 0) != LUA_OK) {
    fprintf(stderr, "proxyweb-lua: %s\n", lua_tostring(L, -1));
    return 1;
  }
  double tension = lua_tonumber(L, -3), capability = lua_tonumber(L, -2);
  double actor_ticks = (double)lua_tointeger(L, -1) * (double)ticks * (double)runs;
  lua_close(L);
  gsl_rng_free(stream);
  clock_gettime(CLOCK_MONOTONIC, &stop);
  double seconds = (double)(stop.tv_sec - start.tv_sec) + 1e-9 * (double)(stop.tv_nsec - start.tv_nsec);
  printf("proxyweb-lua K=%ld T=%ld runs=%ld actor_ticks=%.0f seconds=%.6f "
         "actor_ticks_per_sec=%.0f mean_tension=%.6f mean_capability=%.6f\n",
         k, ticks, runs, actor_ticks, seconds, actor_ticks / seconds, tension, capability);
  return 0;
}
