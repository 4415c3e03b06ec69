"""The built-in model (docs/model.md) against its specification: the Tullock
contest against its formula, the metamorphic properties of the flagship
scenario, the Fey & Ramsay null mediator, and the scenario library.

Every statistical check states its confidence. Comparisons of two settings of
doha.yaml run them as variants of one experiment, so run r of both uses the
same random stream (common random numbers) and the runs pair up; paired tests
(exact sign test, exact McNemar test) use that pairing. A test at 99%
confidence fails by chance in at most 1% of seeds; the seeds here are fixed,
so the suite is deterministic.
"""
import glob, math, os, re

import helpers

DOHA = helpers.scenario_path("doha.yaml")


# --- exact tests (standard library only) -----------------------------------
def sign_test_greater(wins, losses):
    """One-sided exact sign test: P(X >= wins), X ~ Binomial(wins + losses, 1/2)
    (ties dropped). Small values reject 'no tendency to be greater'."""
    return helpers.binom_tail_ge(wins, wins + losses, 0.5)


def doha_with(variants):
    """doha.yaml with its variants replaced by `variants` (YAML text)."""
    text = open(DOHA).read()
    return text[:text.index("\nvariants:")] + "\nvariants:\n" + variants


def run_variants(variants, runs, *sets, seed=None):
    """{variant: {run: row of runs.csv}} of doha with the given variants."""
    with helpers.Case() as case:
        case.write("doha.yaml", doha_with(variants))
        args = ["run", "doha.yaml", "-o", "out", "-n", runs, "-j", 2, "--quiet", "--series", "none"]
        if seed is not None:
            args += ["-s", seed]
        for s in sets:
            args += ["--set", s]
        code, _, err = case.run(*args)
        assert code == 0, err
        res = {}
        for r in case.csv("out", "runs.csv"):
            res.setdefault(r["variant"], {})[int(r["run"])] = r
        return res


# The metamorphic variants of doha, each changing one input of the baseline;
# run once (1000 runs each, paired with the baseline by run index) and shared
# by the tests below.
METAMORPHIC = """
  more_support: {set: {"iran:hamas.support": 1.0}}       # 0.5 -> 1.0
  more_credibility: {set: {"qatar.credibility": 1.0}}    # 0.55 -> 1.0
  low_tolerance: {set: {"us:qatar.tolerance": 0.2}}      # 0.6 -> 0.2
  more_hardline: {set: {"hamas.hardline": 0.85}}         # 0.55 -> 0.85
  qatar_unbiased: {set: {"qatar:hamas.bias": 0}}         # 0.4 -> 0
"""
RUNS = 1000
_cache = {}


def metamorphic():
    if "m" not in _cache:
        _cache["m"] = run_variants(METAMORPHIC, RUNS)
    return _cache["m"]


def paired_outcome(a, b, outcome):
    """(runs with `outcome` only under a, only under b) — McNemar's discordant pairs."""
    only_a = sum(1 for r in a if a[r]["outcome"] == outcome and b[r]["outcome"] != outcome)
    only_b = sum(1 for r in a if b[r]["outcome"] == outcome and a[r]["outcome"] != outcome)
    return only_a, only_b


def share(rows, outcome):
    return sum(1 for r in rows.values() if r["outcome"] == outcome) / len(rows)


# --- Tullock contest -----------------------------------------------------------
def test_model_tullock_success_share():
    # Attacker capability 2, defender 1, no damage or cost (scenarios/tullock.yaml):
    # every attack is an independent Bernoulli(p), p = 2^r / (2^r + 1) (Tullock 1980).
    # The analytic p must lie in the 99% Clopper-Pearson interval of the success
    # share of 10,000 attacks, for r = 0.5, 1 and 2.
    with helpers.Case() as case:
        for r in (0.5, 1.0, 2.0):
            out = f"t{r}"
            code, _, err = case.run("run", helpers.scenario_path("tullock.yaml"), "-o", out,
                                    "--events", "--quiet", "-j", 2, "--series", "none",
                                    "--set", f"model.contest_exponent={r}")
            assert code == 0, err
            ev = [e for e in case.csv(out, "events.csv") if e["action"] == "attack"]
            n = len(ev)
            k = sum(1 for e in ev if float(e["value"]) == 1)
            assert n == 10000, n
            p = 2 ** r / (2 ** r + 1)
            lo, hi = helpers.clopper_pearson(k, n, 0.99)
            assert lo <= p <= hi, f"r={r}: {k}/{n} successes, 99% CI [{lo:.4f}, {hi:.4f}] misses p={p:.4f}"


def test_model_tullock_contest_edges():
    # A defender without capability always loses (p = 1); two actors without
    # capability split evenly (p = 1/2 by the convention of docs/model.md).
    with helpers.Case() as case:
        scen = open(helpers.scenario_path("tullock.yaml")).read()
        case.write("zero.yaml", scen.replace("capability: 1      # the unit", "capability: 0      # the unit"))
        case.write("both.yaml", scen.replace("capability: 1      # the unit", "capability: 0      # the unit")
                   .replace("capability: 2      # twice", "capability: 0      # twice"))
        for name, lo_p, hi_p in (("zero.yaml", 1.0, 1.0), ("both.yaml", 0.45, 0.55)):
            code, _, err = case.run("run", name, "-o", name + ".out", "--events", "--quiet",
                                    "-n", 20, "--series", "none")
            assert code == 0, err
            ev = [e for e in case.csv(name + ".out", "events.csv") if e["action"] == "attack"]
            k = sum(1 for e in ev if float(e["value"]) == 1)
            if lo_p == hi_p:
                assert k == len(ev), (k, len(ev))
            else:   # 2000 draws of p = 1/2: the 99% CI of the share covers 1/2
                lo, hi = helpers.clopper_pearson(k, len(ev), 0.99)
                assert lo <= 0.5 <= hi, (k, len(ev))


# --- metamorphic properties of doha.yaml -----------------------------------
def test_model_doha_support_raises_capability():
    # Doubling Iran's support (0.5 -> 1.0) must raise Hamas's capability at the
    # end of the run: one-sided exact sign test on the 1000 paired runs, 99%.
    m = metamorphic()
    a, b = m["baseline"], m["more_support"]
    diffs = [float(b[r]["hamas_capability"]) - float(a[r]["hamas_capability"]) for r in a]
    wins, losses = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)
    p = sign_test_greater(wins, losses)
    assert p < 0.01, f"sign test: {wins} up, {losses} down, p = {p:.3g}"


def test_model_doha_credibility_raises_ceasefire():
    # Qatar's credibility 0.55 -> 1.0 must raise the ceasefire share: one-sided
    # exact McNemar test on the discordant pairs, 99%. Credibility moves only
    # the side Qatar leans toward (Hamas, bias +0.4; Kydd 2003), so the
    # effect is smaller than that of leverage or hardline.
    m = metamorphic()
    a, b = m["baseline"], m["more_credibility"]
    only_a, only_b = paired_outcome(a, b, "ceasefire")
    p = sign_test_greater(only_b, only_a)
    assert p < 0.01, f"ceasefire {share(a, 'ceasefire'):.3f} -> {share(b, 'ceasefire'):.3f}, McNemar p = {p:.3g}"


def test_model_doha_low_tolerance_raises_rupture():
    # Washington's initial tolerance 0.6 -> 0.2 must raise the rupture share:
    # one-sided exact McNemar test, 99%.
    m = metamorphic()
    a, b = m["baseline"], m["low_tolerance"]
    only_a, only_b = paired_outcome(a, b, "rupture")
    p = sign_test_greater(only_b, only_a)
    assert p < 0.01, f"rupture {share(a, 'rupture'):.3f} -> {share(b, 'rupture'):.3f}, McNemar p = {p:.3g}"


def test_model_doha_hardline_lowers_ceasefire():
    # Hamas's hardline 0.55 -> 0.85 must lower the ceasefire share: one-sided
    # exact McNemar test, 99%.
    m = metamorphic()
    a, b = m["baseline"], m["more_hardline"]
    only_a, only_b = paired_outcome(a, b, "ceasefire")
    p = sign_test_greater(only_a, only_b)
    assert p < 0.01, f"ceasefire {share(a, 'ceasefire'):.3f} -> {share(b, 'ceasefire'):.3f}, McNemar p = {p:.3g}"


def test_model_doha_unbiased_qatar_lowers_ceasefire():
    # Kydd (2003) in the flagship: Qatar's advice is credible to Hamas because
    # Qatar leans toward it (bias +0.4). Made unbiased (0), Qatar loses its
    # information channel to Hamas, and the ceasefire share must fall:
    # one-sided exact McNemar test, 99%.
    m = metamorphic()
    a, b = m["baseline"], m["qatar_unbiased"]
    only_a, only_b = paired_outcome(a, b, "ceasefire")
    p = sign_test_greater(only_a, only_b)
    assert p < 0.01, f"ceasefire {share(a, 'ceasefire'):.3f} -> {share(b, 'ceasefire'):.3f}, McNemar p = {p:.3g}"


OUTCOMES = ["ceasefire", "regional_war", "rupture", "stalemate"]


def mcnemar_two_sided(only_a, only_b):
    """Two-sided exact McNemar p-value on the discordant pairs."""
    k, d = max(only_a, only_b), only_a + only_b
    return min(1.0, 2 * helpers.binom_tail_ge(k, d, 0.5)) if d else 1.0


# --- Fey & Ramsay (2010): a mediator without information or leverage -------------
# The three null Qatars (credibility 0, leverage 0, no US pressure to give it
# any) differ only in bias; `direct` silences Qatar and lets Hamas negotiate
# with Israel itself on the same fortnightly schedule (the `bargain` action).
FEY_RAMSAY = """
  null_bias_neg: {set: {"qatar.credibility": 0, "qatar.leverage": 0, "us.params.pressure_below": -1, "qatar:hamas.bias": -0.8, "qatar:israel.bias": -0.8}}
  null_bias_zero: {set: {"qatar.credibility": 0, "qatar.leverage": 0, "us.params.pressure_below": -1, "qatar:hamas.bias": 0, "qatar:israel.bias": 0}}
  null_bias_pos: {set: {"qatar.credibility": 0, "qatar.leverage": 0, "us.params.pressure_below": -1, "qatar:hamas.bias": 0.8, "qatar:israel.bias": 0.8}}
  direct: {set: {"qatar.params.talks_every": 0, "us.params.pressure_below": -1, "hamas.params.bargain_every": 2}}
"""


def test_model_fey_ramsay_null_mediator_equals_direct_bargaining():
    # Fey & Ramsay (2010): a mediator with neither information (credibility 0)
    # nor leverage does no better and no worse than the parties negotiating
    # directly, whatever its bias. Doha with such a Qatar holding talks every
    # fortnight, at bias -0.8, 0 and +0.8 toward both parties, against Hamas
    # and Israel bargaining directly on the same schedule: for each bias and
    # each outcome a two-sided exact McNemar test on the paired runs
    # must not reject at an overall 99% (Bonferroni: 0.01 / 12 per test).
    # Direct bargaining is not empty (it makes ceasefires), and the scenario's
    # credible Qatar must do better than direct bargaining (one-sided exact
    # McNemar, 99%): the test has power. Under the sanitizers (about ten
    # times slower) it runs 400 paired runs, still with power to spare (the
    # credible Qatar wins about 150 discordant pairs to 11 at seed 11).
    n = 400 if helpers.sanitized() else 1000
    res = run_variants(FEY_RAMSAY, n, seed=11)
    direct = res["direct"]
    assert share(direct, "ceasefire") > 0.05, f"direct bargaining made {share(direct, 'ceasefire'):.3f} ceasefires"
    tests = [(v, o) for v in ("null_bias_neg", "null_bias_zero", "null_bias_pos") for o in OUTCOMES]
    for v, o in tests:
        only_a, only_b = paired_outcome(res[v], direct, o)
        p = mcnemar_two_sided(only_a, only_b)
        assert p >= 0.01 / len(tests), \
            f"{v} {o}: null mediator {share(res[v], o):.3f} vs direct {share(direct, o):.3f}, McNemar p = {p:.3g}"
    only_a, only_b = paired_outcome(res["baseline"], direct, "ceasefire")
    assert sign_test_greater(only_a, only_b) < 0.01, \
        f"a credible mediator made no difference: {only_a} vs {only_b}"


# --- Kydd (2003, 2006): bias and credibility ---------------------------------------
# Two parties with no hardline and no tension; one successful round makes an
# agreement (the outcome `agreed`). The mediator (credibility 0.8, no
# leverage) holds a round every tick for 5 ticks. The mediator's bias toward
# B is 0 in every variant, so B's willingness is the same throughout and a
# difference in agreements is A's.
KYDD = """
scenario: kydd
experiment: {ticks: 5, runs: 1000, seed: 3}
model: {talks_step: 1}
actors:
  m: {role: mediator, attrs: {credibility: 0.8, leverage: 0, talks_held: 0}, policy: policies/mediator.lua, params: {parties: [a, b], talks_every: 1}}
  a: {role: state, attrs: {resolve: 0}}
  b: {role: state, attrs: {resolve: 0}, policy: policies/state.lua, params: {behaviour: adversary, enemies: [a], aggression: 0, bargain_every: 0}}
relations:
  - {from: m, to: a, kind: contact, attrs: {bias: 0}}
  - {from: m, to: b, kind: contact, attrs: {bias: 0}}
  - {from: a, to: b, kind: hostility, attrs: {tension: 0, ceasefire: 0}}
  - {from: b, to: a, kind: hostility, attrs: {tension: 0, ceasefire: 0}}
metrics: {talks: "m.talks_held"}
outcomes:
  agreed: "rel('a','b').ceasefire >= 1"
default_outcome: none
variants:
  biased_to_a: {set: {"m:a.bias": 0.8}}
  direct: {set: {"m.params.talks_every": 0, "b.params.bargain_every": 1}}
  honest_broker: {set: {"model.trust_building": 0.5}}
"""


def kydd_runs():
    if "kydd" not in _cache:
        with helpers.Case({"kydd.yaml": KYDD}) as case:
            helpers.run_ok(case, "run", "kydd.yaml", "-o", "out", "-j", 2, "--series", "none")
            res = {}
            for r in case.csv("out", "runs.csv"):
                res.setdefault(r["variant"], {})[int(r["run"])] = r
            _cache["kydd"] = res
    return _cache["kydd"]


def test_model_kydd_bias_toward_a_side_makes_it_move():
    # Kydd (2003): advice to a side is credible only from a mediator biased
    # toward it. A mediator biased toward A (+0.8) must get agreements more
    # often than the same mediator unbiased: one-sided exact McNemar, 99%.
    r = kydd_runs()
    only_b, only_u = paired_outcome(r["biased_to_a"], r["baseline"], "agreed")
    p = sign_test_greater(only_b, only_u)
    assert p < 0.01, (f"biased {share(r['biased_to_a'], 'agreed'):.3f} vs unbiased "
                      f"{share(r['baseline'], 'agreed'):.3f}, McNemar p = {p:.3g}")


def test_model_kydd_unbiased_mediator_no_better_than_none():
    # Kydd (2003): an unbiased mediator cannot credibly tell a side to
    # concede, so through the information channel alone (no leverage, the
    # trust channel off) it gets agreements no more often than the parties
    # bargaining directly on the same schedule: the one-sided exact McNemar
    # test of "more often" must not reject at 99%.
    r = kydd_runs()
    only_u, only_d = paired_outcome(r["baseline"], r["direct"], "agreed")
    p = sign_test_greater(only_u, only_d)
    assert p >= 0.01, (f"unbiased {share(r['baseline'], 'agreed'):.3f} vs none "
                       f"{share(r['direct'], 'agreed'):.3f}, McNemar p = {p:.3g}")


def test_model_kydd_honest_broker_builds_trust():
    # Kydd (2006): an unbiased mediator can still build trust, a separate
    # channel (model.trust_building, 0 by default). Switched on (0.5), the
    # same unbiased mediator must get agreements more often than direct
    # bargaining: one-sided exact McNemar, 99%.
    r = kydd_runs()
    only_t, only_d = paired_outcome(r["honest_broker"], r["direct"], "agreed")
    p = sign_test_greater(only_t, only_d)
    assert p < 0.01, (f"honest broker {share(r['honest_broker'], 'agreed'):.3f} vs none "
                      f"{share(r['direct'], 'agreed'):.3f}, McNemar p = {p:.3g}")


# --- Beardsley (2008): inducements fade -----------------------------------------------
# A mediator makes an agreement between proxy a and state b (one successful
# round suffices) either by leverage (credibility 0, leverage 0.9: imposed
# share phi = 0.9 * 0.7 / 0.93 = 0.68) or by information (credibility 1, bias
# +1 toward both, leverage 0: phi = 0). The proxy breaks it with probability
# 0.04 * 0.5 * (1 + 3 * phi * (1 - 2^(-age/10))) per tick; it never attacks
# outside a ceasefire; nothing else ends one.
BEARDSLEY = """
scenario: beardsley
experiment: {ticks: 80, runs: 1000, seed: 5}
model: {talks_step: 1}
actors:
  m: {role: mediator, attrs: {credibility: 0, leverage: 0.9, talks_held: 0}, policy: policies/mediator.lua, params: {parties: [a, b], talks_every: 1, consolidate: 0}}
  a: {role: proxy, attrs: {hardline: 0.5, capability: 1}, policy: policies/proxy.lua, params: {adversary: b, attack_rate: 0, violation_rate: 0.04, imposed_weight: 3, inducement_half_life: 10}}
  b: {role: state, attrs: {resolve: 0, capability: 1}}
relations:
  - {from: m, to: a, kind: contact, attrs: {bias: 1}}
  - {from: m, to: b, kind: contact, attrs: {bias: 1}}
  - {from: a, to: b, kind: hostility, attrs: {tension: 0, ceasefire: 0, imposed: 0, held: 0}}
  - {from: b, to: a, kind: hostility, attrs: {tension: 0, ceasefire: 0, imposed: 0, held: 0}}
metrics: {imposed: "rel('a','b').imposed"}
variants:
  information: {set: {"m.credibility": 1, "m.leverage": 0}}
"""


def beardsley_lifetimes():
    """{variant: {run: (tick of the first agreement, its age when broken or None, ticks observed)}}."""
    if "beardsley" not in _cache:
        with helpers.Case({"b.yaml": BEARDSLEY}) as case:
            helpers.run_ok(case, "run", "b.yaml", "-o", "out", "-j", 2, "--series", "none", "--events")
            first = {}
            for e in case.csv("out", "events.csv"):
                key = (e["variant"], int(e["run"]))
                t = int(e["tick"])
                if e["cameo"] == "0871" and key not in first:
                    first[key] = [t, None]
                elif e["cameo"] == "196" and key in first and first[key][1] is None:
                    first[key][1] = t - first[key][0]
            res = {}
            for (v, run), (t0, age) in first.items():
                res.setdefault(v, {})[run] = (t0, age, 80 - t0)
            _cache["beardsley"] = res
    return _cache["beardsley"]


def hazard(lifetimes, lo, hi):
    """(breakdowns, agreement-ticks at risk) at ages lo..hi inclusive."""
    d = n = 0
    for t0, age, observed in lifetimes.values():
        last = min(hi, observed if age is None else age)
        if last >= lo:
            n += last - lo + 1
            d += age is not None and lo <= age <= hi
    return d, n


def rate_test_greater(d_hi, n_hi, d_lo, n_lo):
    """One-sided exact conditional test that the per-tick hazard of the
    first group exceeds the second's: given d_hi + d_lo breakdowns, d_hi ~
    Binomial(d_hi + d_lo, n_hi / (n_hi + n_lo)) under equal hazards."""
    return helpers.binom_tail_ge(d_hi, d_hi + d_lo, n_hi / (n_hi + n_lo))


def test_model_beardsley_hazard_rises_with_age():
    # Beardsley (2008): inducements fade, so an agreement reached by leverage
    # is broken more readily the older it is. The per-tick hazard at ages
    # 20-60 must exceed that at ages 1-5 (one-sided exact conditional test,
    # 99%); for agreements reached by information (nothing imposed) the two
    # hazards must not differ (two-sided, 99%).
    lt = beardsley_lifetimes()
    assert len(lt["baseline"]) > 950 and len(lt["information"]) > 950
    d_e, n_e = hazard(lt["baseline"], 1, 5)
    d_l, n_l = hazard(lt["baseline"], 20, 60)
    p = rate_test_greater(d_l, n_l, d_e, n_e)
    assert p < 0.01, f"leverage: hazard {d_e}/{n_e} at ages 1-5, {d_l}/{n_l} at 20-60, p = {p:.3g}"
    d_e, n_e = hazard(lt["information"], 1, 5)
    d_l, n_l = hazard(lt["information"], 20, 60)
    p = 2 * min(rate_test_greater(d_l, n_l, d_e, n_e), rate_test_greater(d_e, n_e, d_l, n_l))
    assert p >= 0.01, f"information: hazard {d_e}/{n_e} at ages 1-5, {d_l}/{n_l} at 20-60, p = {p:.3g}"


def test_model_beardsley_leverage_deals_break_more_often():
    # Agreements reached by leverage break down within 30 ticks of signing
    # more often than those reached by information: one-sided exact McNemar
    # on the runs whose first agreement came by tick 10 under both, 99%.
    lt = beardsley_lifetimes()
    lev, inf = lt["baseline"], lt["information"]
    runs = [r for r in lev if r in inf and lev[r][0] <= 10 and inf[r][0] <= 10]
    assert len(runs) > 900, len(runs)
    broke = lambda x: x[1] is not None and x[1] <= 30
    only_lev = sum(1 for r in runs if broke(lev[r]) and not broke(inf[r]))
    only_inf = sum(1 for r in runs if broke(inf[r]) and not broke(lev[r]))
    p = sign_test_greater(only_lev, only_inf)
    assert p < 0.01, f"leverage-only breakdowns {only_lev}, information-only {only_inf}, p = {p:.3g}"


# --- provenance ----------------------------------------------------------------------
def model_c_parameters():
    """{name: default} of model_defaults[] in core/scenario/modeldecl.c."""
    src = open(os.path.join(helpers.ROOT, "core", "scenario", "modeldecl.c")).read()
    body = src[src.index("model_defaults[] = {"):]
    body = body[:body.index("\n};")]
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r'^\s*\{"(\w+)",\s*([-+0-9.eE]+)', body, re.M)}


def provenance_table():
    """{name: (default, provenance)} of the parameter rows of docs/model.md's
    provenance table (rows '| `name` | default | kind: ... |')."""
    doc = open(os.path.join(helpers.ROOT, "docs", "model.md")).read()
    sec = doc[doc.index("## 9. Provenance"):]
    sec = sec[sec.index("### Model parameters"):]
    sec = sec[:sec.index("\n### ", 5)]
    rows = {}
    for m in re.finditer(r"^\| `(\w+)` \| ([-+0-9.eE]+) \| ([^|]+) \|", sec, re.M):
        rows[m.group(1)] = (float(m.group(2)), m.group(3).strip())
    return rows


def parameters_table():
    """{name: default} of docs/model.md's §2 table of parameters."""
    doc = open(os.path.join(helpers.ROOT, "docs", "model.md")).read()
    sec = doc[doc.index("## 2. Parameters"):doc.index("## 3. Actions")]
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"^\| `(\w+)` \| ([-+0-9.eE]+) \|", sec, re.M)}


def test_model_provenance_table_covers_every_parameter():
    # docs/model.md's provenance table lists exactly the parameters of
    # modeldecl.c's table, with the same defaults, each marked source, calibrated
    # or assumption; so does the parameter table of §2.
    code, doc = model_c_parameters(), provenance_table()
    assert parameters_table() == code, \
        f"§2 differs from model.c: {sorted(set(parameters_table().items()) ^ set(code.items()))}"
    assert len(code) >= 27, sorted(code)
    assert sorted(code) == sorted(doc), \
        f"only in model.c: {sorted(set(code) - set(doc))}; only in docs: {sorted(set(doc) - set(code))}"
    for name, value in code.items():
        assert doc[name][0] == value, f"{name}: model.c {value}, docs {doc[name][0]}"
        assert re.match(r"\*?(source|calibrated|assumption)\b", doc[name][1]), f"{name}: {doc[name][1]}"


# --- the scenario library --------------------------------------------------------
def test_model_scenarios_check_and_run():
    # Every scenario in scenarios/ passes `check` and runs (a few short runs).
    paths = sorted(glob.glob(os.path.join(helpers.ROOT, "scenarios", "*.yaml")))
    for name in MODEL_SCENARIOS:
        assert helpers.scenario_path(name) in paths, f"missing scenarios/{name}"
    with helpers.Case() as case:
        for i, path in enumerate(paths):
            code, out, err = case.run("check", path)
            assert code == 0, f"{path}: {err}"
            code, _, err = case.run("run", path, "-o", f"o{i}", "-n", 4, "-j", 2, "--quiet")
            assert code == 0, f"{path}: {err}"
            assert case.csv(f"o{i}", "outcomes.csv")


# The scenarios of the built-in model's library (others in scenarios/ belong
# to other subsystems' tests).
MODEL_SCENARIOS = ["doha.yaml", "tullock.yaml", "oman_backchannel.yaml", "lebanon_border.yaml",
                   "yemen_truce.yaml", "red_sea.yaml"]


def test_model_scenarios_say_illustrative():
    # Every scenario states that its values are illustrative, not forecasts,
    # and every number in it carries a comment giving its rationale: on its
    # line, or on the comment line just above (a relation's flow mapping).
    paths = [helpers.scenario_path(n) for n in MODEL_SCENARIOS]
    number = re.compile(r"(?<![\w.])-?\d+(\.\d+)?([eE]-?\d+)?(?![\w.])")
    quoted = re.compile(r"\"[^\"]*\"|'[^']*'")
    for path in paths:
        text = open(path).read()
        assert re.search(r"illustrative, not (a )?forecasts?", text, re.I), \
            f"{path}: does not say its values are illustrative, not forecasts"
        prev = ""
        for ln, line in enumerate(text.splitlines(), 1):
            code = quoted.sub("", line.split("#", 1)[0])
            if ":" in code and number.search(code.split(":", 1)[1] if not code.lstrip().startswith("-") else code):
                assert "#" in line or prev.lstrip().startswith("#"), \
                    f"{path}:{ln}: a number without a comment: {line.strip()}"
            if line.strip():
                prev = line


# --- built-in actions: errors that say what to fix -------------------------------
def test_model_support_without_relation_is_an_error():
    with helpers.Case({
        "s.yaml": """
            scenario: s
            experiment: {ticks: 2, runs: 1}
            actors:
              p: {role: patron, attrs: {resources: 1}, policy: p.lua}
              x: {role: proxy, attrs: {capability: 0.1}}
            metrics: {c: "x.capability"}
        """,
        "p.lua": 'function decide(me, world) me:act("support", "x") end\n',
    }) as case:
        code, _, err = case.run("run", "s.yaml", "-o", "o", "--quiet")
        assert code == 3, (code, err)
        assert "support" in err and "p:x" in err, err


def test_model_talks_declares_ceasefire_and_logs_cameo():
    # A fully credible mediator fully biased toward both parties (so its
    # information moves each: Kydd 2003) with willing parties (hardline 0,
    # tension 0): pi = talks_rate = 1, so two rounds at talks_step 0.5 declare a ceasefire
    # on both hostility relations (CAMEO 0871) and the mediator counts its talks.
    with helpers.Case({
        "s.yaml": """
            scenario: s
            experiment: {ticks: 3, runs: 1}
            model: {talks_step: 0.5}
            actors:
              m: {role: mediator, attrs: {credibility: 1, leverage: 0, talks_held: 0}, policy: m.lua}
              a: {role: proxy, attrs: {hardline: 0}}
              b: {role: state, attrs: {resolve: 0}}
            relations:
              - {from: m, to: a, kind: contact, attrs: {bias: 1}}
              - {from: m, to: b, kind: contact, attrs: {bias: 1}}
              - {from: a, to: b, kind: hostility, attrs: {tension: 0, ceasefire: 0, progress: 0, imposed: 0}}
              - {from: b, to: a, kind: hostility, attrs: {tension: 0, ceasefire: 0, progress: 0}}
            metrics:
              cf: "rel('a','b').ceasefire + rel('b','a').ceasefire"
              talks: "m.talks_held"
              imposed: "rel('a','b').imposed"
        """,
        "m.lua": 'function decide(me, world) me:act("talks", "a", {with = "b"}) end\n',
    }) as case:
        code, _, err = case.run("run", "s.yaml", "-o", "o", "--quiet", "--events", "--series", "all")
        assert code == 0, err
        series = case.csv("o", "series.csv")
        assert [float(r["cf"]) for r in series] == [0, 0, 2, 2], series
        assert float(series[-1]["talks"]) == 3
        assert float(series[-1]["imposed"]) == 0     # no leverage: nothing imposed
        cameos = [e["cameo"] for e in case.csv("o", "events.csv")]
        assert cameos == ["045", "0871", "045"], cameos


def test_model_talks_and_bargain_success_probability_formula():
    # The value of a talks or bargain event is its round's success probability
    # pi (docs/model.md, talks), which must equal the formula computed here
    # independently: h_A = 0.5, h_B = 0.2, tension 0.4 both ways, delta = 0.3;
    # the mediator has credibility 0.8, leverage 0.1, bias +0.5 toward A and
    # -0.2 toward B, and trust_building is 0.5.
    delta, drag = 0.3, 1 - 0.5 * 0.4
    cred, lev, tb, bias = 0.8, 0.1, 0.5, {"a": 0.5, "b": -0.2}
    open_ = {"a": 0.5, "b": 0.8}
    honest = 1 - max(abs(v) for v in bias.values())
    w = {}
    for x in "ab":
        k = cred * max(0, bias[x])
        t = cred * tb * honest
        w[x] = open_[x] * (1 - (1 - delta) * (1 - k) * (1 - t) * (1 - lev))
    pi_talks = w["a"] * w["b"] * drag
    pi_bargain = open_["a"] * delta * open_["b"] * delta * drag
    with helpers.Case({
        "s.yaml": """
            scenario: s
            experiment: {ticks: 1, runs: 1}
            model: {trust_building: 0.5, direct_acceptance: 0.3}
            actors:
              m: {role: mediator, attrs: {credibility: 0.8, leverage: 0.1, talks_held: 0}, policy: m.lua}
              a: {role: proxy, attrs: {hardline: 0.5}, policy: a.lua}
              b: {role: state, attrs: {resolve: 0.2}}
            relations:
              - {from: m, to: a, kind: contact, attrs: {bias: 0.5}}
              - {from: m, to: b, kind: contact, attrs: {bias: -0.2}}
              - {from: a, to: b, kind: hostility, attrs: {tension: 0.4, ceasefire: 0, progress: 0}}
              - {from: b, to: a, kind: hostility, attrs: {tension: 0.4, ceasefire: 0, progress: 0}}
            metrics: {t: "m.talks_held"}
        """,
        "m.lua": 'function decide(me, world) me:act("talks", "a", {with = "b"}) end\n',
        "a.lua": 'function decide(me, world) me:act("bargain", "b") end\n',
    }) as case:
        helpers.run_ok(case, "run", "s.yaml", "-o", "o", "--events", "--series", "none")
        ev = {e["action"]: e for e in case.csv("o", "events.csv")}
        assert abs(float(ev["talks"]["value"]) - pi_talks) < 1e-12, (ev["talks"], pi_talks)
        assert abs(float(ev["bargain"]["value"]) - pi_bargain) < 1e-12, (ev["bargain"], pi_bargain)
        assert ev["bargain"]["cameo"] == "046", ev["bargain"]


def test_model_bargain_needs_a_hostility_relation():
    with helpers.Case({
        "s.yaml": """
            scenario: s
            experiment: {ticks: 1, runs: 1}
            actors:
              a: {role: state, attrs: {resolve: 0}, policy: a.lua}
              b: {role: state, attrs: {resolve: 0}}
            metrics: {r: "a.resolve"}
        """,
        "a.lua": 'function decide(me, world) me:act("bargain", "b") end\n',
    }) as case:
        code, _, err = case.run("run", "s.yaml", "-o", "o", "--quiet")
        assert code == 3, (code, err)
        assert "bargain by 'a': neither a:b nor b:a has attribute 'ceasefire'" in err, err


def test_model_imposed_share_formula():
    # With leverage 1 and willing parties the round succeeds for certain
    # (pi = 1) and declares a ceasefire; `imposed` must be the leverage share
    # phi = mean_X L (1 - delta)(1 - k_X) / m_X: k_a = 0.5 * 1, k_b = 0,
    # m = 1, delta = 0.3, so phi = (0.7 * 0.5 + 0.7) / 2 = 0.525.
    with helpers.Case({
        "s.yaml": """
            scenario: s
            experiment: {ticks: 1, runs: 1}
            actors:
              m: {role: mediator, attrs: {credibility: 0.5, leverage: 1, talks_held: 0}, policy: m.lua}
              a: {role: proxy, attrs: {hardline: 0}}
              b: {role: state, attrs: {resolve: 0}}
            relations:
              - {from: m, to: a, kind: contact, attrs: {bias: 1}}
              - {from: a, to: b, kind: hostility, attrs: {tension: 0, ceasefire: 0, imposed: 0}}
              - {from: b, to: a, kind: hostility, attrs: {tension: 0, ceasefire: 0, imposed: 0}}
            metrics: {imposed: "rel('b','a').imposed", cf: "rel('a','b').ceasefire"}
        """,
        "m.lua": 'function decide(me, world) me:act("talks", "a", {with = "b"}) end\n',
    }) as case:
        helpers.run_ok(case, "run", "s.yaml", "-o", "o", "--series", "none")
        row = case.csv("o", "runs.csv")[0]
        assert float(row["cf"]) == 1, row
        assert abs(float(row["imposed"]) - 0.525) < 1e-12, row
