"""Authoring tools: the JSON Schema of the scenario format, the LuaLS
annotations, luacheck, the man pages, bash completion and `tightrope new`
(docs/user-guide.md, "Editors and tools")."""
import glob, json, os, re, shutil, subprocess, textwrap

import helpers
from helpers import ROOT, Case, run_ok

SCHEMA = os.path.join(ROOT, "share", "schema", "scenario.schema.json")
DEBIAN_PY = "/usr/bin/python3"   # Debian's python3-jsonschema lives there


def _validate(docs):
    """Validate YAML texts against the schema with Debian's python3 and
    python3-jsonschema; returns one list of error messages per text."""
    if not os.path.exists(DEBIAN_PY):
        helpers.skip("no /usr/bin/python3")
    prog = r"""
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
v = jsonschema.Draft7Validator(schema)
out = []
for text in json.load(sys.stdin):
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        out.append(["yaml: " + str(e)]); continue
    out.append(sorted(e.message for e in v.iter_errors(doc)))
print(json.dumps(out))
"""
    p = subprocess.run([DEBIAN_PY, "-c", prog, SCHEMA], input=json.dumps(docs),
                       capture_output=True, text=True, timeout=120)
    if "No module named 'jsonschema'" in p.stderr or "No module named 'yaml'" in p.stderr:
        helpers.skip("python3-jsonschema or python3-yaml is not installed (make test installs them)")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def _doc_scenarios():
    """(file, text) of every YAML block in docs/ that is a whole scenario."""
    found = []
    for md in sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))):
        text = open(md, encoding="utf-8").read()
        for m in re.finditer(r"```yaml\n(.*?)```", text, re.S):
            if re.search(r"^scenario: ", m.group(1), re.M):
                found.append((md, m.group(1)))
    return found


def test_schema_accepts_every_bundled_scenario_and_every_docs_scenario_check_accepts():
    files = sorted(glob.glob(os.path.join(ROOT, "scenarios", "*.yaml")))
    texts = [open(f, encoding="utf-8").read() for f in files]
    names = [os.path.relpath(f, ROOT) for f in files]
    # docs scenarios: those tightrope check accepts but for the scripts they
    # name, which the docs do not ship (the docs also show broken ones)
    with Case() as c:
        for i, (md, text) in enumerate(_doc_scenarios()):
            path = c.write(f"doc{i}.yaml", text)
            rc, _, err = c.run("check", path)
            errors = [ln for ln in err.splitlines() if ": error: " in ln]
            if rc == 0 or all("not found (looked in" in ln for ln in errors):
                texts.append(text)
                names.append(f"{os.path.relpath(md, ROOT)} block {i}")
    assert len(files) >= 8 and len(texts) > len(files), names
    for name, errs in zip(names, _validate(texts)):
        assert errs == [], f"{name}: {errs}"


def test_schema_rejects_crafted_invalid_scenarios():
    base = "scenario: s\nactors:\n  a: {role: state, attrs: {x: 1}}\n"
    cases = {
        "actros:\n  a: {role: state}\nscenario: s\n": "'actros' was unexpected",
        "scenario: Bad Id\n": "does not match",
        base + "experiment: {runs: 0}\n": "less than the minimum of 1",
        base + "experiment: {tiks: 3}\n": "'tiks' was unexpected",
        "scenario: s\nactors:\n  a: {attrs: {x: 1}}\n": "'role' is a required property",
        base + "events:\n  - {name: e, at: 2, every: 3}\n": "is not valid under any of the given schemas",
        base + "sweep: {method: grdi}\n": "is not one of",
        base + "actions:\n  go: {script: go.lua, cameo: 12345678}\n": "is not of type 'string'",
        base + "variants:\n  baseline: {set: {a.x: 2}}\n": "should not be valid",
        base + "limits: {memory_mb: \"256\"}\n": "is not of type 'integer'",
    }
    results = _validate(list(cases))
    for (text, want), errs in zip(cases.items(), results):
        assert any(want in e for e in errs), f"{text!r}: wanted {want!r}, got {errs}"


def test_every_schema_key_is_documented_and_every_scenario_names_the_schema():
    schema = json.load(open(SCHEMA))
    keys = set(schema["properties"]) - {"$schema"}
    for d in schema["definitions"].values():
        keys |= set(d.get("properties", {}))
        for alt in d.get("oneOf", []):
            keys |= set(alt.get("properties", {}))
    doc = "".join(open(os.path.join(ROOT, "docs", name), encoding="utf-8").read()
                  for name in ("scenario-format.md", "calibration.md"))
    missing = sorted(k for k in keys if f"`{k}" not in doc)
    assert not missing, f"schema keys in neither docs/scenario-format.md nor docs/calibration.md: {missing}"
    for f in glob.glob(os.path.join(ROOT, "scenarios", "*.yaml")):
        first = open(f, encoding="utf-8").readline()
        assert first.startswith("# yaml-language-server: $schema=../share/schema/scenario.schema.json"), f


def test_luals_annotations_cover_the_lua_api():
    meta = open(os.path.join(ROOT, "share", "lua", "tightrope.lua"), encoding="utf-8").read()
    assert meta.startswith("---@meta")
    api = open(os.path.join(ROOT, "docs", "lua-api.md"), encoding="utf-8").read()
    world = set(re.findall(r"`world:([a-z_]+)\(", api))
    rng = set(re.findall(r"`rng\.([a-z_]+)\(", api))
    assert {"actor", "actors", "rel", "set", "has"} <= world and {"uniform", "choice"} <= rng
    for f in sorted(world):
        assert f"function World:{f}(" in meta, f"world:{f} is not annotated"
    for f in sorted(rng):
        assert f"function rng.{f}(" in meta, f"rng.{f} is not annotated"
    for f in ("decide", "init", "apply"):
        assert f"function {f}(" in meta


def _luacheck():
    exe = shutil.which("luacheck")
    if not exe:
        helpers.skip("luacheck is not installed (make test installs lua-check)")
    return exe


def test_luacheck_is_clean_on_every_bundled_script():
    exe = _luacheck()
    scripts = sorted(glob.glob(os.path.join(ROOT, "scripts", "**", "*.lua"), recursive=True)
                     + glob.glob(os.path.join(ROOT, "scenarios", "**", "*.lua"), recursive=True))
    assert len(scripts) >= 6
    p = subprocess.run([exe, "--no-color", "--codes", *scripts], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout[-2000:]


def test_luacheck_config_flags_what_the_sandbox_forbids():
    exe = _luacheck()
    with Case({"bad.lua": "function decide(me, world)\n  local f = io.open('x')\n  me.y = rng.unifrom()\nend\n"}) as c:
        p = subprocess.run([exe, "--no-color", "--codes", "--config", os.path.join(ROOT, ".luacheckrc"),
                            c.path("bad.lua")], capture_output=True, text=True)
    assert p.returncode != 0
    assert "accessing undefined variable 'io'" in p.stdout, p.stdout
    assert "accessing undefined field 'unifrom' of global 'rng'" in p.stdout, p.stdout


def _man(page):
    path = os.path.join(os.path.dirname(helpers.binary()), "man", page)
    if not os.path.exists(path):
        helpers.skip(f"{path} was not built (make builds the man pages)")
    return path


def test_man_pages_are_lint_clean():
    if not shutil.which("mandoc"):
        helpers.skip("mandoc is not installed (make test installs it)")
    for page in ("tightrope.1", "tightrope-scenario.5"):
        p = subprocess.run(["mandoc", "-T", "lint", _man(page)], capture_output=True, text=True)
        assert p.stdout == "" and p.stderr == "", p.stdout + p.stderr


def test_man_page_lists_every_option_and_command_of_help():
    text = open(_man("tightrope.1"), encoding="utf-8").read().replace("\\-", "-")
    rc, usage, _ = Case().run("--help")
    assert rc == 0
    options = set(re.findall(r"(?:^|[\s,\[])(--?[a-z][a-z-]*)", usage))
    commands = set(re.findall(r"tightrope ([a-z]+) ", usage))
    assert {"--runs", "--seed", "--set", "-n"} <= options and {"run", "check", "new"} <= commands
    missing = sorted(o for o in options | commands if o not in text)
    assert not missing, f"in --help but not in tightrope(1): {missing}"
    scen = open(_man("tightrope-scenario.5"), encoding="utf-8").read()
    assert ".SH NAME\ntightrope-scenario \\- the scenario file format" in scen


def _complete(words, cword, cwd=ROOT):
    script = os.path.join(ROOT, "share", "completion", "tightrope.bash")
    prog = ('shopt -s extglob; source "$0"; COMP_WORDS=("$@"); COMP_CWORD=%d; _tightrope; '
            'printf "%%s\\n" "${COMPREPLY[@]}"' % cword)
    env = dict(os.environ, PATH=os.path.dirname(helpers.binary()) + os.pathsep + os.environ["PATH"])
    p = subprocess.run(["bash", "-c", prog, script, os.path.basename(helpers.binary()), *words[1:]],
                       capture_output=True, text=True, cwd=cwd, env=env)
    assert p.returncode == 0, p.stderr
    return sorted(x for x in p.stdout.split("\n") if x)


def test_bash_completion_commands_options_and_variant_names():
    assert _complete(["tightrope", "re"], 1) == ["replay", "report"]
    assert _complete(["tightrope", "run", "x.yaml", "--se"], 3) == ["--seed", "--series", "--set"]
    assert _complete(["tightrope", "run", "x.yaml", "--series", ""], 4) == ["all", "none", "summary"]
    variants = _complete(["tightrope", "run", "scenarios/doha.yaml", "--variant", ""], 4)
    with open(os.path.join(ROOT, "scenarios", "doha.yaml"), encoding="utf-8") as f:
        text = f.read()
    block = text.split("\nvariants:\n", 1)[1]
    expected = sorted(re.findall(r"^  ([a-z][a-z0-9_]*):", block.split("\n\n", 1)[0], re.M))
    assert variants == expected and len(expected) >= 5, (variants, expected)


def test_new_scaffolds_a_scenario_that_checks_and_runs():
    with Case() as c:
        out, _ = run_ok(c, "new", "border-talks", quiet=False)
        assert "border-talks/border-talks.yaml" in out
        files = sorted(os.path.relpath(p, c.path("border-talks"))
                       for p in glob.glob(c.path("border-talks", "**", "*"), recursive=True)
                       if os.path.isfile(p))
        assert files == ["actions/concede.lua", "border-talks.yaml", "policies/negotiator.lua"]
        text = open(c.path("border-talks", "border-talks.yaml")).read()
        for section in ("actors:", "relations:", "actions:", "metrics:", "outcomes:", "variants:"):
            assert "\n" + section in text
        out, _ = run_ok(c, "check", "border-talks/border-talks.yaml", "--strict")
        assert "ok: 2 actors, 1 relations, 2 metrics, 2 outcomes, 1 variants" in out
        run_ok(c, "run", "border-talks/border-talks.yaml", "-n", "20", "-o", "out")
        rows = c.csv("out", "outcomes.csv")
        assert sum(int(r["count"]) for r in rows if r["variant"] == "baseline") == 20
        # never overwrites: a second `new` into the same folder is refused
        rc, _, err = c.run("new", "border-talks")
        assert rc == 4 and "tightrope: error: 'border-talks' is not empty" in err, err
        rc, _, err = c.run("new", "9lives")
        assert rc == 2 and "the folder's name must start with a letter" in err, err


# --- composing scenarios: extends, --sweep FILE, --variants FILE, method: file
BASE = """
scenario: border
experiment: {ticks: 30, runs: 40, seed: 11}
actors:
  north:
    role: state
    attrs: {resolve: {value: 0.6, min: 0, max: 1}}
    policy: policies/drift.lua
    params: {step: 0.05}
  south:
    role: state
    attrs: {resolve: {value: 0.4, min: 0, max: 1}}
relations:
  - {from: north, to: south, kind: hostility, attrs: {tension: {value: 0.5, min: 0, max: 1}}}
metrics:
  tension: "rel('north', 'south').tension"
outcomes:
  calm: "rel('north', 'south').tension <= 0.1"
  war: "rel('north', 'south').tension >= 0.9"
"""
DRIFT = """
function decide(me, world)
  local r = world:rel(me, "south")
  r.tension = r.tension + me.params.step * (rng.uniform() - me.resolve)
end
"""
SWEEP = """
sweep:
  method: grid
  params:
    north.resolve: [0.4, 0.5, 0.6]
    north.params.step: [0.05, 0.1]
"""
VARIANTS = """
variants:
  hard_north: {description: a harder north, set: {north.resolve: 0.3}}
  soft_north: {add: {north.resolve: 0.2}}
"""
RESULT_FILES = ("runs.csv", "outcomes.csv", "finals.csv", "series_summary.csv", "compare.csv",
                "compare_points.csv", "points.csv", "sensitivity.csv")


def _results(c, out):
    got = {}
    for name in RESULT_FILES:
        if os.path.exists(c.path(out, name)):
            got[name] = c.bytes(out, name)
    assert "runs.csv" in got
    return got


def test_extends_gives_the_results_of_the_merged_single_file():
    with Case({"base/base.yaml": BASE, "base/policies/drift.lua": DRIFT,
               "child/tense.yaml": textwrap.dedent("""
                   extends: ../base/base.yaml
                   scenario: tense
                   experiment: {seed: 12}
                   actors:
                     north:
                       attrs: {resolve: {value: 0.3}}
                     east: {role: state, attrs: {x: 1}}
                   metrics:
                     north_resolve: "north.resolve"
                   """) + VARIANTS}) as c:
        merged = BASE.replace("seed: 11", "seed: 12").replace("scenario: border", "scenario: tense") \
            .replace("value: 0.6", "value: 0.3").replace("policies/drift.lua", "base/policies/drift.lua") \
            .replace("\nrelations:", "\n  east: {role: state, attrs: {x: 1}}\nrelations:") \
            .replace("\noutcomes:", "\n  north_resolve: \"north.resolve\"\noutcomes:") + VARIANTS
        c.write("merged.yaml", merged)
        out, _ = run_ok(c, "check", "child/tense.yaml")
        assert "ok: 3 actors, 1 relations, 2 metrics, 2 outcomes, 2 variants" in out
        run_ok(c, "run", "child/tense.yaml", "-o", "a")
        run_ok(c, "run", "merged.yaml", "-o", "b")
        assert _results(c, "a") == _results(c, "b")
        manifest = open(c.path("a", "manifest.yaml")).read()
        assert "files:" in manifest and "base/base.yaml" in manifest
        # an error in the base is reported at its place in the base
        c.write("child/bad.yaml", "extends: ../base/bad.yaml\nscenario: bad\n")
        c.write("base/bad.yaml", BASE.replace("{resolve: {value: 0.4", "{resolve: {value: 4"))
        rc, _, err = c.run("check", "child/bad.yaml")
        assert rc == 1 and "child/../base/bad.yaml:11:30: error: value 4 is outside [0, 1]" in err, err
        # and a name inside a base's expression at its column in the base
        c.write("base/expr.yaml", BASE.replace("tension: \"rel('north', 'south').tension\"",
                                                "tension: \"rel('nrth', 'south').tension\""))
        c.write("child/expr.yaml", "extends: ../base/expr.yaml\nscenario: bad\n")
        rc, _, err = c.run("check", "child/expr.yaml")
        assert rc == 1 and "child/../base/expr.yaml:15:18: error: metric 'tension': unknown actor " \
                           "'nrth'" in err, err


def test_extends_cycles_and_depth_are_refused():
    with Case({"a.yaml": "extends: b.yaml\nscenario: a\n", "b.yaml": "extends: a.yaml\nscenario: b\n",
               "self.yaml": "extends: self.yaml\nscenario: s\n", "d0.yaml": BASE,
               "policies/drift.lua": DRIFT}) as c:
        rc, _, err = c.run("check", "a.yaml")
        assert rc == 1 and "b.yaml:1:10: error: 'extends' makes a cycle: a.yaml -> b.yaml -> a.yaml" in err, err
        rc, _, err = c.run("check", "self.yaml")
        assert rc == 1 and "'extends' makes a cycle: self.yaml -> self.yaml" in err, err
        for i in range(1, 10):
            c.write(f"d{i}.yaml", f"extends: d{i - 1}.yaml\nscenario: d{i}\n")
        run_ok(c, "check", "d8.yaml")            # 8 levels: allowed
        rc, _, err = c.run("check", "d9.yaml")   # 9 levels: refused
        assert rc == 1 and "d1.yaml:1:10: error: 'extends' goes more than 8 levels deep (from d9.yaml)" in err, err


def test_sweep_and_variants_files_give_the_results_of_the_inline_blocks():
    with Case({"s.yaml": BASE, "policies/drift.lua": DRIFT, "inline.yaml": BASE + SWEEP + VARIANTS,
               "sweep.yaml": SWEEP, "variants.yaml": VARIANTS,
               "wrong.yaml": "sweep: {method: grid}\nvariants: {}\n"}) as c:
        run_ok(c, "run", "inline.yaml", "-o", "a")
        run_ok(c, "run", "s.yaml", "--sweep", "sweep.yaml", "--variants", "variants.yaml", "-o", "b")
        a, b = _results(c, "a"), _results(c, "b")
        assert a == b and "points.csv" in a and b"hard_north" in a["runs.csv"]
        # replay of the folder applies the same sweep and variants files
        rc, out, err = c.run("replay", "b", "--run", "3", "--variant", "soft_north", "--point", "5")
        assert rc == 0 and "matches b/runs.csv" in out, out + err
        rc, _, err = c.run("check", "s.yaml", "--sweep", "wrong.yaml")
        assert rc == 1 and ("wrong.yaml:2:1: error: a --sweep file holds one top-level key, 'sweep:'" in err), err


def test_design_file_sweep_runs_exactly_its_rows():
    grid = [(r, s) for r in (0.4, 0.5, 0.6) for s in (0.05, 0.1)]
    with Case({"policies/drift.lua": DRIFT, "grid.yaml": BASE + SWEEP,
               "file.yaml": BASE + "sweep: {method: file, design: design.csv}\n",
               "design.csv": "north.resolve,north.params.step\n" + "".join(f"{r},{s}\n" for r, s in grid),
               "bad.yaml": BASE + "sweep: {method: file, design: bad.csv}\n",
               "bad.csv": "north.resolv,north.params.step\n0.5,0.1\n",
               "out.yaml": BASE + "sweep: {method: file, design: out.csv}\n",
               "out.csv": "north.resolve\n0.5\n1.5\n"}) as c:
        run_ok(c, "run", "grid.yaml", "-o", "a")
        run_ok(c, "run", "file.yaml", "-o", "b")
        assert _results(c, "a") == _results(c, "b")
        rows = c.csv("b", "points.csv")
        assert [(float(r["north.resolve"]), float(r["north.params.step"])) for r in rows] == grid
        rc, _, err = c.run("check", "bad.yaml")
        assert rc == 1 and "bad.csv:1:1: error: column 1 of the design: actor 'north' has no attribute " \
                           "'resolv'" in err and "did you mean 'resolve'?" in err, err
        rc, _, err = c.run("check", "out.yaml")
        assert rc == 1 and "out.csv:3:1: error: value 1.5 is outside [0, 1] of 'north.resolve'" in err, err
