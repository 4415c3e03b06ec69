"""Calibration (docs/calibration.md): ABC-SMC against an exact posterior,
simulation-based calibration (of a coin and of the doha model), recovery of
a known truth on doha, reproducibility for any -j and after an interrupt,
run --posterior, events_count(), and the errors of bad input."""
import csv, math, os, signal, statistics, subprocess, time

import helpers
from helpers import Case, run_ok

# A coin flipped once a tick for 20 ticks: the number of heads is
# Binomial(20, p). With p ~ U(0, 1) and 14 heads observed, the posterior is
# Beta(15, 7): mean 15/22, sd sqrt(15 * 7 / (22^2 * 23)) = 0.0971.
COIN = """
scenario: coin
experiment: {ticks: 20, runs: 1, seed: 3}
actors:
  coin:
    role: state
    attrs:
      p: {value: 0.5, min: 0, max: 1}
      heads: 0
    policy: coin.lua
metrics:
  heads: "coin.heads"
calibrate:
  particles: PARTICLES
  generations: 10
  tolerance: {final: 0}
  params:
    coin.p: {min: 0, max: 1}
  summaries:
    successes: "coin.heads"
  observed: {successes: OBSERVED}
"""
COIN_LUA = """
function decide(me, world)
  if rng.bernoulli(me.p) then me.heads = me.heads + 1 end
end
"""


def coin(particles, observed=14):
    return {"coin.yaml": COIN.replace("PARTICLES", str(particles)).replace("OBSERVED", str(observed)),
            "coin.lua": COIN_LUA}


def final_population(c, out):
    rows = c.csv(out, "posterior.csv")
    last = max(int(r["generation"]) for r in rows)
    return [r for r in rows if int(r["generation"]) == last]


def weighted_mean_sd(rows, col):
    w = [float(r["weight"]) for r in rows]
    x = [float(r[col]) for r in rows]
    m = sum(a * b for a, b in zip(w, x)) / sum(w)
    v = sum(a * (b - m) ** 2 for a, b in zip(w, x)) / sum(w)
    return m, math.sqrt(v)


def test_exact_posterior_of_a_binomial_with_a_uniform_prior():
    if helpers.sanitized():
        helpers.skip("2000 particles over five generations take minutes under the sanitizers")
    with Case(coin(2000)) as c:
        run_ok(c, "calibrate", "coin.yaml", "-o", "out")
        gens = c.csv("out", "calibration.csv")
        assert float(gens[-1]["tolerance"]) == 0, gens     # the last generation matched exactly
        last = final_population(c, "out")
        assert len(last) == 2000
        for r in last:                                      # tolerance 0: every particle saw 14
            assert float(r["successes"]) == 14 and float(r["distance"]) == 0
        mean, sd = weighted_mean_sd(last, "coin.p")
        assert abs(mean - 15 / 22) < 0.02, mean
        assert abs(sd - math.sqrt(15 * 7 / (22 ** 2 * 23))) < 0.015, sd
        # the bookkeeping: ESS at most N, acceptance = particles / simulations
        for g in gens:
            assert 0 < float(g["ess"]) <= 2000 + 1e-6
            assert abs(float(g["acceptance_rate"]) - 2000 / int(g["simulations"])) < 1e-12


def test_same_posterior_for_any_thread_count_and_after_an_interrupt():
    with Case(coin(150)) as c:
        run_ok(c, "calibrate", "coin.yaml", "-o", "one", "-j", "1")
        run_ok(c, "calibrate", "coin.yaml", "-o", "two", "-j", "2")
        for f in ("posterior.csv", "calibration.csv", "manifest.yaml"):
            a, b = c.bytes("one", f), c.bytes("two", f)
            if f == "manifest.yaml":   # the paths differ by the folder only
                a, b = a.replace(b"one", b"X"), b.replace(b"two", b"X")
            assert a == b, f
        # interrupted before generation 3 (the pause makes the place certain)
        env = dict(os.environ, TIGHTROPE_TEST_PAUSE_GENERATION="3")
        p = subprocess.Popen([helpers.binary(), "calibrate", "coin.yaml", "-o", "cut", "-j", "2"],
                             cwd=c.dir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        err = ""
        deadline = time.time() + 300
        while "paused before generation 3" not in err and time.time() < deadline:
            line = p.stderr.readline()
            if not line:
                break
            err += line
        p.send_signal(signal.SIGINT)
        _, rest = p.communicate(timeout=120)
        err += rest
        assert p.returncode == 130, err
        assert "calibration interrupted by SIGINT after 2 generations" in err, err
        assert "--resume" in err
        assert {r["generation"] for r in c.csv("cut", "posterior.csv")} == {"1", "2"}
        run_ok(c, "calibrate", "coin.yaml", "-o", "cut", "-j", "1", "--resume")
        assert c.bytes("cut", "posterior.csv") == c.bytes("one", "posterior.csv")
        assert c.bytes("cut", "calibration.csv") == c.bytes("one", "calibration.csv")
        # another seed is another calibration: --resume refuses to mix them
        rc, _, err = c.run("calibrate", "coin.yaml", "-o", "cut", "-s", "99", "--resume")
        assert rc == 2 and "holds a calibration of another scenario file, seed" in err, err


def ks_uniform_pvalue_ok(us, alpha=0.01):
    """Kolmogorov-Smirnov test of us against U(0,1): True when not rejected
    at level alpha (the exact small-sample critical value is approximated
    by the asymptotic one with Stephens' correction)."""
    n = len(us)
    xs = sorted(us)
    d = max(max((i + 1) / n - x, x - i / n) for i, x in enumerate(xs))
    c_alpha = math.sqrt(-0.5 * math.log(alpha / 2))
    return d * (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) <= c_alpha, d


def test_simulation_based_calibration_of_the_coin():
    """Talts et al. (2018): draw the truth from the prior, simulate data,
    calibrate; the truth's posterior quantile is uniform when the posterior
    is right. 20 replications; KS at 1%."""
    if helpers.sanitized():
        helpers.skip("20 calibrations take minutes under the sanitizers")
    import random
    rng = random.Random(2024)
    quantiles = []
    for rep in range(20):
        truth = rng.random()
        heads = sum(rng.random() < truth for _ in range(20))
        with Case(coin(200, heads)) as c:
            run_ok(c, "calibrate", "coin.yaml", "-o", "out", "-s", str(rep + 1))
            last = final_population(c, "out")
            below = sum(float(r["weight"]) for r in last if float(r["coin.p"]) < truth)
            quantiles.append(below / sum(float(r["weight"]) for r in last))
    ok, d = ks_uniform_pvalue_ok(quantiles)
    assert ok, (d, sorted(quantiles))


# The flagship model itself, over its own two-year horizon, calibrating the
# two parameters scenarios/doha_calibrate.yaml calibrates: Hamas's hardline
# share and Qatar's credibility. The summaries are the ones that move most
# with hardline (docs/calibration.md, "Checked on the flagship model", has
# the sensitivity table): armed attacks (CAMEO 19x) in the first and the
# second half-year, ceasefires declared (0871), and the Israel-Hamas tension
# and Washington's tolerance of Doha at the end of the run. No output of
# doha moves with credibility by more than a fifth of its run-to-run sd over
# the whole prior, so credibility's posterior must stay about as wide as
# its prior -- and still cover the truth.
DOHA_OBSERVED = """
extends: DOHA
scenario: doha-observed
metrics:
  attacks_h1: "events_count('19', 1, 26)"
  attacks_h2: "events_count('19', 27, 52)"
  ceasefires: "events_count('0871')"
"""
DOHA_CALIBRATE = """
extends: doha-observed.yaml
scenario: doha-observed-calibrate
calibrate:
  particles: PARTICLES
  generations: GENERATIONS
  alpha: 0.5
  params:
    hamas.hardline: {min: 0.2, max: 0.9}
    qatar.credibility: {min: 0.2, max: 0.9}
  summaries:
    a1: "attacks_h1"
    a2: "attacks_h2"
    cf: "ceasefires"
    tension_end: "tension"
    patience: "tolerance"
  observed: observed.csv
"""
DOHA_PRIORS = {"hamas.hardline": (0.2, 0.9), "qatar.credibility": (0.2, 0.9)}
PARTICLES_R, GENERATIONS_R = 100, 4     # the recovery: about 3,600 runs
PARTICLES_S, GENERATIONS_S = 50, 4      # each of the 20 coverage calibrations: about 1,400 runs
RECOVERY_HARDLINE = 0.9      # hardline's 90% interval / the prior's, at most (measured 0.80)
RECOVERY_CREDIBILITY = 0.8   # credibility's, at least (measured 1.05: the prior's)
DOHA_SUMMARIES = {"a1": "attacks_h1", "a2": "attacks_h2", "cf": "ceasefires",
                  "tension_end": "tension", "patience": "tolerance"}


def doha_calibration(particles, generations):
    return {"doha-observed.yaml": DOHA_OBSERVED.replace("DOHA", helpers.scenario_path("doha.yaml")),
            "calibrate.yaml": DOHA_CALIBRATE.replace("PARTICLES", str(particles))
            .replace("GENERATIONS", str(generations)),
            "novariants.yaml": "variants: {}\n"}


def simulate_observed(c, truth, seed):
    """Run doha once at the truth (--set) and write the summaries, read
    from the baseline's row of runs.csv, as the observed file."""
    sets = [a for path, v in truth.items() for a in ("--set", f"{path}={v!r}")]
    run_ok(c, "run", "doha-observed.yaml", "-n", "1", "-s", str(seed), "-o", f"truth{seed}", "--series", "none",
           "--variants", "novariants.yaml", *sets)
    row = [r for r in c.csv(f"truth{seed}", "runs.csv") if r["variant"] == "baseline"][0]
    c.write("observed.csv", ",".join(DOHA_SUMMARIES) + "\n"
            + ",".join(row[m] for m in DOHA_SUMMARIES.values()) + "\n")
    return row


def weighted_quantile(rows, col, p):
    """The smallest particle value whose cumulative weight reaches p."""
    xs = sorted((float(r[col]), float(r["weight"])) for r in rows)
    total, acc = sum(w for _, w in xs), 0.0
    for x, w in xs:
        acc += w
        if acc >= p * total * (1 - 1e-12):
            return x
    return xs[-1][0]


def interval_ratio(rows, path):
    """The final population's 90% interval and its width over the prior's
    90% width (uniform prior: 0.9 of its range)."""
    lo, hi = weighted_quantile(rows, path, 0.05), weighted_quantile(rows, path, 0.95)
    pmin, pmax = DOHA_PRIORS[path]
    return lo, hi, (hi - lo) / (0.9 * (pmax - pmin))


def test_doha_recovers_a_known_hardline_and_keeps_credibility_open():
    """Synthetic data from doha at a known (hardline 0.7, credibility 0.4):
    the truth lies in the final population's 90% interval for both
    parameters; hardline's interval is at most RECOVERY_HARDLINE of the
    prior's 90% width, and credibility's, which no doha output informs, at
    least RECOVERY_CREDIBILITY of it (a posterior that narrowed it would
    claim what the data cannot say). Measured figures in
    docs/calibration.md. Over the choice of seeds a right posterior
    misses a truth with its 90% interval with probability 10% per
    parameter, so this one data set is a worked check, not a test at 1%:
    the coverage study below is that test (false failure <= 0.98%). Fixed
    seeds: the run is the same on every machine, so it cannot flake; the
    margins on the ratios keep it from resting on one lucky draw."""
    if helpers.sanitized():
        helpers.skip("a calibration of doha (thousands of runs) takes minutes under the sanitizers")
    truth = {"hamas.hardline": 0.7, "qatar.credibility": 0.4}
    with Case(doha_calibration(PARTICLES_R, GENERATIONS_R)) as c:
        simulate_observed(c, truth, 11)
        run_ok(c, "calibrate", "calibrate.yaml", "-o", "cal", "-s", "5", "-j", "2")
        last = final_population(c, "cal")
        assert len(last) == PARTICLES_R
        for path in DOHA_PRIORS:
            lo, hi, ratio = interval_ratio(last, path)
            assert lo <= truth[path] <= hi, (path, lo, hi)
            if path == "hamas.hardline":
                assert ratio <= RECOVERY_HARDLINE, (path, lo, hi, ratio)
            else:
                assert ratio >= RECOVERY_CREDIBILITY, (path, lo, hi, ratio)


def binomial_lower_quantile(n, p, alpha):
    """The largest k with P(X < k) <= alpha, X ~ Binomial(n, p): a count
    below k rejects coverage p at level alpha."""
    k = 0
    while 1 - helpers.binom_tail_ge(k + 1, n, p) <= alpha:
        k += 1
    return k


def test_simulation_based_calibration_of_doha():
    """Talts et al. (2018) on doha's (hardline, credibility): 20 truths
    drawn from the prior, data simulated at each, a calibration of each.
    When the posterior is right, the number of truths inside their 90%
    intervals is Binomial(20, 0.9) for each parameter and the truths'
    posterior quantiles (ranks) are U(0, 1). The test needs at least k
    truths inside, k the exact binomial 1% lower quantile (the largest k
    with P(X < k) <= 1%: k = 14, P(X < 14) = 0.24%), and the
    Kolmogorov-Smirnov test of each parameter's quantiles not to reject at
    0.25% (critical value from the asymptotic law with Stephens'
    correction). Over two parameters the chance that a right posterior
    fails is at most 2 x 0.24% + 2 x 0.25% = 0.98% (ABC's tolerance widens
    the posterior, which only raises the coverage). Then what the data
    say: the median over the 20 of hardline's 90% interval is at most
    RECOVERY_HARDLINE of the prior's 90% width (measured 0.81), and of
    credibility's at least RECOVERY_CREDIBILITY (measured 1.00): these two
    are measured figures with a margin, not tests of a right posterior.
    Seeds are fixed, so the outcome is the same on every run: it cannot
    flake."""
    if helpers.sanitized():
        helpers.skip("20 calibrations of doha take many minutes under the sanitizers")
    import random
    rng = random.Random(19)
    inside = {p: 0 for p in DOHA_PRIORS}
    quantiles = {p: [] for p in DOHA_PRIORS}
    ratios = {p: [] for p in DOHA_PRIORS}
    for rep in range(20):
        truth = {p: lo + (hi - lo) * rng.random() for p, (lo, hi) in DOHA_PRIORS.items()}
        with Case(doha_calibration(PARTICLES_S, GENERATIONS_S)) as c:
            simulate_observed(c, truth, 100 + rep)
            run_ok(c, "calibrate", "calibrate.yaml", "-o", "cal", "-s", str(rep + 1), "-j", "2")
            last = final_population(c, "cal")
            for p in DOHA_PRIORS:
                lo, hi, ratio = interval_ratio(last, p)
                inside[p] += lo <= truth[p] <= hi
                ratios[p].append(ratio)
                below = sum(float(r["weight"]) for r in last if float(r[p]) < truth[p])
                quantiles[p].append(below / sum(float(r["weight"]) for r in last))
    k = binomial_lower_quantile(20, 0.9, 0.01)
    assert k == 14, k
    for p in DOHA_PRIORS:
        assert inside[p] >= k, (p, inside[p], sorted(quantiles[p]))
        ok, d = ks_uniform_pvalue_ok(quantiles[p], alpha=0.0025)
        assert ok, (p, d, sorted(quantiles[p]))
    # what the data say, over the 20 data sets rather than one: hardline
    # narrowed, credibility left as wide as its prior (medians of the ratios)
    assert statistics.median(ratios["hamas.hardline"]) <= RECOVERY_HARDLINE, ratios
    assert statistics.median(ratios["qatar.credibility"]) >= RECOVERY_CREDIBILITY, ratios


def test_events_count_counts_by_cameo_root_and_window():
    yaml = """
        scenario: ev
        experiment: {ticks: 10, runs: 1, seed: 1}
        actors:
          a: {role: state, attrs: {x: 0}}
        events:
          - {name: clash, every: 2, add: {a.x: 1}, cameo: "190"}
          - {name: shelling, every: 5, add: {a.x: 1}, cameo: "194"}
          - {name: talk, every: 1, add: {a.x: 0}, cameo: "040"}
        metrics:
          fights: "events_count('19')"
          clashes: "events_count('190')"
          early: "events_count('19', 1, 4)"
          talks: "events_count('04')"
        """
    with Case({"ev.yaml": yaml}) as c:
        run_ok(c, "run", "ev.yaml", "-o", "out", "--series", "all")
        for r in c.csv("out", "series.csv"):
            t = int(r["tick"])
            assert int(r["fights"]) == t // 2 + t // 5, r
            assert int(r["clashes"]) == t // 2
            assert int(r["early"]) == min(t, 4) // 2 + min(t, 4) // 5
            assert int(r["talks"]) == t


def test_run_with_the_posterior_draws_each_runs_parameters_from_it():
    with Case(coin(150)) as c:
        run_ok(c, "calibrate", "coin.yaml", "-o", "cal")
        last = final_population(c, "cal")
        ps = {float(r["coin.p"]) for r in last}
        run_ok(c, "run", "coin.yaml", "-n", "60", "-o", "a", "--posterior", "cal/posterior.csv", "--series", "none")
        run_ok(c, "run", "coin.yaml", "-n", "60", "-o", "b", "--posterior", "cal/posterior.csv", "--series", "none",
               "-j", "1")
        assert c.bytes("a", "runs.csv") == c.bytes("b", "runs.csv")
        # replay draws the run's particle again: the replayed row is the recorded one
        for run in (1, 37):
            rc, out, err = c.run("replay", "a", "--run", run)
            assert rc == 0 and "matches" in out, (run, out[-400:], err)
        manifest = open(c.path("a", "manifest.yaml")).read()
        assert "posterior:" in manifest and "sha256:" in manifest.split("posterior:")[1]
        # each run's p is a particle of the final generation; draw it again
        # through a metric reading coin.p
        text = open(c.path("coin.yaml")).read().replace('  heads: "coin.heads"\n',
                                                      '  heads: "coin.heads"\n  p: "coin.p"\n')
        c.write("coin.yaml", text)
        run_ok(c, "run", "coin.yaml", "-n", "60", "-o", "c", "--posterior", "cal/posterior.csv", "--series", "none")
        drawn = [float(r["p"]) for r in c.csv("c", "runs.csv")]
        assert all(p in ps for p in drawn) and len(set(drawn)) > 20, drawn[:10]
        # a what-if on a drawn parameter: a variant's set replaces the
        # particle, its add shifts it, a sweep's value stays the point's
        c.write("variants.yaml", "variants:\n  fair: {set: {coin.p: 0.5}}\n  lower: {add: {coin.p: -0.1}}\n")
        run_ok(c, "run", "coin.yaml", "-n", "60", "-o", "v", "--posterior", "cal/posterior.csv", "--series", "none",
               "--variants", "variants.yaml")
        rows = c.csv("v", "runs.csv")
        base = {r["run"]: float(r["p"]) for r in rows if r["variant"] == "baseline"}
        assert [base[str(r)] for r in range(1, 61)] == drawn
        for r in rows:
            if r["variant"] == "fair":
                assert float(r["p"]) == 0.5, r
            elif r["variant"] == "lower":
                assert abs(float(r["p"]) - (base[r["run"]] - 0.1)) < 1e-12, r
        assert {r["variant"] for r in rows} == {"baseline", "fair", "lower"}
        c.write("sweep.yaml", "sweep:\n  params:\n    coin.p: [0.2, 0.3]\n")
        run_ok(c, "run", "coin.yaml", "-n", "10", "-o", "s", "--posterior", "cal/posterior.csv", "--series", "none",
               "--sweep", "sweep.yaml")
        for r in c.csv("s", "runs.csv"):
            assert float(r["p"]) == (0.2 if r["point"] == "1" else 0.3), r
        # --set changes the baseline, which the posterior replaces: said, not silent
        rc, _, err = c.run("run", "coin.yaml", "-n", "5", "-o", "w", "--posterior", "cal/posterior.csv",
                           "--set", "coin.p=0.3", "--quiet")
        assert rc == 0 and ("warning: --set coin.p=0.3: the posterior draws 'coin.p' for every run, which "
                            "replaces this value, so the --set does nothing") in err, err
        # a posterior of another scenario is refused before any run
        c.write("other.yaml", COIN.replace("scenario: coin", "scenario: other").replace("PARTICLES", "50")
                .replace("OBSERVED", "3"))
        rc, _, err = c.run("run", "other.yaml", "-n", "5", "-o", "d", "--posterior", "cal/posterior.csv")
        assert rc == 1 and "this posterior calibrated scenario 'coin'" in err, err
        rc, _, err = c.run("check", "other.yaml", "--posterior", "cal/posterior.csv")
        assert rc == 1 and "this posterior calibrated scenario 'coin'" in err, err


def test_bad_calibrate_blocks_are_errors_at_check_time():
    base = COIN.replace("PARTICLES", "100").replace("OBSERVED", "14")
    cases = [
        (base.replace('successes: "coin.heads"', "successes: [1, 2]"),
         "coin.yaml:19:16: error: summary 'successes' needs an expression (a string), got a list"),
        (base.replace("observed: {successes: 14}", "observed: {successes: 14, sucesses: 3}"),
         "coin.yaml:20:29: error: observed 'sucesses' has no summary of that name (did you mean 'successes'?)"),
        (base.replace("coin.p: {min: 0, max: 1}", "coin.p: {min: 0, max: 2}"),
         "coin.yaml:17:13: error: the prior of 'coin.p' reaches outside the attribute's bounds [0, 1]"),
        (base.replace("coin.p: {min: 0, max: 1}", "coin.q: {min: 0, max: 1}"),
         "coin.yaml:17:5: error: actor 'coin' has no attribute 'q'"),
        (base.replace('successes: "coin.heads"', 'successes: "coin.hedas"'),
         "coin.yaml:19:22: error: summary 'successes': actor 'coin' has no attribute 'hedas' (did you mean 'heads'?)"),
        (base.replace("observed: {successes: 14}", ""),
         "error: calibrate needs 'observed'"),
    ]
    for text, want in cases:
        with Case({"coin.yaml": text, "coin.lua": COIN_LUA}) as c:
            rc, _, err = c.run("check", "coin.yaml")
            assert rc == 1 and want in err, f"wanted {want!r}, got:\n{err}"


def test_report_of_a_calibration_draws_marginals_and_pairs():
    import shutil
    if not shutil.which("gnuplot"):
        helpers.skip("gnuplot is not installed")
    two = COIN.replace("PARTICLES", "100").replace("OBSERVED", "14").replace(
        "    coin.p: {min: 0, max: 1}\n", "    coin.p: {min: 0, max: 1}\n    coin.heads: {min: 0, max: 3}\n")
    two = two.replace("tolerance: {final: 0}", "tolerance: {final: 2}")
    with Case({"coin.yaml": two, "coin.lua": COIN_LUA}) as c:
        run_ok(c, "calibrate", "coin.yaml", "-o", "cal")
        run_ok(c, "report", "cal", quiet=False)
        files = sorted(os.listdir(c.path("cal", "report")))
        assert files == ["index.html", "marginal-1.dat", "marginal-1.svg", "marginal-2.dat",
                         "marginal-2.svg", "pair-1-2.dat", "pair-1-2.svg"], files
        gens = len(c.csv("cal", "calibration.csv"))
        for j in (1, 2):   # every generation's density integrates to 1 over the prior's range
            rows = [list(map(float, l.split())) for l in open(c.path("cal", "report", f"marginal-{j}.dat"))
                    if not l.startswith("#")]
            width = rows[1][0] - rows[0][0]
            assert len(rows[0]) == gens + 1
            for g in range(1, gens + 1):
                assert abs(sum(r[g] for r in rows) * width - 1) < 1e-9
        # bins span coin.p's prior range [0, 1]: centres 1/60 .. 59/60
        xs = [float(l.split()[0]) for l in open(c.path("cal", "report", "marginal-1.dat")) if not l.startswith("#")]
        assert abs(xs[0] - 1 / 60) < 1e-12 and abs(xs[-1] - 59 / 60) < 1e-12
        pairs = [l for l in open(c.path("cal", "report", "pair-1-2.dat")) if not l.startswith("#")]
        assert len(pairs) == 100
        page = open(c.path("cal", "report", "index.html")).read()
        assert 'alt="Weighted density of coin.p' in page and "<code>coin.heads</code>" in page


def test_same_posterior_for_any_mpi_rank_count():
    import test_mpi as mpi
    mpi.mpi_binary()        # skips (with the reason) without an MPI build
    with Case(coin(100)) as c:
        run_ok(c, "calibrate", "coin.yaml", "-o", "one", "-j", "1")
        for ranks in (2, 3):
            rc, _, err = mpi.mpirun(c, ranks, "calibrate", "coin.yaml", "-o", f"mpi{ranks}", "-j", "1", "--quiet")
            assert rc == 0, err[-800:]
            assert c.bytes(f"mpi{ranks}", "posterior.csv") == c.bytes("one", "posterior.csv"), ranks
            assert c.bytes(f"mpi{ranks}", "calibration.csv") == c.bytes("one", "calibration.csv"), ranks
