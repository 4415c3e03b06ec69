/*
** luaapi.c — what scripts see of the world (docs/lua-api.md): actor and relation
** views, the `world` object, me:act, the aggregates of expressions, and the
** per-run script environments.
**
** Hot path: a view is an empty table, known by its address, whose
** metatable's __index is its value table: each attribute's current value
** (refreshed from the world's value array by script_sync) and the fixed
** fields (id, role, name, params, act). A read is one interned-string table
** lookup; no allocation, no string building.
**
** Invariants: reads return the live value array, which nothing changes while
** policies decide, so a decide sees the start-of-tick state; writes check
** the mode: buffered in init/decide (own attributes and outgoing relations
** only), immediate and clamped in actions and events, refused in
** expressions. Every script-facing error names what to fix.
*/
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <lua.h>
#include <lauxlib.h>

#include "base/diag.h"
#include "base/fs.h"
#include "scenario/scenario.h"
#include "run/model.h"
#include "scenario/instances.h"
#include "base/rng.h"
#include "run/world.h"
#include "run/sandbox.h"
#include "run/lua.h"
#include "run/registry.h"
#include "run/watchdog.h"

enum { VIEW_ACTOR = 1, VIEW_REL = 2 };
/* Views by address: an open-addressing table from the address of each
** view table (Lua never moves objects, and views live as long as the state)
** to its code and, for a fixed view, its slots (contiguous). A look-up is a
** hash of one pointer: no metatable or table access. Trust comes from the
** address itself: no script can make a table at a view's address. */
struct tr_viewent {
  const void *p;
  lua_Integer code;
  int slot0, nslot; /* a fixed view's slots are slot0 .. slot0 + nslot - 1 (else nslot 0) */
};

static unsigned vhash(const void *p, unsigned mask) {
  uint64_t x = (uint64_t)(uintptr_t)p;
  return (unsigned)((x * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

static const struct tr_viewent *vmap_get(const struct tr_viewent *map, unsigned mask,
                                         const void *p) {
  for (unsigned h = vhash(p, mask);; h = (h + 1) & mask) {
    const struct tr_viewent *e = &map[h];
    if (e->p == p) return e;
    if (!e->p) return NULL;
  }
}

/* The fixed views (actors, fixed relations), then the run's drawn relations'. */
static const struct tr_viewent *view_find(const tr_lua *lx, lua_State *L, int idx) {
  const void *p = lua_topointer(L, idx); /* NULL for non-objects; never a view's for others */
  if (!p || !lx->vmap) return NULL;
  const struct tr_viewent *e = vmap_get(lx->vmap, lx->vmask, p);
  return e || !lx->rvn ? e : vmap_get(lx->rvmap, lx->rvmask, p);
}

static void vmap_put(struct tr_viewent *map, unsigned mask, struct tr_viewent e) {
  unsigned h = vhash(e.p, mask);
  while (map[h].p) h = (h + 1) & mask;
  map[h] = e;
}

/* A view made during a run goes into the run's map (grown at half full). */
static int run_view_remember(tr_lua *lx, const void *p, lua_Integer code) {
  if (2 * (lx->rvn + 1) > (lx->rvmap ? lx->rvmask + 1 : 0)) {
    unsigned size = lx->rvmap ? 2 * (lx->rvmask + 1) : 64;
    struct tr_viewent *m = calloc(size, sizeof *m);
    if (!m) return -1;
    for (unsigned i = 0; lx->rvmap && i <= lx->rvmask; i++)
      if (lx->rvmap[i].p) vmap_put(m, size - 1, lx->rvmap[i]);
    free(lx->rvmap);
    lx->rvmap = m;
    lx->rvmask = size - 1;
  }
  vmap_put(lx->rvmap, lx->rvmask, (struct tr_viewent){p, code, 0, 0});
  lx->rvn++;
  return 0;
}

/* The kind of view at idx (0: not a view). */
static int view_kind(lua_State *L, int idx, int *index) {
  const struct tr_viewent *e = view_find(TR_LX(L), L, idx);
  if (!e) return 0;
  if (index) *index = (int)(e->code >> 2);
  return (int)(e->code & 3);
}

/* Attributes of a view: attrs[i] lives in slot *base + attrs[i].slot. */
static const tr_attrdecl *view_attrs(const tr_lua *lx, int kind, int index, int *n, int *base) {
  if (kind == VIEW_ACTOR) {
    *n = lx->sc->actors[index].nattrs;
    *base = 0;
    return lx->sc->actors[index].attrs;
  }
  return world_rel_attrs(lx->w, index, n, base);
}

/* Names of an actor's or relation's attributes, for suggestions. */
/* " (did you mean 'X'?)" over the fields of a view, into hint
** (DIAG_HINT_SIZE bytes, empty). */
static void suggest_attr(char *hint, const tr_lua *lx, int kind, int index, const char *word) {
  int n, base;
  const tr_attrdecl *attrs = view_attrs(lx, kind, index, &n, &base);
  const char *names[n + 5];
  for (int i = 0; i < n; i++) names[i] = attrs[i].name;
  if (kind == VIEW_ACTOR) {
    names[n] = "id";
    names[n + 1] = "role";
    names[n + 2] = "name";
    names[n + 3] = "params";
    names[n + 4] = "act";
    n += 5;
  } else {
    names[n] = "from";
    names[n + 1] = "to";
    names[n + 2] = "kind";
    n += 3;
  }
  diag_did_you_mean(hint, DIAG_HINT_SIZE, word, names, n);
}

static const char *view_label(lua_State *L, const tr_lua *lx, int kind, int index) {
  const tr_scenario *sc = lx->sc;
  if (kind == VIEW_ACTOR) return lua_pushfstring(L, "actor '%s'", sc->actors[index].id);
  return lua_pushfstring(L, "relation %s:%s", sc->actors[world_rel_from(lx->w, index)].id,
                         sc->actors[world_rel_to(lx->w, index)].id);
}

static int no_such_attr(lua_State *L, int kind, int index, int key) {
  tr_lua *lx = TR_LX(L);
  const char *label = view_label(L, lx, kind, index);
  if (lua_type(L, key) != LUA_TSTRING)
    return luaL_error(L, "%s has no field of type %s", label, luaL_typename(L, key));
  const char *k = lua_tostring(L, key);
  char hint[DIAG_HINT_SIZE] = "";
  suggest_attr(hint, lx, kind, index, k);
  return luaL_error(L, "%s has no attribute '%s'%s", label, k, hint);
}

/* Pushes the value table of the view at idx: its metatable's __index
** (the key is kept in the registry, so no string is made per call). */
static void push_view_vals(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_getmetatable(L, idx);
  lua_rawgeti(L, LUA_REGISTRYINDEX, TR_LX(L)->index_ref);
  lua_rawget(L, -2);
  lua_remove(L, -2);
}

/* A view is an empty table whose metatable's __index is its value table
** (attributes mirrored from the world, plus id, role, name, params, act):
** reads are plain VM table lookups, no C call. Views are recognised by
** their address (the C map above): no table can pass for one. The view's
** metatable holds four entries (__index, and the shared __newindex,
** __tostring and __metatable), the smallest table Lua makes for four keys;
** pairs() and rawset() of the sandbox know views by address
** (script_is_view). A view costs three tables, the view itself empty.
** Every value table shares one metatable whose __index (this function)
** catches unknown names: it is given the value table, not the view, and
** finds the view by a search, which costs nothing until a script reads a
** name that is not there. */
static int view_missing(lua_State *L) {
  tr_lua *lx = TR_LX(L);
  int n = lx->sc->nactors;
  lua_getfield(L, LUA_REGISTRYINDEX, R_VALS);
  for (int a = 0; a < n; a++) {
    lua_rawgeti(L, -1, a + 1);
    int same = lua_rawequal(L, -1, 1);
    lua_pop(L, 1);
    if (same) return no_such_attr(L, VIEW_ACTOR, a, 2);
  }
  lua_getfield(L, LUA_REGISTRYINDEX, R_RELVIEWS);
  for (int r = 0; r < lx->run_views_hi; r++) {
    int same = 0;
    if (lua_rawgeti(L, -1, r + 1) == LUA_TTABLE) {
      push_view_vals(L, -1);
      same = lua_rawequal(L, -1, 1);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (same) return no_such_attr(L, VIEW_REL, r, 2);
  }
  return luaL_error(L, "no attribute '%s'",
                    lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?");
}

/* The code of the view at idx, for its own metamethods. */
static lua_Integer view_code(lua_State *L, int idx) {
  const struct tr_viewent *e = view_find(TR_LX(L), L, idx);
  return e ? e->code : 0;
}

/* The slot of attribute `key` of an actor or relation, or -1. Short
** strings are interned: a key pushed by Lua is the very string slot_names
** holds when it names an attribute; strcmp only for long names (and the
** drawn relations' slots, which slot_names does not cover). */
static int attr_slot(const tr_lua *lx, int kind, int index, const char *key) {
  int n, base;
  const tr_attrdecl *attrs = view_attrs(lx, kind, index, &n, &base);
  for (int i = 0; !base && i < n; i++)
    if (lx->slot_names[attrs[i].slot] == key) return attrs[i].slot;
  for (int i = 0; i < n; i++)
    if (strcmp(attrs[i].name, key) == 0) return base + attrs[i].slot;
  return -1;
}

/* The slot of attribute `key` of the view of entry e, or -1: a fixed view's
** slots are contiguous and slot_names holds their interned names, so this
** reads the entry and one array, not the scenario's declarations. */
static int entry_slot(const tr_lua *lx, const struct tr_viewent *e, const char *key) {
  for (int i = 0; i < e->nslot; i++)
    if (lx->slot_names[e->slot0 + i] == key) return e->slot0 + i;
  return attr_slot(lx, (int)(e->code & 3), (int)(e->code >> 2), key);
}

/* Writes x to `slot` (attribute `name`, also at stack index `key` when
** key > 0) of the view e, which is at stack index `view`, as the mode allows:
** buffered in init/decide (own attributes and outgoing relations only),
** immediate and clamped in actions and events, refused in expressions.
** The one path of every attribute write from Lua (a view's __newindex,
** world:nudge). Returns 0 or raises an error. */
static int write_slot(lua_State *L, tr_lua *lx, const struct tr_viewent *e, int view, int slot,
                      const char *name, int key, double x) {
  tr_world *w = lx->w;
  const tr_scenario *sc = lx->sc;
  int kind = (int)(e->code & 3), index = (int)(e->code >> 2);
  if (!isfinite(x))
    return luaL_error(L, "%s: cannot set '%s' to %f (attributes must be finite)",
                      view_label(L, lx, kind, index), name, x);
  switch (lx->mode) {
    case MODE_INIT:
    case MODE_DECIDE:
      if (w->strict[slot] == 2 && x != floor(x)) {
        char msg[512];
        world_store(w, slot, x);
        return luaL_error(L, "%s", world_fault_message(w, msg, sizeof msg));
      }
      if (w->writer[slot] != lx->cur_actor) {
        const char *me = sc->actors[lx->cur_actor].id;
        return luaL_error(
            L,
            "the policy of '%s' cannot write '%s' of %s: a policy writes only its own "
            "attributes and its outgoing relations; use an action (me:act) to change others",
            me, name, view_label(L, lx, kind, index));
      }
      if (world_buffer(w, slot, x)) return luaL_error(L, "out of memory");
      return 0;
    case MODE_ACTION:
    case MODE_EVENT:
      if (!world_plain(w, slot, x) && world_store(w, slot, x)) {
        char msg[512];
        if (w->fault.kind) return luaL_error(L, "%s", world_fault_message(w, msg, sizeof msg));
        return 0; /* on_bound: reject */
      }
      x = world_clamp(w, slot, x);
      w->val[slot] = x;
      push_view_vals(L, view);
      if (key > 0) lua_pushvalue(L, key);
      else lua_pushstring(L, name);
      if (w->strict[slot] == 2) lua_pushinteger(L, (lua_Integer)x);
      else lua_pushnumber(L, x);
      lua_rawset(L, -3);
      lua_pop(L, 1);
      return 0;
    default:
      return luaL_error(L, "expressions are read-only: cannot set '%s' of %s", name,
                        view_label(L, lx, kind, index));
  }
}

/* __newindex of a view. */
static int view_newindex(lua_State *L) {
  tr_lua *lx = TR_LX(L);
  const struct tr_viewent *e = view_find(lx, L, 1);
  if (!e) return luaL_error(L, "not a view");
  lua_Integer code = e->code;
  int kind = (int)(code & 3), index = (int)(code >> 2);
  const char *key = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
  int slot = key ? entry_slot(lx, e, key) : -1;
  if (slot < 0) {
    push_view_vals(L, 1);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) == LUA_TNIL) return no_such_attr(L, kind, index, 2);
    return luaL_error(L, "'%s' of %s is read-only", key ? key : "?",
                      view_label(L, lx, kind, index));
  }
  int isnum;
  double x = lua_tonumberx(L, 3, &isnum);
  if (!isnum)
    return luaL_error(L, "%s: attribute '%s' takes a number, got a %s value",
                      view_label(L, lx, kind, index), lua_tostring(L, 2), luaL_typename(L, 3));
  return write_slot(L, lx, e, 1, slot, lua_tostring(L, 2), 2, x);
}

static int view_tostring(lua_State *L) {
  tr_lua *lx = TR_LX(L);
  lua_Integer code = view_code(L, 1);
  view_label(L, lx, (int)(code & 3), (int)(code >> 2));
  return 1;
}

/* pairs(view): its attributes, in declaration order. */
static int view_next(lua_State *L) {
  tr_lua *lx = TR_LX(L);
  lua_Integer code = view_code(L, 1);
  int n, base;
  const tr_attrdecl *attrs = view_attrs(lx, (int)(code & 3), (int)(code >> 2), &n, &base);
  int i = 0;
  if (!lua_isnil(L, 2)) {
    const char *key = lua_tostring(L, 2);
    while (i < n && (!key || strcmp(attrs[i].name, key) != 0)) i++;
    i++;
  }
  if (i >= n) return 0;
  lua_pushstring(L, attrs[i].name);
  if (attrs[i].integer) lua_pushinteger(L, (lua_Integer)lx->w->val[base + attrs[i].slot]);
  else lua_pushnumber(L, lx->w->val[base + attrs[i].slot]);
  return 2;
}

int script_is_view(lua_State *L, int idx) { return view_find(TR_LX(L), L, idx) != NULL; }

int script_view_pairs(lua_State *L) {
  if (!script_is_view(L, 1)) return 0;
  lua_pushcfunction(L, view_next);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

/* Copy dirty slots of the world into the views' value tables (a drawn
** relation whose view is not made yet has none: its view reads the world
** when it is made). */
void script_sync(lua_State *L, tr_lua *lx) {
  tr_world *w = lx->w;
  lua_getfield(L, LUA_REGISTRYINDEX, R_SLOTVALS);
  lua_getfield(L, LUA_REGISTRYINDEX, R_SLOTKEYS);
  for (int i = 0; i < w->ndirty; i++) {
    int s = w->dirty[i];
    w->is_dirty[s] = 0;
    if (lua_rawgeti(L, -2, s + 1) != LUA_TTABLE) {
      lua_pop(L, 1);
      continue;
    }
    lua_rawgeti(L, -2, s + 1);
    if (w->strict[s] == 2) lua_pushinteger(L, (lua_Integer)w->val[s]);
    else lua_pushnumber(L, w->val[s]);
    lua_rawset(L, -3);
    lua_pop(L, 1);
  }
  w->ndirty = 0;
  lua_pop(L, 2);
}

/* ------------------------------------------------------------- resolving */
/* An actor given as an id or a view; -1 with an error raised when unknown. */
static int check_actor(lua_State *L, int idx, const char *fn) {
  if (lua_type(L, idx) != LUA_TSTRING) {
    int index;
    if (view_kind(L, idx, &index) == VIEW_ACTOR) return index;
    return luaL_error(L, "%s: expected an actor id or view, got a %s value", fn,
                      luaL_typename(L, idx));
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, TR_LX(L)->ids_ref);
  lua_pushvalue(L, idx);
  if (lua_rawget(L, -2) == LUA_TNUMBER) {
    int a = (int)lua_tointeger(L, -1);
    lua_pop(L, 2);
    tr_lua *lx = TR_LX(L);
    if (lx->w && !lx->w->present[a]) {
      const tr_popdecl *p = &lx->sc->pops[lx->sc->actors[a].pop];
      return luaL_error(L, "%s: actor '%s' is not in this run (population '%s' has %d members)", fn,
                        lx->sc->actors[a].id, p->name,
                        (int)lx->w->inst->init[lx->sc->nslots + lx->sc->actors[a].pop]);
    }
    return a;
  }
  tr_lua *lx = TR_LX(L);
  const char *id = lua_tostring(L, idx);
  const char *names[lx->sc->nactors ? lx->sc->nactors : 1];
  for (int i = 0; i < lx->sc->nactors; i++) names[i] = lx->sc->actors[i].id;
  char hint[DIAG_HINT_SIZE] = "";
  diag_did_you_mean(hint, sizeof hint, id, names, lx->sc->nactors);
  return luaL_error(L, "%s: unknown actor '%s'%s", fn, id, hint);
}

/* ---------------------------------------------------- expression lists */
/* In expressions (read-only by definition) world:actors, world:outgoing
** and world:incoming return one cached read-only list per call site kind
** and key, instead of a fresh table per call: actors and relations are
** fixed for the life of the state. The list's metatable carries what the
** aggregates need to work in C from the world's value array: the items'
** kind and indices, and per attribute name, the items' slots. */
static const char list_key = 0;  /* metatable: the list_desc userdata */
static const char slots_key = 0; /* metatable: attribute name -> slots userdata (or false) */

typedef struct list_desc {
  int kind, n;
  int idx[];
} list_desc;

static void push_rel(lua_State *L, int relviews, int r);

/* Pushes the cached list for key, building it from idx[0..n-1] of kind
** with the views in table `views` (an upvalue index) the first time. */
static void cached_list(lua_State *L, lua_Integer key, int kind, const int *idx, int n, int views) {
  lua_getfield(L, LUA_REGISTRYINDEX, R_LISTS);
  if (lua_rawgeti(L, -1, key) != LUA_TNIL) {
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 1);
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    if (kind == VIEW_REL) push_rel(L, views, idx[i]);
    else lua_rawgeti(L, views, idx[i] + 1);
    lua_rawseti(L, -2, i + 1);
  }
  sandbox_readonly(L);
  lua_getmetatable(L, -1);
  list_desc *d = lua_newuserdatauv(L, sizeof *d + (size_t)(n ? n : 1) * sizeof(int), 0);
  d->kind = kind;
  d->n = n;
  memcpy(d->idx, idx, (size_t)n * sizeof(int));
  lua_rawsetp(L, -2, &list_key);
  lua_newtable(L);
  lua_rawsetp(L, -2, &slots_key);
  lua_pop(L, 1);
  lua_pushvalue(L, -1);
  lua_rawseti(L, -3, key);
  lua_remove(L, -2);
}

/* The descriptor of a cached list at idx, or NULL. */
static const list_desc *list_of(lua_State *L, int idx) {
  if (!lua_getmetatable(L, idx)) return NULL;
  const list_desc *d =
      lua_rawgetp(L, -1, &list_key) == LUA_TUSERDATA ? lua_touserdata(L, -1) : NULL;
  lua_pop(L, 2);
  return d;
}

/* Slots of attribute `name` (stack index) in the items of cached list
** `list`, or NULL when an item lacks it (the caller then takes the path
** that reports the error). */
static const int *list_slots(lua_State *L, int list, const list_desc *d, int name) {
  lua_getmetatable(L, list);
  lua_rawgetp(L, -1, &slots_key);
  lua_pushvalue(L, name);
  int t = lua_rawget(L, -2);
  if (t == LUA_TUSERDATA) {
    const int *s = lua_touserdata(L, -1);
    lua_pop(L, 3);
    return s;
  }
  lua_pop(L, 1);
  if (t == LUA_TNIL) {
    const tr_lua *lx = TR_LX(L);
    const char *key = lua_tostring(L, name);
    int *slots = lua_newuserdatauv(L, (size_t)(d->n ? d->n : 1) * sizeof(int), 0);
    int ok = 1;
    for (int i = 0; i < d->n && ok; i++) {
      int na, base;
      const tr_attrdecl *attrs = view_attrs(lx, d->kind, d->idx[i], &na, &base);
      slots[i] = -1;
      for (int k = 0; k < na; k++)
        if (strcmp(attrs[k].name, key) == 0) {
          slots[i] = base + attrs[k].slot;
          break;
        }
      ok = slots[i] >= 0;
    }
    if (!ok) {
      lua_pop(L, 1);
      lua_pushboolean(L, 0);
    }
    lua_pushvalue(L, name);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);
    const int *s = ok ? lua_touserdata(L, -1) : NULL;
    lua_pop(L, 3);
    return s;
  }
  lua_pop(L, 2);
  return NULL;
}

/* ------------------------------------------------------------- world API */
static int w_actor(lua_State *L) {
  int a = check_actor(L, 2, "world:actor");
  lua_rawgeti(L, lua_upvalueindex(1), a + 1);
  return 1;
}

/* A role name's index in sc->roles, or an error naming the roles. */
static int check_role(lua_State *L, int idx, const char *fn) {
  const tr_scenario *sc = TR_LX(L)->sc;
  const char *r = luaL_checkstring(L, idx);
  for (int i = 0; i < sc->nroles; i++)
    if (strcmp(r, sc->roles[i]) == 0) return i;
  char hint[DIAG_HINT_SIZE] = "";
  diag_did_you_mean(hint, sizeof hint, r, (const char *const *)sc->roles, sc->nroles);
  return luaL_error(L, "%s: unknown role '%s'%s", fn, r, hint);
}

/* Actors in this run, in file order: of one role (role >= 0), without one
** actor (skip >= 0). Pushes a fresh list. */
static void push_actor_list(lua_State *L, int views, int role, int skip) {
  tr_lua *lx = TR_LX(L);
  const tr_scenario *sc = lx->sc;
  lua_createtable(L, role < 0 ? sc->nactors : 8, 0);
  int n = 0;
  for (int a = 0; a < sc->nactors; a++) {
    if ((role >= 0 && sc->actors[a].role != role) || a == skip) continue;
    if (lx->w && !lx->w->present[a]) continue;
    lua_rawgeti(L, views, a + 1);
    lua_rawseti(L, -2, ++n);
  }
}

static int w_actors(lua_State *L) {
  int role = lua_isnoneornil(L, 2) ? -1 : check_role(L, 2, "world:actors");
  tr_lua *lx = TR_LX(L);
  if (lx->mode == MODE_EXPR) { /* read-only: one list per role and run */
    const tr_scenario *sc = lx->sc;
    int idx[sc->nactors ? sc->nactors : 1], n = 0;
    for (int a = 0; a < sc->nactors; a++)
      if ((role < 0 || sc->actors[a].role == role) && (!lx->w || lx->w->present[a])) idx[n++] = a;
    cached_list(L, -2 - role, VIEW_ACTOR, idx, n, lua_upvalueindex(1));
    return 1;
  }
  push_actor_list(L, lua_upvalueindex(1), role, -1);
  return 1;
}

/* world:others(me [, role]): the actors in this run but me. */
static int w_others(lua_State *L) {
  int me = check_actor(L, 2, "world:others");
  int role = lua_isnoneornil(L, 3) ? -1 : check_role(L, 3, "world:others");
  push_actor_list(L, lua_upvalueindex(1), role, me);
  return 1;
}

/* world:transfer(from, to, attr, amount): moves up to amount of attr from
** one actor to another at once, never taking `from` below its lower bound
** nor `to` above its upper bound; returns the amount moved. */
static int w_transfer(lua_State *L) {
  tr_lua *lx = TR_LX(L);
  tr_world *w = lx->w;
  if (lx->mode != MODE_ACTION && lx->mode != MODE_EVENT)
    return luaL_error(L,
                      "world:transfer is for action scripts and events; a policy acts "
                      "through me:act");
  int from = check_actor(L, 2, "world:transfer");
  int to = check_actor(L, 3, "world:transfer");
  const char *attr = luaL_checkstring(L, 4);
  double amount = luaL_checknumber(L, 5);
  int sf = scen_attr_slot(lx->sc, from, attr), st = scen_attr_slot(lx->sc, to, attr);
  if (sf < 0 || st < 0)
    return luaL_error(L, "world:transfer: actor '%s' has no attribute '%s'",
                      lx->sc->actors[sf < 0 ? from : to].id, attr);
  if (!isfinite(amount) || amount < 0)
    return luaL_error(L, "world:transfer: the amount must be a finite number >= 0, got %f", amount);
  if ((w->strict[sf] == 2 || w->strict[st] == 2) && amount != floor(amount))
    return luaL_error(L, "world:transfer: '%s' is an integer attribute; cannot move %f", attr,
                      amount);
  double moved = amount;
  if (from != to) {
    if (w->val[sf] - moved < w->lo[sf]) moved = w->val[sf] - w->lo[sf];
    if (w->val[st] + moved > w->hi[st]) moved = w->hi[st] - w->val[st];
    if (moved < 0) moved = 0;
    if (w->strict[sf] == 2 || w->strict[st] == 2) moved = floor(moved);
    if (moved > 0) {
      world_write(w, sf, w->val[sf] - moved);
      world_write(w, st, w->val[st] + moved);
      script_sync(L, lx);
    }
  } else {
    moved = 0;
  }
  if (moved == floor(moved) && fabs(moved) < 9007199254740992.0)
    lua_pushinteger(L, (lua_Integer)moved);
  else lua_pushnumber(L, moved);
  return 1;
}

static int w_rel(lua_State *L) {
  tr_lua *lx = TR_LX(L);
  int from = check_actor(L, 2, "world:rel");
  int to = check_actor(L, 3, "world:rel");
  int r = world_rel_find(lx->w, from, to);
  if (r < 0) lua_pushnil(L);
  else push_rel(L, lua_upvalueindex(1), r);
  return 1;
}

static int rel_list(lua_State *L, const char *fn, int incoming) {
  tr_lua *lx = TR_LX(L);
  int a = check_actor(L, 2, fn);
  const int *off = incoming ? lx->w->in_off : lx->w->out_off;
  const int *rel = incoming ? lx->w->in_rel : lx->w->out_rel;
  if (lx->mode == MODE_EXPR) {
    cached_list(L, 2 * (lua_Integer)a + incoming, VIEW_REL, rel + off[a], off[a + 1] - off[a],
                lua_upvalueindex(1));
    return 1;
  }
  lua_createtable(L, off[a + 1] - off[a], 0);
  for (int i = off[a]; i < off[a + 1]; i++) {
    push_rel(L, lua_upvalueindex(1), rel[i]);
    lua_rawseti(L, -2, i - off[a] + 1);
  }
  return 1;
}

static int w_outgoing(lua_State *L) { return rel_list(L, "world:outgoing", 0); }
static int w_incoming(lua_State *L) { return rel_list(L, "world:incoming", 1); }

static int w_end_run(lua_State *L) {
  tr_lua *lx = TR_LX(L);
  const tr_scenario *sc = lx->sc;
  const char *name = luaL_checkstring(L, 2);
  if (lx->mode == MODE_EXPR)
    return luaL_error(L, "world:end_run cannot be called from an expression");
  int o = -1;
  for (int i = 0; i < sc->noutcomes; i++)
    if (strcmp(sc->outcomes[i].name, name) == 0) o = i;
  if (o < 0 && strcmp(sc->default_outcome, name) == 0) o = sc->noutcomes;
  if (o < 0) {
    const char *names[sc->noutcomes + 1];
    for (int i = 0; i < sc->noutcomes; i++) names[i] = sc->outcomes[i].name;
    names[sc->noutcomes] = sc->default_outcome;
    char hint[DIAG_HINT_SIZE] = "";
    diag_did_you_mean(hint, sizeof hint, name, names, sc->noutcomes + 1);
    return luaL_error(L, "world:end_run: '%s' is not a declared outcome%s", name, hint);
  }
  if (lx->w->end_request < 0) lx->w->end_request = o;
  return 0;
}

/* Slot of an attribute path, cached by its text in upvalue 1. */
static int path_slot(lua_State *L, int idx, const char *fn) {
  tr_lua *lx = TR_LX(L);
  const char *text = luaL_checkstring(L, idx);
  lua_pushvalue(L, idx);
  if (lua_rawget(L, lua_upvalueindex(1)) == LUA_TNUMBER) {
    int slot = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return slot;
  }
  lua_pop(L, 1);
  tr_path p;
  char err[256];
  if (scen_path_parse(lx->sc, text, &p, err, sizeof err)) return luaL_error(L, "%s: %s", fn, err);
  int slot = p.slot;
  scen_path_free(&p);
  if (slot < 0)
    return luaL_error(L, "%s: '%s' is not an attribute path (ACTOR.ATTR or FROM:TO.ATTR)", fn,
                      text);
  lua_pushvalue(L, idx);
  lua_pushinteger(L, slot);
  lua_rawset(L, lua_upvalueindex(1));
  return slot;
}

static int w_setadd(lua_State *L, int add) {
  tr_lua *lx = TR_LX(L);
  const char *fn = add ? "world:add" : "world:set";
  if (lx->mode != MODE_ACTION && lx->mode != MODE_EVENT)
    return luaL_error(L,
                      "%s is for action scripts and events; a policy writes its own "
                      "attributes (me.x = v) and acts on others with me:act",
                      fn);
  int slot = path_slot(L, 2, fn);
  double x = luaL_checknumber(L, 3);
  if (add) x += lx->w->val[slot];
  if (!isfinite(x))
    return luaL_error(L, "%s('%s'): the result %f is not finite", fn, lua_tostring(L, 2), x);
  world_write(lx->w, slot, x);
  script_sync(L, lx);
  if (lx->w->fault.kind) {
    char msg[512];
    return luaL_error(L, "%s: %s", fn, world_fault_message(lx->w, msg, sizeof msg));
  }
  return 0;
}

/* world:has(view, name): whether an actor or relation has that attribute. */
static int w_has(lua_State *L) {
  tr_lua *lx = TR_LX(L);
  int index, n;
  int kind = view_kind(L, 2, &index);
  if (!kind && lua_type(L, 2) == LUA_TSTRING) {
    index = check_actor(L, 2, "world:has");
    kind = VIEW_ACTOR;
  }
  if (!kind) return luaL_error(L, "world:has: expected an actor id or an actor or relation view");
  const char *name = luaL_checkstring(L, 3);
  int base;
  const tr_attrdecl *attrs = view_attrs(lx, kind, index, &n, &base);
  int found = 0;
  for (int i = 0; i < n && !found; i++) found = strcmp(attrs[i].name, name) == 0;
  lua_pushboolean(L, found);
  return 1;
}

static int w_set(lua_State *L) { return w_setadd(L, 0); }
static int w_add(lua_State *L) { return w_setadd(L, 1); }

/* ------------------------------------------------ loops policies repeat */
/* world:sum, world:mean and world:nudge run in C the loops policies write
** over lists of views (docs/lua-api.md, "Loops in C"). They read the world's
** value array, which is what the views show, and write through write_slot,
** the path of every view write: the same checks, buffering and clamping. */
enum { AGG_SUM, AGG_MEAN, AGG_MIN, AGG_MAX };
static int aggregate(lua_State *L, int op, const char *fn);

/* The view at the top of the stack, item i of a list, or an error. */
static const struct tr_viewent *list_item(lua_State *L, tr_lua *lx, lua_Integer i, const char *fn) {
  const struct tr_viewent *e = view_find(lx, L, -1);
  if (!e) luaL_error(L, "%s: item %I of the list is not an actor or relation view", fn, i);
  return e;
}

static int list_total(lua_State *L, int op, const char *fn) {
  tr_lua *lx = TR_LX(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  const char *name = luaL_checkstring(L, 3);
  if (!lx->w) return luaL_error(L, "%s: no run is in progress", fn);
  if (list_of(L, 2)) { /* a cached list of an expression */
    lua_remove(L, 1);
    return aggregate(L, op, fn);
  }
  lua_Integer n = (lua_Integer)lua_rawlen(L, 2);
  double acc = 0;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 2, i);
    const struct tr_viewent *e = list_item(L, lx, i, fn);
    int kind = (int)(e->code & 3), index = (int)(e->code >> 2);
    int slot = entry_slot(lx, e, name);
    if (slot < 0)
      return luaL_error(L, "%s: %s (item %I of the list) has no attribute '%s'", fn,
                        view_label(L, lx, kind, index), i, name);
    acc += lx->w->val[slot];
    lua_pop(L, 1);
  }
  if (op == AGG_MEAN) {
    if (n == 0) {
      lua_pushnil(L);
      return 1;
    }
    acc /= (double)n;
  }
  lua_pushnumber(L, acc);
  return 1;
}

static int w_sum(lua_State *L) { return list_total(L, AGG_SUM, "world:sum"); }
static int w_mean(lua_State *L) { return list_total(L, AGG_MEAN, "world:mean"); }

/* The options of world:nudge, read in one pass over the table. */
typedef struct nudge_opts {
  double gain, goal, sd, lo, hi;
  int has_gain, has_goal, has_sd, has_lo, has_hi;
  const char *toward; /* alive in the options table */
} nudge_opts;

static void nudge_options(lua_State *L, int idx, nudge_opts *o, const char *fn) {
  static const char *const keys[] = {"gain", "goal", "max", "min", "sd", "toward"};
  static const struct {
    size_t val, has;
  } at[] = {{offsetof(nudge_opts, gain), offsetof(nudge_opts, has_gain)},
            {offsetof(nudge_opts, goal), offsetof(nudge_opts, has_goal)},
            {offsetof(nudge_opts, hi), offsetof(nudge_opts, has_hi)},
            {offsetof(nudge_opts, lo), offsetof(nudge_opts, has_lo)},
            {offsetof(nudge_opts, sd), offsetof(nudge_opts, has_sd)}};
  const char *bad = NULL;
  memset(o, 0, sizeof *o);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
    if (strcmp(k, "toward") == 0) {
      if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L,
                   "%s: option 'toward' names an attribute of the relations' TO actors, "
                   "got a %s value",
                   fn, luaL_typename(L, -1));
      o->toward = lua_tostring(L, -1);
      lua_pop(L, 1);
      continue;
    }
    double *x = NULL;
    int *has = NULL;
    for (size_t i = 0; i < sizeof at / sizeof at[0] && !has; i++)
      if (strcmp(k, keys[i]) == 0) {
        x = (double *)((char *)o + at[i].val);
        has = (int *)((char *)o + at[i].has);
      }
    if (!has) {                                /* unknown: report the first in byte order */
      if (!bad || strcmp(k, bad) < 0) bad = k; /* keys stay alive in the table */
      lua_pop(L, 1);
      continue;
    }
    int isnum;
    *x = lua_tonumberx(L, -1, &isnum);
    if (!isnum || !isfinite(*x))
      luaL_error(L, "%s: option '%s' must be a finite number, got %s", fn, k,
                 isnum ? lua_tostring(L, -1) : luaL_typename(L, -1));
    *has = 1;
    lua_pop(L, 1);
  }
  if (bad) {
    char hint[DIAG_HINT_SIZE] = "";
    diag_did_you_mean(hint, sizeof hint, bad, keys, 6);
    luaL_error(L, "%s: unknown option '%s'%s (options: gain, goal, toward, sd, min, max)", fn, bad,
               hint);
  }
  if (o->has_gain != o->has_goal) luaL_error(L, "%s: options 'gain' and 'goal' go together", fn);
  if (o->toward && !o->has_gain) luaL_error(L, "%s: option 'toward' needs 'gain' and 'goal'", fn);
  if (o->has_sd && o->sd < 0) luaL_error(L, "%s: option 'sd' must be >= 0, got %f", fn, o->sd);
  if (o->has_lo && o->has_hi && o->lo > o->hi)
    luaL_error(L, "%s: option 'min' (%f) is above 'max' (%f)", fn, o->lo, o->hi);
}

/* world:nudge(rels, attr, how): for each relation view of rels in order,
**   x = r[attr] + gain * (goal - y) + rng.normal(0, sd), then clamped to [min, max],
** written to r[attr]; y is the relation's TO actor's attribute `toward`, or
** x itself without it. Terms whose options are absent are left out (no
** draw without sd). Returns the sum of the values written. */
static int w_nudge(lua_State *L) {
  static const char fn[] = "world:nudge";
  tr_lua *lx = TR_LX(L);
  const tr_scenario *sc = lx->sc;
  luaL_checktype(L, 2, LUA_TTABLE);
  const char *name = luaL_checkstring(L, 3);
  luaL_checktype(L, 4, LUA_TTABLE);
  if (lx->mode == MODE_EXPR) return luaL_error(L, "%s: expressions are read-only", fn);
  if (!lx->w) return luaL_error(L, "%s: no run is in progress", fn);
  nudge_opts o;
  nudge_options(L, 4, &o, fn);
  double gain = o.gain, goal = o.goal, sd = o.sd, lo = o.lo, hi = o.hi;
  int has_gain = o.has_gain, has_sd = o.has_sd, has_lo = o.has_lo, has_hi = o.has_hi;
  const char *toward = o.toward;
  tr_world *w = lx->w;
  lua_Integer n = (lua_Integer)lua_rawlen(L, 2);
  double total = 0;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 2, i);
    const struct tr_viewent *e = list_item(L, lx, i, fn);
    int index = (int)(e->code >> 2);
    if ((e->code & 3) != VIEW_REL)
      return luaL_error(L, "%s: item %I of the list is %s, not a relation", fn, i,
                        view_label(L, lx, VIEW_ACTOR, index));
    int slot = entry_slot(lx, e, name);
    if (slot < 0)
      return luaL_error(L, "%s: %s (item %I of the list) has no attribute '%s'", fn,
                        view_label(L, lx, VIEW_REL, index), i, name);
    double x = w->val[slot];
    if (has_gain) {
      double y = x;
      if (toward) {
        int to = world_rel_to(w, index), ts = attr_slot(lx, VIEW_ACTOR, to, toward);
        if (ts < 0)
          return luaL_error(L,
                            "%s: actor '%s' (the TO of item %I of the list) has no attribute '%s'",
                            fn, sc->actors[to].id, i, toward);
        y = w->val[ts];
      }
      x = x + gain * (goal - y);
    }
    if (has_sd) x = x + (0.0 + gsl_ran_gaussian(w->rng, sd)); /* as rng.normal(0, sd) */
    if (has_lo && x < lo) x = lo;
    else if (has_hi && x > hi) x = hi;
    write_slot(L, lx, e, lua_absindex(L, -1), slot, name, 3, x);
    total += x;
    lua_pop(L, 1);
  }
  lua_pushnumber(L, total);
  return 1;
}

static int world_index(lua_State *L) {
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
  tr_lua *lx = TR_LX(L);
  const char *k = lua_tostring(L, 2);
  if (k && strcmp(k, "tick") == 0) {
    lua_pushinteger(L, lx->w->tick);
    return 1;
  }
  if (k && strcmp(k, "ticks") == 0) {
    lua_pushinteger(L, lx->w->ticks);
    return 1;
  }
  if (k && strcmp(k, "run") == 0) {
    lua_pushinteger(L, lx->w->run);
    return 1;
  }
  if (k && strcmp(k, "rejected") == 0) {
    lua_pushinteger(L, (lua_Integer)lx->w->rejected);
    return 1;
  }
  static const char *const names[] = {
      "tick", "ticks", "run", "actor",  "actors",   "rel",      "outgoing", "incoming", "end_run",
      "set",  "add",   "has", "others", "transfer", "rejected", "sum",      "mean",     "nudge"};
  char hint[DIAG_HINT_SIZE] = "";
  if (k) diag_did_you_mean(hint, sizeof hint, k, names, 18);
  return luaL_error(L, "world has no field '%s'%s", k ? k : "?", hint);
}

static int world_newindex(lua_State *L) {
  return luaL_error(L, "world is read-only; change actors through their views or world:set");
}

/* me:act(action, target, args) */
static int act(lua_State *L) {
  tr_lua *lx = TR_LX(L);
  tr_world *w = lx->w;
  int me;
  if (view_kind(L, 1, &me) != VIEW_ACTOR)
    return luaL_error(L, "act: call it as me:act(action, target, args)");
  if (lx->mode != MODE_DECIDE) {
    if (lx->mode == MODE_INIT) return luaL_error(L, "act: init may not act; act from decide");
    return luaL_error(L, "act: only a policy's decide can queue actions");
  }
  if (me != lx->cur_actor)
    return luaL_error(L, "act: '%s' cannot act for '%s'", lx->sc->actors[lx->cur_actor].id,
                      lx->sc->actors[me].id);
  const char *name = luaL_checkstring(L, 2);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNUMBER) {
    const tr_scenario *sc = lx->sc;
    const char *names[sc->nactions ? sc->nactions : 1];
    for (int i = 0; i < sc->nactions; i++) names[i] = sc->actions[i].name;
    char hint[DIAG_HINT_SIZE] = "";
    diag_did_you_mean(hint, sizeof hint, name, names, sc->nactions);
    return luaL_error(L, "act: unknown action '%s'%s", name, hint);
  }
  int action = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  int target = lua_isnoneornil(L, 3) ? -1 : check_actor(L, 3, "act");
  int has_args = 0;
  if (!lua_isnoneornil(L, 4)) {
    luaL_checktype(L, 4, LUA_TTABLE);
    has_args = 1;
  }
  int qrc = world_queue(w, me, action, target, has_args);
  if (qrc == -2) return luaL_error(L, WORLD_MEM_MSG, (lua_Integer)lx->sc->memory_mb);
  if (qrc) return luaL_error(L, "out of memory");
  if (has_args) {
    lua_pushvalue(L, 4);
    lua_rawseti(L, lua_upvalueindex(2), w->nq);
  }
  return 0;
}

/* ------------------------------------------------------------ aggregates */
/* sum/mean/min/max(list, attr) over views; min/max(a, b, ...) of numbers
** behave as math.min/math.max. */

static int aggregate(lua_State *L, int op, const char *fn) {
  if ((op == AGG_MIN || op == AGG_MAX) && lua_type(L, 1) == LUA_TNUMBER) {
    int n = lua_gettop(L);
    double best = luaL_checknumber(L, 1);
    for (int i = 2; i <= n; i++) {
      double x = luaL_checknumber(L, i);
      if (op == AGG_MIN ? x < best : x > best) best = x;
    }
    lua_pushnumber(L, best);
    return 1;
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkstring(L, 2);
  const list_desc *d = list_of(L, 1);
  if (d) { /* a cached list: in C, from the value array */
    const int *slots = list_slots(L, 1, d, 2);
    if (slots) {
      const double *val = TR_LX(L)->w->val;
      double acc = op == AGG_MIN ? INFINITY : op == AGG_MAX ? -INFINITY : 0;
      for (int i = 0; i < d->n; i++) {
        double x = val[slots[i]];
        if (op == AGG_MIN) {
          if (x < acc) acc = x;
        } else if (op == AGG_MAX) {
          if (x > acc) acc = x;
        } else acc += x;
      }
      if (d->n == 0 && op != AGG_SUM) {
        lua_pushnil(L);
        return 1;
      }
      lua_pushnumber(L, op == AGG_MEAN ? acc / (double)d->n : acc);
      return 1;
    }
    lua_getmetatable(L, 1); /* an item lacks it: the raw list reports which */
    lua_getfield(L, -1, "__index");
    lua_replace(L, 1);
    lua_pop(L, 1);
  }
  lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
  double acc = op == AGG_MIN ? INFINITY : op == AGG_MAX ? -INFINITY : 0;
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_rawgeti(L, 1, i) != LUA_TTABLE)
      return luaL_error(L, "%s: item %I of the list is not an actor or relation view", fn, i);
    lua_pushvalue(L, 2);
    lua_gettable(L, -2); /* through the view's value table */
    int isnum;
    double x = lua_tonumberx(L, -1, &isnum);
    if (!isnum)
      return luaL_error(L, "%s: item %I of the list has no numeric '%s' (is it a view?)", fn, i,
                        lua_tostring(L, 2));
    lua_pop(L, 2);
    if (op == AGG_MIN) {
      if (x < acc) acc = x;
    } else if (op == AGG_MAX) {
      if (x > acc) acc = x;
    } else acc += x;
  }
  if (n == 0 && op != AGG_SUM) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushnumber(L, op == AGG_MEAN ? acc / (double)n : acc);
  return 1;
}

static int f_sum(lua_State *L) { return aggregate(L, AGG_SUM, "sum"); }
static int f_mean(lua_State *L) { return aggregate(L, AGG_MEAN, "mean"); }
static int f_min(lua_State *L) { return aggregate(L, AGG_MIN, "min"); }
static int f_max(lua_State *L) { return aggregate(L, AGG_MAX, "max"); }
static int f_count(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const list_desc *d = list_of(L, 1);
  if (d) {
    lua_pushinteger(L, d->n);
    return 1;
  }
  lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
  return 1;
}

static int expr_no_random(lua_State *L) {
  return luaL_error(L,
                    "math.random is not available in expressions: metrics, outcomes and "
                    "`when` read the world and draw nothing (draw in a policy or event)");
}

/* rel(from, to) of expressions: a relation view or nil. */
static int f_rel(lua_State *L) {
  tr_lua *lx = TR_LX(L);
  int from = check_actor(L, 1, "rel");
  int to = check_actor(L, 2, "rel");
  int r = world_rel_find(lx->w, from, to);
  if (r < 0) lua_pushnil(L);
  else push_rel(L, lua_upvalueindex(1), r);
  return 1;
}

/* -------------------------------------------------------------- building */
static void push_value(lua_State *L, const tr_value *v);

static void push_value(lua_State *L, const tr_value *v) {
  luaL_checkstack(L, 8, "params nested too deeply"); /* one level per call */
  switch (v->type) {
    case TV_BOOL: lua_pushboolean(L, v->num != 0); break;
    case TV_NUM:
      if (v->num == floor(v->num) && fabs(v->num) < 9007199254740992.0)
        lua_pushinteger(L, (lua_Integer)v->num);
      else lua_pushnumber(L, v->num);
      break;
    case TV_STR: lua_pushstring(L, v->str); break;
    case TV_SEQ:
      lua_createtable(L, v->n, 0);
      for (int i = 0; i < v->n; i++) {
        push_value(L, &v->items[i]);
        lua_rawseti(L, -2, i + 1);
      }
      sandbox_readonly(L);
      break;
    case TV_MAP:
      lua_createtable(L, 0, v->n);
      for (int i = 0; i < v->n; i++) {
        push_value(L, &v->items[i]);
        lua_setfield(L, -2, v->keys[i]);
      }
      sandbox_readonly(L);
      break;
    default: lua_pushnil(L);
  }
}

/* Overrides of ACTOR.params.KEY (KEY may be dotted) on a built table. */
static void set_param(lua_State *L, int proxy, const char *key, double value) {
  /* Walk proxies: each level's real table is its metatable's __index. */
  lua_pushvalue(L, proxy);
  const char *dot;
  while ((dot = strchr(key, '.')) != NULL) {
    lua_getmetatable(L, -1);
    lua_getfield(L, -1, "__index");
    lua_pushlstring(L, key, (size_t)(dot - key));
    lua_rawget(L, -2);
    lua_replace(L, -4);
    lua_pop(L, 2);
    key = dot + 1;
    if (lua_type(L, -1) != LUA_TTABLE) {
      lua_pop(L, 1);
      return;
    }
  }
  lua_getmetatable(L, -1);
  lua_getfield(L, -1, "__index");
  if (value == floor(value) && fabs(value) < 9007199254740992.0)
    lua_pushinteger(L, (lua_Integer)value);
  else lua_pushnumber(L, value);
  lua_setfield(L, -2, key);
  lua_pop(L, 3);
}

/* Params tables of every actor for an instance (read-only, cached until the
** instance changes: a worker runs one instance's runs in a row). */
static void build_params(lua_State *L, tr_lua *lx, const tr_instance *inst) {
  const tr_scenario *sc = lx->sc;
  lua_getfield(L, LUA_REGISTRYINDEX, R_VALS);
  lua_newtable(L); /* one empty params table for every actor without */
  sandbox_readonly(L);
  int empty = lua_gettop(L);
  for (int a = 0; a < sc->nactors; a++) {
    lua_rawgeti(L, -2, a + 1);
    int overridden = 0;
    for (int i = 0; inst && i < inst->nparams; i++) overridden |= inst->params[i].actor == a;
    if (sc->actors[a].params.type == TV_MAP) push_value(L, &sc->actors[a].params);
    else if (!overridden) lua_pushvalue(L, empty);
    else {
      lua_newtable(L);
      sandbox_readonly(L);
    }
    /* declared defaults of the keys the YAML leaves out (params.c) */
    const tr_scriptdecl *sd = params_script(sc, sc->actors[a].policy);
    for (int i = 0; sd && i < sd->nparams; i++) {
      const tr_paramdecl *pd = &sd->params[i];
      if (!pd->has_default) continue;
      lua_getmetatable(L, -1);
      lua_getfield(L, -1, "__index");
      if (lua_getfield(L, -1, pd->name) == LUA_TNIL) {
        push_value(L, &pd->def);
        lua_setfield(L, -3, pd->name);
      }
      lua_pop(L, 3);
    }
    for (int i = 0; inst && i < inst->nparams; i++)
      if (inst->params[i].actor == a)
        set_param(L, lua_gettop(L), inst->params[i].key, inst->params[i].value);
    lua_setfield(L, -2, "params");
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
  lx->params_for = inst;
}

/* Make a view: pushes it. Expects its value table at the stack top (left
** there) and the shared metatables at vals_mt and view_mt;
** records its slots (base + attrs[i].slot) in slotvals/slotkeys. Values are
** the declared ones, or val[slot] when val is given. A view of a drawn
** relation (run) goes into the run's map, without its slots (slot_names
** does not cover a drawn relation's). */
static void new_view(lua_State *L, int kind, int index, const tr_attrdecl *attrs, int n, int base,
                     const double *val, int run, int slotvals, int slotkeys, int vals_mt,
                     int view_mt) {
  int vals = lua_gettop(L);
  lua_Integer code = ((lua_Integer)index << 2) | kind;
  for (int i = 0; i < n; i++) {
    int slot = base + attrs[i].slot;
    double x = val ? val[slot] : attrs[i].value;
    if (attrs[i].integer) lua_pushinteger(L, (lua_Integer)x);
    else lua_pushnumber(L, x);
    lua_setfield(L, vals, attrs[i].name);
    lua_pushvalue(L, vals);
    lua_rawseti(L, slotvals, slot + 1);
    lua_pushstring(L, attrs[i].name);
    lua_rawseti(L, slotkeys, slot + 1);
  }
  lua_pushvalue(L, vals_mt);
  lua_setmetatable(L, vals);

  lua_createtable(L, 0, 0); /* the view: empty, known by its address */
  lua_createtable(L, 0, 4); /* its metatable */
  lua_pushvalue(L, vals);
  lua_setfield(L, -2, "__index");
  static const char *const shared[] = {"__newindex", "__tostring", "__metatable", NULL};
  for (int i = 0; shared[i]; i++) {
    lua_getfield(L, view_mt, shared[i]);
    lua_setfield(L, -2, shared[i]);
  }
  lua_setmetatable(L, -2);
  const void *addr = lua_topointer(L, -1);
  if (run) {
    if (run_view_remember(TR_LX(L), addr, code)) luaL_error(L, "out of memory");
    return;
  }
  tr_lua *lx = TR_LX(L);
  int contiguous = 1;
  for (int i = 1; i < n; i++) contiguous &= attrs[i].slot == attrs[0].slot + i;
  struct tr_viewent e = {addr, code, n ? base + attrs[0].slot : 0, contiguous ? n : 0};
  vmap_put(lx->vmap, lx->vmask, e);
}

/* Pushes the view of relation r from the relation views at `relviews` (an
** upvalue index); a drawn relation's view is made the first time a run asks
** for it, with the world's values of the moment (script_sync keeps it
** current from then on). */
static void push_rel(lua_State *L, int relviews, int r) {
  tr_lua *lx = TR_LX(L);
  if (lua_rawgeti(L, relviews, r + 1) != LUA_TNIL || r < lx->sc->nrels) return;
  lua_pop(L, 1);
  const tr_scenario *sc = lx->sc;
  tr_world *w = lx->w;
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, R_SLOTVALS);
  lua_getfield(L, LUA_REGISTRYINDEX, R_SLOTKEYS);
  lua_getfield(L, LUA_REGISTRYINDEX, R_VALSMT);
  lua_getfield(L, LUA_REGISTRYINDEX, R_VIEWMT);
  int n, base;
  const tr_attrdecl *attrs = world_rel_attrs(w, r, &n, &base);
  lua_createtable(L, 0, n + 3);
  lua_pushstring(L, sc->actors[world_rel_from(w, r)].id);
  lua_setfield(L, -2, "from");
  lua_pushstring(L, sc->actors[world_rel_to(w, r)].id);
  lua_setfield(L, -2, "to");
  lua_pushstring(L, world_rel_kind(w, r));
  lua_setfield(L, -2, "kind");
  new_view(L, VIEW_REL, r, attrs, n, base, w->val, 1, top + 1, top + 2, top + 3, top + 4);
  lua_pushvalue(L, -1);
  lua_rawseti(L, relviews, r + 1);
  if (r + 1 > lx->run_views_hi) lx->run_views_hi = r + 1;
  if (base + n > lx->run_slots_hi) lx->run_slots_hi = base + n;
  lua_replace(L, top + 1);
  lua_settop(L, top + 1);
}

/* Lua's "PATH:LINE: message" becomes PATH:LINE:1: error: message when the
** message is placed in `path`; else it is reported at (file, line, col). */
static void place_lua_message(tr_diag *d, const char *msg, const char *path, const char *file,
                              int line, int col, const char *prefix) {
  if (!msg) msg = "error";
  size_t plen = strlen(path);
  if (strncmp(msg, path, plen) == 0 && msg[plen] == ':' && msg[plen + 1] >= '0'
      && msg[plen + 1] <= '9') {
    int eline = atoi(msg + plen + 1);
    const char *rest = strchr(msg + plen + 1, ':');
    rest = rest ? rest + 1 : msg;
    while (*rest == ' ') rest++;
    diag_error(d, path, eline, 1, "%s%s", prefix, rest);
  } else {
    diag_error(d, file ? file : path, file ? line : 0, file ? col : 0, "%s%s", prefix, msg);
  }
}

static int compile_file(lua_State *L, const char *path, int wrap, tr_diag *d,
                        const char *usedby_file, int line, int col) {
  size_t len = 0;
  char *buf = fs_read_file(path, TR_MAX_FILE_BYTES, 0, &len);
  if (!buf) {
    if (errno == EFBIG) diag_error(d, path, 0, 0, "script is larger than 16 MiB");
    else diag_error(d, usedby_file, line, col, "cannot read script '%s'", path);
    return -1;
  }
  char chunk[4096];
  snprintf(chunk, sizeof chunk, "@%s", path);
  int st = sandbox_load(L, buf, len, chunk, 0);
  if (st == LUA_OK && wrap) {
    lua_pop(L, 1);
    st = sandbox_load(L, buf, len, chunk, 1);
    if (st == LUA_OK) sandbox_call(L, TR_LX(L), 0, 1); /* the factory */
  }
  free(buf);
  if (st != LUA_OK) {
    place_lua_message(d, lua_tostring(L, -1), path, NULL, 0, 0, "");
    lua_pop(L, 1);
    return -1;
  }
  return 0;
}

/* An expression compiled against the expression environment. */
static int compile_expr(lua_State *L, int env, const char *what, const char *expr, tr_diag *d,
                        const char *file, int line, int col) {
  size_t n = strlen(expr) + 8;
  char *src = malloc(n);
  if (!src) return -1;
  snprintf(src, n, "return %s", expr);
  char chunk[256];
  snprintf(chunk, sizeof chunk, "=%s", what);
  int st = luaL_loadbufferx(L, src, strlen(src), chunk, "t");
  free(src);
  if (st != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    const char *rest = strstr(msg, ":1: ");
    diag_error(d, file, line, col, "%s does not compile: %s", what, rest ? rest + 4 : msg);
    lua_pop(L, 1);
    return -1;
  }
  if (env) {
    lua_pushvalue(L, env);
    lua_setupvalue(L, -2, 1);
  }
  return 0;
}

typedef struct {
  tr_diag *d;
  int errors;
} build_ctx;

/* The stack places of build_state's tables, filled stage by stage. */
typedef struct build_places {
  int views, relviews, ids, actions, args, paths, valstab, vals_mt, view_mt, slotvals, slotkeys;
  int world, exprraw, exprenv, policy, actfac, metrics, outcomes, when, evfac;
} build_places;

/* The tables of views, ids, actions, args and paths, and the views'
** shared metatables, at fixed stack places. */
static void build_tables(lua_State *L, const tr_scenario *sc, build_places *p) {
  lua_newtable(L);
  p->views = lua_gettop(L);
  lua_newtable(L);
  p->relviews = lua_gettop(L);
  lua_newtable(L);
  p->ids = lua_gettop(L);
  lua_newtable(L);
  p->actions = lua_gettop(L);
  lua_newtable(L);
  p->args = lua_gettop(L);
  lua_newtable(L);
  p->paths = lua_gettop(L);

  lua_newtable(L);
  p->valstab = lua_gettop(L);
  lua_createtable(L, 0, 1);
  int vals_mt = p->vals_mt = lua_gettop(L);
  lua_pushcfunction(L, view_missing);
  lua_setfield(L, vals_mt, "__index");
  lua_createtable(L, 0, 3);
  int view_mt = p->view_mt = lua_gettop(L); /* the shared entries */
  lua_pushcfunction(L, view_newindex);
  lua_setfield(L, view_mt, "__newindex");
  lua_pushcfunction(L, view_tostring);
  lua_setfield(L, view_mt, "__tostring");
  lua_pushboolean(L, 0);
  lua_setfield(L, view_mt, "__metatable");
  lua_createtable(L, sc->nslots, 0);
  p->slotvals = lua_gettop(L);
  lua_createtable(L, sc->nslots, 0);
  p->slotkeys = lua_gettop(L);
  for (int i = 0; i < sc->nactions; i++) {
    lua_pushinteger(L, i);
    lua_setfield(L, p->actions, sc->actions[i].name);
  }
}

/* A view of every actor (with its me:act) and of every relation. */
static void build_views(lua_State *L, tr_lua *lx, const build_places *p) {
  const tr_scenario *sc = lx->sc;
  int views = p->views, relviews = p->relviews, ids = p->ids, valstab = p->valstab;
  int slotvals = p->slotvals, slotkeys = p->slotkeys, vals_mt = p->vals_mt, view_mt = p->view_mt;
  unsigned nv = 16;
  while (nv < 2u * (unsigned)(sc->nactors + sc->nrels)) nv *= 2;
  lx->vmap = calloc(nv, sizeof *lx->vmap);
  if (!lx->vmap) luaL_error(L, "out of memory");
  lx->vmask = nv - 1;
  lua_pushvalue(L, p->actions);
  lua_pushvalue(L, p->args);
  lua_pushcclosure(L, act, 2);
  int actfn = lua_gettop(L);

  for (int a = 0; a < sc->nactors; a++) {
    const tr_actordecl *ad = &sc->actors[a];
    lua_createtable(L, 0, ad->nattrs + 5);
    lua_pushstring(L, ad->id);
    lua_setfield(L, -2, "id");
    lua_pushstring(L, sc->roles[ad->role]);
    lua_setfield(L, -2, "role");
    lua_pushstring(L, ad->name ? ad->name : ad->id);
    lua_setfield(L, -2, "name");
    lua_pushvalue(L, actfn);
    lua_setfield(L, -2, "act");
    new_view(L, VIEW_ACTOR, a, ad->attrs, ad->nattrs, 0, NULL, 0, slotvals, slotkeys, vals_mt,
             view_mt);
    lua_rawseti(L, views, a + 1);
    lua_rawseti(L, valstab, a + 1);
    lua_pushinteger(L, a);
    lua_setfield(L, ids, ad->id);
  }
  for (int r = 0; r < sc->nrels; r++) {
    const tr_reldecl *rd = &sc->rels[r];
    lua_createtable(L, 0, rd->nattrs + 3);
    lua_pushstring(L, sc->actors[rd->from].id);
    lua_setfield(L, -2, "from");
    lua_pushstring(L, sc->actors[rd->to].id);
    lua_setfield(L, -2, "to");
    lua_pushstring(L, rd->kind);
    lua_setfield(L, -2, "kind");
    new_view(L, VIEW_REL, r, rd->attrs, rd->nattrs, 0, NULL, 0, slotvals, slotkeys, vals_mt,
             view_mt);
    lua_rawseti(L, relviews, r + 1);
    lua_pop(L, 1);
  }
}

/* The world object: its methods, read-only. */
static void build_world(lua_State *L, build_places *p) {
  static const struct {
    const char *name;
    lua_CFunction fn;
    int up;
  } wm[] = {{"actor", w_actor, 1},       {"actors", w_actors, 1},     {"rel", w_rel, 2},
            {"outgoing", w_outgoing, 2}, {"incoming", w_incoming, 2}, {"end_run", w_end_run, 0},
            {"set", w_set, 3},           {"add", w_add, 3},           {"has", w_has, 0},
            {"others", w_others, 1},     {"transfer", w_transfer, 0}, {"sum", w_sum, 0},
            {"mean", w_mean, 0},         {"nudge", w_nudge, 0},       {NULL, NULL, 0}};
  lua_newtable(L);
  int methods = lua_gettop(L);
  for (int i = 0; wm[i].name; i++) {
    int up = wm[i].up;
    if (up == 1) lua_pushvalue(L, p->views);
    else if (up == 2) lua_pushvalue(L, p->relviews);
    else if (up == 3) lua_pushvalue(L, p->paths);
    lua_pushcclosure(L, wm[i].fn, up ? 1 : 0);
    lua_setfield(L, methods, wm[i].name);
  }
  /* world:method finds the method with a VM table look-up (the methods
  ** table is the world's __index); the fields and unknown names fall
  ** through to world_index. Neither table is reachable from scripts. */
  lua_createtable(L, 0, 2);
  lua_pushvalue(L, methods);
  lua_pushcclosure(L, world_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, methods);
  lua_newuserdatauv(L, 1, 0);
  int world = p->world = lua_gettop(L);
  lua_createtable(L, 0, 3);
  lua_pushvalue(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, world_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, world);
}

/* The expression environment: ids, rel, tick, ticks, world, math and the
** aggregates, read-only (tick and ticks are updated by the engine). */
static void build_exprenv(lua_State *L, const tr_scenario *sc, build_places *p) {
  lua_createtable(L, 0, sc->nactors + 12);
  int exprraw = p->exprraw = lua_gettop(L);
  for (int a = 0; a < sc->nactors; a++) {
    lua_rawgeti(L, p->views, a + 1);
    lua_setfield(L, exprraw, sc->actors[a].id);
  }
  lua_pushvalue(L, p->relviews);
  lua_pushcclosure(L, f_rel, 1);
  lua_setfield(L, exprraw, "rel");
  static const struct {
    const char *name;
    lua_CFunction fn;
  } aggs[] = {{"sum", f_sum}, {"mean", f_mean},   {"min", f_min},
              {"max", f_max}, {"count", f_count}, {NULL, NULL}};
  for (int i = 0; aggs[i].name; i++) {
    lua_pushcfunction(L, aggs[i].fn);
    lua_setfield(L, exprraw, aggs[i].name);
  }
  exprlib_register(L, exprraw);
  lua_pushvalue(L, p->world);
  lua_setfield(L, exprraw, "world");
  lua_pushinteger(L, 0);
  lua_setfield(L, exprraw, "tick");
  lua_pushinteger(L, sc->ticks);
  lua_setfield(L, exprraw, "ticks");
  lua_getfield(L, LUA_REGISTRYINDEX, R_TEMPLATE);
  lua_getfield(L, -1, "math");
  lua_createtable(L, 0, 32); /* expressions draw nothing: no random */
  sandbox_copy_fields(L, -2, -1);
  lua_pushcfunction(L, expr_no_random);
  lua_setfield(L, -2, "random");
  lua_remove(L, -2);
  sandbox_readonly(L);
  lua_setfield(L, exprraw, "math");
  lua_pop(L, 1);
  lua_pushvalue(L, exprraw);
  sandbox_readonly(L);
  p->exprenv = lua_gettop(L);
}

/* Compile the scripts: policies (one factory per script file), the helpers
** file, actions. */
static void compile_scripts(lua_State *L, const tr_scenario *sc, build_ctx *bc, build_places *p) {
  tr_diag *d = bc->d;
  lua_newtable(L);
  int policy = p->policy = lua_gettop(L);
  lua_newtable(L);
  int byfile = lua_gettop(L);
  for (int a = 0; a < sc->nactors; a++) {
    const tr_actordecl *ad = &sc->actors[a];
    if (!ad->policy) continue;
    if (lua_getfield(L, byfile, ad->policy) == LUA_TNIL) {
      lua_pop(L, 1);
      if (compile_file(L, ad->policy, 1, d, sc->path, ad->policy_line, ad->policy_col)) {
        bc->errors++;
        lua_pushboolean(L, 0);
      }
      lua_pushvalue(L, -1);
      lua_setfield(L, byfile, ad->policy);
    }
    lua_rawseti(L, policy, a + 1);
  }
  if (sc->helpers) {
    if (compile_file(L, sc->helpers, 1, d, sc->path, sc->helpers_line, sc->helpers_col)) {
      bc->errors++;
    } else {
      lua_setfield(L, LUA_REGISTRYINDEX, R_HELPFAC);
    }
  }
  lua_newtable(L);
  int actfac = p->actfac = lua_gettop(L);
  for (int i = 0; i < sc->nactions; i++) {
    const tr_actiondecl *ac = &sc->actions[i];
    if (!ac->script) continue;
    if (compile_file(L, ac->script, 1, d, sc->path, ac->line, ac->col)) {
      bc->errors++;
      continue;
    }
    lua_rawseti(L, actfac, i + 1);
  }
}

/* Compile the expressions: metrics, outcomes, events' `when` and `lua`. */
static void compile_exprs(lua_State *L, const tr_scenario *sc, build_ctx *bc, build_places *p) {
  tr_diag *d = bc->d;
  int exprenv = p->exprenv;
  lua_newtable(L);
  int metrics = p->metrics = lua_gettop(L);
  char what[256];
  for (int i = 0; i < sc->nmetrics; i++) {
    snprintf(what, sizeof what, "metric '%s'", sc->metrics[i].name);
    if (compile_expr(L, exprenv, what, sc->metrics[i].expr, d, sc->path, sc->metrics[i].line,
                     sc->metrics[i].col)) {
      bc->errors++;
      continue;
    }
    lua_rawseti(L, metrics, i + 1);
  }
  lua_newtable(L);
  int outcomes = p->outcomes = lua_gettop(L);
  for (int i = 0; i < sc->noutcomes; i++) {
    snprintf(what, sizeof what, "outcome '%s'", sc->outcomes[i].name);
    if (compile_expr(L, exprenv, what, sc->outcomes[i].expr, d, sc->path, sc->outcomes[i].line,
                     sc->outcomes[i].col)) {
      bc->errors++;
      continue;
    }
    lua_rawseti(L, outcomes, i + 1);
  }
  lua_newtable(L);
  int when = p->when = lua_gettop(L);
  lua_newtable(L);
  int evfac = p->evfac = lua_gettop(L);
  for (int i = 0; i < sc->nevents; i++) {
    const tr_eventdecl *ev = &sc->events[i];
    if (ev->when) {
      snprintf(what, sizeof what, "event '%s' when", ev->name);
      if (compile_expr(L, exprenv, what, ev->when, d, sc->path, ev->when_line, ev->when_col))
        bc->errors++;
      else lua_rawseti(L, when, i + 1);
    }
    if (ev->lua) {
      snprintf(what, sizeof what, "=event '%s'", ev->name);
      if (luaL_loadbufferx(L, ev->lua, strlen(ev->lua), what, "t") != LUA_OK) {
        diag_error(d, sc->path, ev->lua_line, ev->lua_col, "event '%s' lua does not compile: %s",
                   ev->name, lua_tostring(L, -1));
        lua_pop(L, 1);
        bc->errors++;
      } else {
        lua_rawseti(L, evfac, i + 1);
      }
    }
  }
}

/* Everything built, under its name in the registry (registry.h). */
static void register_state(lua_State *L, tr_lua *lx, const build_places *p) {
  const tr_scenario *sc = lx->sc;
  lua_pushvalue(L, p->views);
  lua_setfield(L, LUA_REGISTRYINDEX, R_VIEWS);
  lua_pushvalue(L, p->valstab);
  lua_setfield(L, LUA_REGISTRYINDEX, R_VALS);
  lua_pushvalue(L, p->slotvals);
  lua_setfield(L, LUA_REGISTRYINDEX, R_SLOTVALS);
  lua_pushvalue(L, p->slotkeys);
  lua_setfield(L, LUA_REGISTRYINDEX, R_SLOTKEYS);
  for (int i = 0; i < sc->nslots; i++) { /* anchored in slotkeys */
    lua_rawgeti(L, p->slotkeys, i + 1);
    lx->slot_names[i] = lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  lua_pushvalue(L, p->relviews);
  lua_setfield(L, LUA_REGISTRYINDEX, R_RELVIEWS);
  lua_pushvalue(L, p->vals_mt);
  lua_setfield(L, LUA_REGISTRYINDEX, R_VALSMT);
  lua_pushvalue(L, p->view_mt);
  lua_setfield(L, LUA_REGISTRYINDEX, R_VIEWMT);
  lx->run_views_hi = sc->nrels;
  lx->run_slots_hi = sc->nslots;
  lua_pushvalue(L, p->ids);
  lua_setfield(L, LUA_REGISTRYINDEX, R_IDS);
  lua_pushvalue(L, p->ids);
  lx->ids_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushliteral(L, "__index");
  lx->index_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushvalue(L, p->world);
  lua_setfield(L, LUA_REGISTRYINDEX, R_WORLD);
  lua_pushvalue(L, p->actions);
  lua_setfield(L, LUA_REGISTRYINDEX, R_ACTIONS);
  lua_pushvalue(L, p->args);
  lua_setfield(L, LUA_REGISTRYINDEX, R_ARGS);
  lua_pushvalue(L, p->paths);
  lua_setfield(L, LUA_REGISTRYINDEX, R_PATHS);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, R_LISTS);
  lua_pushvalue(L, p->exprraw);
  lua_setfield(L, LUA_REGISTRYINDEX, R_EXPRENV);
  lua_pushvalue(L, p->policy);
  lua_setfield(L, LUA_REGISTRYINDEX, R_POLICY);
  lua_pushvalue(L, p->actfac);
  lua_setfield(L, LUA_REGISTRYINDEX, R_ACTFAC);
  lua_pushvalue(L, p->evfac);
  lua_setfield(L, LUA_REGISTRYINDEX, R_EVFAC);
  lua_pushvalue(L, p->metrics);
  lua_setfield(L, LUA_REGISTRYINDEX, R_METRICS);
  lua_pushvalue(L, p->outcomes);
  lua_setfield(L, LUA_REGISTRYINDEX, R_OUTCOMES);
  lua_pushvalue(L, p->when);
  lua_setfield(L, LUA_REGISTRYINDEX, R_WHEN);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, R_DECIDE);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, R_INIT);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, R_APPLY);
}

/* Builds views, the world, the expression environment and compiles every
** chunk, then registers them. Runs inside lua_pcall (arg 1: build_ctx). */
static int build_state(lua_State *L) {
  build_ctx *bc = lua_touserdata(L, 1);
  tr_lua *lx = TR_LX(L);
  const tr_scenario *sc = lx->sc;
  build_places p;
  build_tables(L, sc, &p);
  build_views(L, lx, &p);
  build_world(L, &p);
  build_exprenv(L, sc, &p);
  compile_scripts(L, sc, bc, &p);
  compile_exprs(L, sc, bc, &p);
  register_state(L, lx, &p);
  build_params(L, lx, NULL);
  return 0;
}

/* lx->policy_first: each actor runs its own instance of its policy, except
** that the actors of a policy declaring {shared = true} use the first one's
** (docs/lua-api.md, "Shared instances"). */
static int policy_instances(tr_lua *lx) {
  const tr_scenario *sc = lx->sc;
  lx->policy_first = malloc(((size_t)sc->nactors + 1) * sizeof *lx->policy_first);
  int *by_script = malloc(((size_t)sc->nscripts + 1) * sizeof *by_script);
  if (!lx->policy_first || !by_script) {
    free(by_script);
    return -1;
  }
  for (int i = 0; i < sc->nscripts; i++) by_script[i] = -1;
  for (int a = 0; a < sc->nactors; a++) {
    lx->policy_first[a] = a;
    const tr_scriptdecl *s = sc->actors[a].policy ? params_script(sc, sc->actors[a].policy) : NULL;
    if (!s || !s->shared) continue;
    int *first = &by_script[s - sc->scripts];
    if (*first < 0) *first = a;
    lx->policy_first[a] = *first;
  }
  free(by_script);
  return 0;
}

tr_lua *script_new(const tr_scenario *sc, tr_world *w, tr_diag *d) {
  tr_lua *lx = calloc(1, sizeof *lx);
  if (!lx) return NULL;
  lx->sc = sc;
  lx->w = w;
  lx->cur_actor = -1;
  lua_State *L = sandbox_new(lx);
  if (!L) {
    diag_error(d, NULL, 0, 0, "cannot create a Lua state (out of memory)");
    free(lx);
    return NULL;
  }
  lx->L = L;
  lx->slot_names = calloc((size_t)sc->nslots + 1, sizeof *lx->slot_names);
  if (!lx->slot_names || policy_instances(lx)) {
    diag_error(d, NULL, 0, 0, "out of memory");
    script_free(lx);
    return NULL;
  }
  lx->mem_limit = (size_t)sc->memory_mb * 1024u * 1024u;
  build_ctx bc = {d, 0};
  lua_pushcfunction(L, build_state);
  lua_pushlightuserdata(L, &bc);
  int st = lua_pcall(L, 1, 0, 0);
  if (st != LUA_OK) {
    diag_error(d, sc->path, 0, 0, "cannot prepare the scripts: %s%s",
               st == LUA_ERRMEM ? "memory limit (limits.memory_mb) too small for this scenario"
                   : lua_tostring(L, -1) ? lua_tostring(L, -1)
                                         : "error",
               "");
    bc.errors++;
  }
  lua_settop(L, 0);
  if (bc.errors) {
    script_free(lx);
    return NULL;
  }
  return lx;
}

void script_free(tr_lua *lx) {
  if (!lx) return;
  if (lx->L) {
    watchdog_unregister(lx);
    lua_close(lx->L);
  }
  free(lx->ids);
  free(lx->slot_names);
  free(lx->vmap);
  free(lx->rvmap);
  free(lx->policy_first);
  free(lx);
}

/* A script's private environment: globals it sets stay its own; names it
** does not set are looked up in the run's globals (one metatable hop, and
** no per-actor copy: with thousands of actors that copy would dominate
** memory). Pushes it. */
/* Names a script reads from the run's globals. The libraries and sandbox
** functions (the names of the template: `math`, `rng`, `pairs`, ...) are
** copied into the script's environment on first use, so that every later
** use is a plain field read; their names cannot be rebound in the run's
** globals (run_globals_newindex), so the copy never goes stale. Other names
** (what scripts share through _G) are looked up every time.
** Upvalue 1: the run's globals; 2: the template. */
static int env_index(lua_State *L) {
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) == LUA_TNIL) return 1;
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL) {
    lua_pop(L, 1);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -2);
    lua_rawset(L, 1);
  } else {
    lua_pop(L, 1);
  }
  return 1;
}

/* _G.name = v: shares v with every script of the run, except for the
** names of the libraries and sandbox functions, which stay what they are.
** Upvalues as env_index. */
static int run_globals_newindex(lua_State *L) {
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL
      || (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "_G") == 0))
    return luaL_error(L,
                      "_G.%s cannot be replaced: the libraries and sandbox functions of "
                      "the run's globals are fixed (assign your own name, or change a field "
                      "of the library table)",
                      lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?");
  lua_settop(L, 3);
  lua_rawset(L, lua_upvalueindex(1));
  return 0;
}

/* pairs(_G): the run's globals, in the sandbox's order. */
static int run_globals_pairs(lua_State *L) {
  lua_getfield(L, lua_upvalueindex(2), "pairs");
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_call(L, 1, 3);
  return 3;
}

/* Replaces the run's globals at g, for scripts, by a guard: _G and the
** default environment of load() are an empty table reading through to g,
** whose writes go to g except for the fixed names; rawset refuses it. */
static void guard_run_globals(lua_State *L, int g) {
  lua_getfield(L, LUA_REGISTRYINDEX, R_TEMPLATE);
  int tpl = lua_gettop(L);
  lua_newtable(L); /* the guard */
  lua_createtable(L, 0, 5);
  lua_pushvalue(L, g);
  lua_setfield(L, -2, "__index");
  lua_pushvalue(L, g);
  lua_pushvalue(L, tpl);
  lua_pushcclosure(L, run_globals_newindex, 2);
  lua_setfield(L, -2, "__newindex");
  lua_pushvalue(L, g);
  lua_pushvalue(L, tpl);
  lua_pushcclosure(L, run_globals_pairs, 2);
  lua_setfield(L, -2, "__pairs");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "__tr_readonly");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_setfield(L, g, "_G");
  lua_setfield(L, LUA_REGISTRYINDEX, R_RUNGLOBALS);
  lua_pop(L, 1);
}

static void new_env(lua_State *L, int envmt) {
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, envmt);
  lua_setmetatable(L, -2);
}

/* The helpers file, once per run: its top level runs in its own
** environment (over the run globals); every global it defines becomes a
** run global that scripts see, and a name expressions see (after their own
** names). Tables it defines are handed out read-only. */
static void load_helpers(lua_State *L, tr_lua *lx, int g, int envmt) {
  lx->what_kind = WHAT_LOAD_HELPERS;
  lx->cur_actor = -1;
  new_env(L, envmt);
  int env = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, R_HELPFAC);
  lua_pushvalue(L, env);
  sandbox_call(L, lx, 1, 0);
  lua_newtable(L); /* what expressions see */
  int h = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, env)) {
    if (lua_type(L, -1) == LUA_TTABLE) sandbox_readonly(L);
    if (lua_type(L, -2) == LUA_TSTRING) {
      lua_pushvalue(L, -2);
      lua_pushvalue(L, -2);
      lua_rawset(L, g);
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, h);
    } else {
      lua_pop(L, 1);
    }
  }
  lua_getfield(L, LUA_REGISTRYINDEX, R_EXPRENV);
  lua_createtable(L, 0, 1);
  lua_pushvalue(L, h);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  lua_pop(L, 3);
  lx->what_kind = WHAT_NONE;
}

/* The views of the previous run's drawn relations go: their relations
** belong to that run's network. */
static void drop_run_views(lua_State *L, tr_lua *lx) {
  const tr_scenario *sc = lx->sc;
  if (lx->run_views_hi > sc->nrels) {
    lua_getfield(L, LUA_REGISTRYINDEX, R_RELVIEWS);
    for (int r = sc->nrels; r < lx->run_views_hi; r++) {
      lua_pushnil(L);
      lua_rawseti(L, -2, r + 1);
    }
    lua_pop(L, 1);
  }
  if (lx->run_slots_hi > sc->nslots) {
    lua_getfield(L, LUA_REGISTRYINDEX, R_SLOTVALS);
    lua_getfield(L, LUA_REGISTRYINDEX, R_SLOTKEYS);
    for (int s = sc->nslots; s < lx->run_slots_hi; s++) {
      lua_pushnil(L);
      lua_rawseti(L, -3, s + 1);
      lua_pushnil(L);
      lua_rawseti(L, -2, s + 1);
    }
    lua_pop(L, 2);
  }
  if (lx->rvn) memset(lx->rvmap, 0, ((size_t)lx->rvmask + 1) * sizeof *lx->rvmap);
  lx->rvn = 0;
  lx->run_views_hi = sc->nrels;
  lx->run_slots_hi = sc->nslots;
}

/* Per run: fresh globals; each policy actor's script runs in its own
** environment; action scripts and event snippets get theirs. Called inside
** the run's protected call. Pushes nothing.
** Long: the environments of a run are built in one order on the one Lua stack (globals, helpers,
** each policy, actions, events, metrics), and the stack indices it sets up are shared by every
** step. */
void script_begin_run(lua_State *L, tr_lua *lx, const tr_instance *inst) {
  const tr_scenario *sc = lx->sc;
  /* cached expression lists hold the actors present in a run: new each run */
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, R_LISTS);
  drop_run_views(L, lx);
  int rebuild = lx->params_for != inst;
  sandbox_begin_run_ids(lx, 0, rebuild);
  if (rebuild) build_params(L, lx, inst);
  sandbox_begin_run_ids(lx, 1, rebuild);
  int top = lua_gettop(L);
  sandbox_push_run_globals(L);
  int g = lua_gettop(L);
  params_push_declare(L); /* declarations were read at load */
  lua_setfield(L, g, "declare");
  lua_getfield(L, LUA_REGISTRYINDEX, R_POLICY);
  lua_getfield(L, LUA_REGISTRYINDEX, R_DECIDE);
  lua_getfield(L, LUA_REGISTRYINDEX, R_INIT);
  int policy = g + 1, decide = g + 2, init = g + 3;
  guard_run_globals(L, g);
  lua_createtable(L, 0, 2); /* metatable {__index = env_index} */
  lua_pushvalue(L, g);
  lua_getfield(L, LUA_REGISTRYINDEX, R_TEMPLATE);
  lua_pushcclosure(L, env_index, 2);
  lua_setfield(L, -2, "__index");
  int envmt = lua_gettop(L);
  lx->mode = MODE_NONE;
  if (sc->helpers) load_helpers(L, lx, g, envmt);
  for (int a = 0; a < sc->nactors; a++) {
    if (!sc->actors[a].policy) continue;
    int first = lx->policy_first[a];
    if (first != a) { /* a shared instance: the first actor's functions */
      lua_rawgeti(L, decide, first + 1);
      lua_rawseti(L, decide, a + 1);
      lua_rawgeti(L, init, first + 1);
      lua_rawseti(L, init, a + 1);
      continue;
    }
    lx->cur_actor = a;
    lx->what_kind = WHAT_LOAD_POLICY;
    new_env(L, envmt);
    int env = lua_gettop(L);
    lua_rawgeti(L, policy, a + 1);
    lua_pushvalue(L, env);
    sandbox_call(L, lx, 1, 0); /* the script's top level */
    if (lua_getfield(L, env, "decide") != LUA_TFUNCTION)
      luaL_error(L, "policy %s (actor '%s') does not define decide(me, world)",
                 sc->actors[a].policy, sc->actors[a].id);
    lua_rawseti(L, decide, a + 1);
    if (lua_getfield(L, env, "init") != LUA_TFUNCTION) {
      lua_pop(L, 1);
      lua_pushboolean(L, 0);
    }
    lua_rawseti(L, init, a + 1);
    lua_pop(L, 1);
  }
  lx->cur_actor = -1;
  if (sc->nactions) {
    lua_getfield(L, LUA_REGISTRYINDEX, R_ACTFAC);
    lua_getfield(L, LUA_REGISTRYINDEX, R_APPLY);
    for (int i = 0; i < sc->nactions; i++) {
      if (!sc->actions[i].script) continue;
      lx->what_kind = WHAT_LOAD_ACTION;
      lx->what_index = i;
      new_env(L, envmt);
      int env = lua_gettop(L);
      lua_rawgeti(L, env - 2, i + 1);
      lua_pushvalue(L, env);
      sandbox_call(L, lx, 1, 0);
      if (lua_getfield(L, env, "apply") != LUA_TFUNCTION)
        luaL_error(L, "action script %s does not define apply(world, actor, target, args)",
                   sc->actions[i].script);
      lua_rawseti(L, env - 1, i + 1);
      lua_pop(L, 1);
    }
    lua_pop(L, 2);
  }
  /* Event snippets share one environment per run: actor ids, rel, world,
  ** tick, ticks and the aggregates over the run globals. */
  /* Metrics are visible by name to expressions from the tick they are first
  ** recorded; none is left over from a previous run (nor copied into the
  ** snippets' environment below). */
  if (sc->nmetrics) {
    lua_getfield(L, LUA_REGISTRYINDEX, R_EXPRENV);
    for (int i = 0; i < sc->nmetrics; i++) {
      if (!sc->metrics[i].by_name) continue;
      lua_pushnil(L);
      lua_setfield(L, -2, sc->metrics[i].name);
    }
    lua_pop(L, 1);
  }
  int has_snippets = 0;
  for (int i = 0; i < sc->nevents; i++) has_snippets |= sc->events[i].lua != NULL;
  if (has_snippets) {
    lua_getfield(L, LUA_REGISTRYINDEX, R_EVFAC);
    int evfac = lua_gettop(L);
    lua_newtable(L);
    lua_getfield(L, LUA_REGISTRYINDEX, R_EXPRENV);
    sandbox_copy_fields(L, -1, -2);
    lua_pop(L, 1);
    lua_getfield(L, g, "math");
    lua_setfield(L, -2, "math");
    lua_pushvalue(L, envmt);
    lua_setmetatable(L, -2);
    int evenv = lua_gettop(L);
    for (int i = 0; i < sc->nevents; i++) {
      if (!sc->events[i].lua) continue;
      lua_rawgeti(L, evfac, i + 1);
      lua_pushvalue(L, evenv);
      lua_setupvalue(L, -2, 1);
      lua_pop(L, 1);
    }
    lua_pushvalue(L, evenv);
    lua_setfield(L, LUA_REGISTRYINDEX, R_EVENV);
  }
  lua_settop(L, top);
}

static int trial_begin(lua_State *L) {
  tr_lua *lx = TR_LX(L);
  char msg[512];
  if (world_network(lx->w, msg, sizeof msg)) return luaL_error(L, "%s", msg);
  script_begin_run(L, lx, lx->w->inst);
  return 0;
}

/* Syntax of every expression and script of a scenario that did not
** validate, so their errors are reported with the YAML's (docs/scenario-format.md, "Validation": all
** errors at once). Uses a bare state: nothing runs. */
static void script_syntax_check(const tr_scenario *sc, tr_diag *d) {
  lua_State *L = luaL_newstate();
  if (!L) return;
  const tr_exprdecl *lists[2] = {sc->metrics, sc->outcomes};
  int counts[2] = {sc->nmetrics, sc->noutcomes};
  const char *kinds[2] = {"metric", "outcome"};
  char what[256];
  for (int k = 0; k < 2; k++)
    for (int i = 0; lists[k] && i < counts[k]; i++) {
      if (!lists[k][i].expr || !lists[k][i].name) continue;
      snprintf(what, sizeof what, "%s '%s'", kinds[k], lists[k][i].name);
      if (compile_expr(L, 0, what, lists[k][i].expr, d, sc->path, lists[k][i].line, lists[k][i].col)
          == 0)
        lua_pop(L, 1);
    }
  for (int i = 0; sc->events && i < sc->nevents; i++) {
    const tr_eventdecl *ev = &sc->events[i];
    if (ev->when && ev->name) {
      snprintf(what, sizeof what, "event '%s' when", ev->name);
      if (compile_expr(L, 0, what, ev->when, d, sc->path, ev->when_line, ev->when_col) == 0)
        lua_pop(L, 1);
    }
  }
  /* Each script file once. */
  for (int a = 0; sc->actors && a < sc->nactors; a++) {
    const char *p = sc->actors[a].policy;
    int seen = 0;
    for (int b = 0; p && b < a && !seen; b++)
      seen = sc->actors[b].policy && strcmp(sc->actors[b].policy, p) == 0;
    if (p && !seen
        && compile_file(L, p, 0, d, sc->path, sc->actors[a].policy_line, sc->actors[a].policy_col)
            == 0)
      lua_pop(L, 1);
  }
  for (int i = 0; sc->actions && i < sc->nactions; i++)
    if (sc->actions[i].script
        && compile_file(L, sc->actions[i].script, 0, d, sc->path, sc->actions[i].line,
                        sc->actions[i].col)
            == 0)
      lua_pop(L, 1);
  lua_close(L);
}

const tr_lua_checks script_checks = {params_collect, script_syntax_check};

/* Compile everything and run each script's top level once (as the start of
** a run does), so `check` reports what `run` would refuse before any run
** starts: syntax errors, a policy without decide, an action without apply,
** a top level that fails. */
int script_compile_all(const tr_scenario *sc, tr_diag *d) {
  tr_world *w = world_new(sc);
  if (!w) {
    diag_error(d, NULL, 0, 0, "out of memory");
    return -1;
  }
  tr_lua *lx = script_new(sc, w, d);
  if (!lx) {
    world_free(w);
    return -1;
  }
  tr_instance in;
  memset(&in, 0, sizeof in);
  int rc = 0;
  if (instance_base(sc, sc->ticks, &in)) {
    diag_error(d, NULL, 0, 0, "out of memory");
    rc = -1;
  } else {
    lua_State *L = lx->L;
    world_reset(w, &in, 1, rng_run_seed(sc->seed, 1));
    sandbox_reset_limits(L, lx);
    lua_pushcfunction(L, sandbox_msgh);
    lua_pushcfunction(L, trial_begin);
    if (lua_pcall(L, 0, 0, -2) != LUA_OK) {
      const char *msg = lua_tostring(L, -1);
      char *path = NULL;
      int line = 0, col = 0;
      if (lx->what_kind == WHAT_LOAD_POLICY && lx->cur_actor >= 0) {
        path = sc->actors[lx->cur_actor].policy;
        line = sc->actors[lx->cur_actor].policy_line;
        col = sc->actors[lx->cur_actor].policy_col;
      } else if (lx->what_kind == WHAT_LOAD_ACTION) {
        path = sc->actions[lx->what_index].script;
        line = sc->actions[lx->what_index].line;
        col = sc->actions[lx->what_index].col;
      }
      if (path) place_lua_message(d, msg, path, sc->path, line, col, "");
      else diag_error(d, sc->path, 0, 0, "%s", msg ? msg : "error");
      rc = -1;
    }
  }
  free(in.init);
  free(in.model);
  script_free(lx);
  world_free(w);
  return rc;
}
