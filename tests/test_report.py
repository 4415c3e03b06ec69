"""`tightrope report OUTDIR` (docs/cli.md; docs/output-files.md): the charts of a variant
experiment and of a sweep as SVG and PNG, an index.html that shows them
(rendered in headless Chromium when it is installed), names from the data
HTML-escaped, and the exit statuses (0 ok, 1 no results, 2 usage, 4 cannot
write or no gnuplot)."""
import os, shutil, stat, struct, subprocess, tempfile, zlib

import helpers
from helpers import Case

from test_experiments import WALK, SENS

CHROMIUM = "/usr/bin/chromium"


def run_ok(c, *args):
    return helpers.run_ok(c, *args, quiet=False)   # report takes no --quiet


def need_gnuplot():
    if not shutil.which("gnuplot"):
        helpers.skip("gnuplot is not installed (make deps installs gnuplot-nox)")


def check_chart(c, out, stem):
    svg = c.bytes(out, f"report/{stem}.svg")
    png = c.bytes(out, f"report/{stem}.png")
    assert b"<svg" in svg[:2000] and svg.rstrip().endswith(b"</svg>"), stem
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000, stem
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 600 and height >= 200, (stem, width, height)


def test_report_of_a_variant_experiment():
    need_gnuplot()
    with Case(WALK) as c:
        run_ok(c, "run", "crn.yaml", "-o", "out", "-n", "50", "--quiet")
        rc, out, err = c.run("report", "out")
        assert rc == 0, f"exit {rc}: {err}"
        # each metric over time, outcome shares, paired differences
        for stem in ("incidence", "metric-1", "metric-2", "outcomes", "compare-outcomes-1",
                     "compare-metric-1-1", "compare-metric-2-1"):
            check_chart(c, "out", stem)
        assert not os.path.exists(c.path("out", "report", "tornado-1.svg"))
        page = c.bytes("out", "report/index.html").decode()
        for stem in ("incidence", "metric-1", "outcomes", "compare-outcomes-1", "compare-metric-2-1"):
            assert f'src="{stem}.svg"' in page and f'href="{stem}.png"' in page, stem
        assert "y over time" in page and "Paired differences" in page
        assert "Sensitivity" not in page
        # the band and median of every variant are in the metric chart
        svg = c.bytes("out", "report/metric-1.svg").decode()
        for v in ("baseline", "same", "shifted"):
            assert v in svg, v
        # no temporary folder is left behind
        assert sorted(n for n in os.listdir(c.path("out", "report")) if n.startswith(".")) == []


def test_report_of_a_sweep_has_tornado_charts():
    need_gnuplot()
    with Case(SENS) as c:
        run_ok(c, "run", "sens.yaml", "-o", "out", "--quiet")
        run_ok(c, "report", "out")
        check_chart(c, "out", "tornado-1")           # metric y: the only defined response
        assert not os.path.exists(c.path("out", "report", "tornado-2.svg"))
        check_chart(c, "out", "metric-1")
        check_chart(c, "out", "outcomes")
        page = c.bytes("out", "report/index.html").decode()
        assert "Sensitivity of metric y" in page and 'src="tornado-1.svg"' in page
        assert "swept 64 points" in page
        svg = c.bytes("out", "report/tornado-1.svg").decode()
        assert "a.p" in svg and "a.q" in svg and "PRCC" in svg


def reseal(outdir, name):
    """Rewrite the size and SHA-256 manifest.yaml records for an edited file
    (report refuses files that are not those the manifest lists)."""
    import hashlib, re
    data = open(os.path.join(outdir, name), "rb").read()
    mpath = os.path.join(outdir, "manifest.yaml")
    text = open(mpath).read()
    text = re.sub(r"(\n  %s:\n    bytes: )\d+(\n    sha256: )\"?[0-9a-f]+\"?" % re.escape(name),
                  lambda m: f"{m.group(1)}{len(data)}{m.group(2)}{hashlib.sha256(data).hexdigest()}",
                  text)
    open(mpath, "w").write(text)


def test_report_escapes_names_from_the_data():
    # A folder edited by hand: names with markup must not reach the page raw.
    need_gnuplot()
    with Case(WALK) as c:
        run_ok(c, "run", "crn.yaml", "-o", "out", "-n", "20", "--quiet")
        for name in ("outcomes.csv", "series_summary.csv", "compare.csv"):
            path = c.path("out", name)
            text = open(path).read().replace("shifted", '"<img src=x onerror=alert(1)>&\'`q`"')
            open(path, "w").write(text)
            reseal(c.path("out"), name)     # as a hostile editor would
        run_ok(c, "report", "out")
        page = c.bytes("out", "report/index.html").decode()
        assert "<img src=x" not in page
        assert "&lt;img src=x onerror=alert(1)&gt;&amp;&#39;`q`" in page


def test_report_exit_statuses():
    need_gnuplot()
    with Case(WALK) as c:
        rc, _, err = c.run("report")
        assert rc == 2, err
        rc, _, err = c.run("report", "a", "b")
        assert rc == 2, err
        os.makedirs(c.path("empty"))
        rc, _, err = c.run("report", "empty")
        assert rc == 1 and "no results" in err, (rc, err)
        rc, _, err = c.run("report", "missing")
        assert rc == 1, (rc, err)
        run_ok(c, "run", "crn.yaml", "-o", "out", "-n", "10", "--quiet")
        # gnuplot missing: a clear message and exit 4
        rc, _, err = c.run("report", "out", env={"PATH": "/nonexistent"})
        assert rc == 4 and "gnuplot" in err, (rc, err)
        # a report folder that cannot be written: exit 4
        if os.geteuid() != 0:
            os.makedirs(c.path("out", "report"))
            os.chmod(c.path("out", "report"), stat.S_IRUSR | stat.S_IXUSR)
            rc, _, err = c.run("report", "out")
            os.chmod(c.path("out", "report"), stat.S_IRWXU)
            assert rc == 4, (rc, err)
        else:
            open(c.path("out", "report"), "w").close()   # a file where the folder goes
            rc, _, err = c.run("report", "out")
            assert rc == 4, (rc, err)
            os.remove(c.path("out", "report"))
        run_ok(c, "report", "out")


def png_pixels_vary(path):
    """1 when a PNG (8-bit RGB/RGBA, as Chromium writes) has many colours."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = header[:4]
    raw = zlib.decompress(idat)
    # distinct bytes of the filtered scanlines: a blank page gives a handful
    return len(set(raw[: 1 << 20])) > 40 and len(raw) > width * height // 4


def test_report_page_renders_in_headless_chromium():
    need_gnuplot()
    if not os.path.exists(CHROMIUM):
        helpers.skip(f"{CHROMIUM} is not installed (Debian package 'chromium')")
    with Case(WALK) as c:
        run_ok(c, "run", "crn.yaml", "-o", "out", "-n", "50", "--quiet")
        run_ok(c, "report", "out")
        shot = c.path("shot.png")
        profile = tempfile.mkdtemp(prefix="tr-chromium-")
        try:
            p = subprocess.run(
                [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                 f"--screenshot={shot}", "--window-size=1200,900",
                 "file://" + c.path("out", "report", "index.html")],
                capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        assert os.path.exists(shot), f"no screenshot: exit {p.returncode}: {p.stderr[-800:]}"
        assert os.path.getsize(shot) > 20000, os.path.getsize(shot)
        assert png_pixels_vary(shot), "the screenshot is blank"
