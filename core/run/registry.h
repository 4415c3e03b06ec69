/* registry.h — run layer: the names under which the Lua API (luaapi.c)
** keeps its tables in the Lua registry, and the places of the stack where
** a run (tick.c, run_body) keeps the ones it reads every tick. Both files
** use these names, so renaming one renames it for both. */
#ifndef TR_RUN_REGISTRY_H
#define TR_RUN_REGISTRY_H

/* Registry tables, by name. */
#define R_VIEWS "tr.views"           /* actor index + 1 -> view */
#define R_RELVIEWS "tr.relviews"     /* relation index + 1 -> view (a drawn relation's: */
                                     /* made on demand, dropped at the next run) */
#define R_VALSMT "tr.valsmt"         /* the value tables' shared metatable */
#define R_VIEWMT "tr.viewmt"         /* the shared entries of the views' metatables */
#define R_VALS "tr.vals"             /* actor index + 1 -> its value table */
#define R_SLOTVALS "tr.slotvals"     /* slot + 1 -> value table holding it */
#define R_SLOTKEYS "tr.slotkeys"     /* slot + 1 -> attribute name */
#define R_IDS "tr.ids"               /* actor id -> actor index */
#define R_WORLD "tr.world"           /* the world userdata */
#define R_ACTIONS "tr.actions"       /* action name -> action index */
#define R_EXPRENV "tr.exprenv"       /* raw table behind the expression env */
#define R_POLICY "tr.policy"         /* actor index + 1 -> policy factory */
#define R_ACTFAC "tr.actfac"         /* action index + 1 -> action factory */
#define R_EVFAC "tr.evfac"           /* event index + 1 -> event snippet */
#define R_METRICS "tr.metrics"       /* metric index + 1 -> function */
#define R_OUTCOMES "tr.outcomes"     /* outcome index + 1 -> function */
#define R_WHEN "tr.when"             /* event index + 1 -> function */
#define R_DECIDE "tr.decide"         /* per run: actor index + 1 -> decide */
#define R_INIT "tr.init"             /* per run: actor index + 1 -> init */
#define R_APPLY "tr.apply"           /* per run: action index + 1 -> apply */
#define R_ARGS "tr.args"             /* per tick: queue index + 1 -> args */
#define R_PATHS "tr.paths"           /* path text -> slot */
#define R_HELPFAC "tr.helpfac"       /* the helpers file's factory, or nil */
#define R_EVENV "tr.evenv"           /* the events' environment, or nil */
#define R_LISTS "tr.lists"           /* key -> cached list */
#define R_TEMPLATE "tr.template"     /* the sandbox's library, copied for each run */
#define R_RUNGLOBALS "tr.runglobals" /* this run's copy of the library */

/* The stack of run_body: place S_X holds the registry table run_places[S_X]. */
enum {
  S_DECIDE = 1,
  S_INIT,
  S_VIEWS,
  S_WORLD,
  S_METRICS,
  S_OUTCOMES,
  S_EXPRENV,
  S_APPLY,
  S_ARGS,
  S_WHEN,
  S_EVFAC,
  S_RELVIEWS,
  S_EVENV,
  S_TOP = S_EVENV
};
static const char *const run_places[S_TOP + 1] = {
    [S_DECIDE] = R_DECIDE,   [S_INIT] = R_INIT,       [S_VIEWS] = R_VIEWS,
    [S_WORLD] = R_WORLD,     [S_METRICS] = R_METRICS, [S_OUTCOMES] = R_OUTCOMES,
    [S_EXPRENV] = R_EXPRENV, [S_APPLY] = R_APPLY,     [S_ARGS] = R_ARGS,
    [S_WHEN] = R_WHEN,       [S_EVFAC] = R_EVFAC,     [S_RELVIEWS] = R_RELVIEWS,
    [S_EVENV] = R_EVENV};

#endif
