#!/usr/bin/env python3
"""Turn one of tightrope's Markdown reference pages into a man(7) page.

Usage: md2man.py SOURCE.md NAME SECTION [SUMMARY] > NAME.SECTION
(SUMMARY is the NAME line's text, for a page without a NAME section.)

The man pages are generated from docs/ so that the two never drift:
docs/cli.md becomes tightrope(1) and docs/scenario-format.md becomes
tightrope-scenario(5). The converter knows the Markdown those pages use:
headings, paragraphs, `code`, *emphasis*, **strong**, [links](x.md),
bullet and numbered lists, fenced code blocks, pipe tables (rendered with
tbl(7)) and definition lists (a term line followed by ': text' lines).
Standard library only.
"""
import re
import sys
import textwrap


def escape(text):
    """Roff-escape plain text (no font changes)."""
    text = text.replace("\\", "\\e")
    text = text.replace("-", "\\-")
    return text


def inline(text):
    """Markdown inline markup to roff font escapes."""
    out = []
    pos = 0
    pattern = re.compile(r"`([^`]+)`|\*\*(.+?)\*\*|\*([^*\s][^*]*?)\*|\[([^\]]+)\]\(([^)]+)\)")
    for m in pattern.finditer(text):
        out.append(escape(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append("\\fB" + escape(m.group(1)) + "\\fR")
        elif m.group(2) is not None:
            out.append("\\fB" + inline(m.group(2)) + "\\fR")
        elif m.group(3) is not None:
            out.append("\\fI" + inline(m.group(3)) + "\\fR")
        else:
            out.append(inline(m.group(4)))
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def line_safe(s):
    """Filled text lines of at most 80 bytes (64 characters, some of them UTF-8), none starting with a control
    character or a space."""
    lines = textwrap.wrap(s.strip(), 64, break_long_words=False, break_on_hyphens=False)
    return "\n".join("\\&" + ln if ln.startswith((".", "'")) else ln for ln in lines)


def table(rows):
    cells = [[c.strip() for c in r.strip().strip("|").split("|")] for r in rows]
    header, body = cells[0], [r for r in cells[2:]]
    ncol = len(header)
    out = [".TS", "allbox tab(\t);", " ".join(["lb"] * ncol), " ".join(["l"] * (ncol - 1) + ["lx"]) + "."]
    out.append("\t".join(inline(h) for h in header))
    for r in body:
        r = (r + [""] * ncol)[:ncol]
        out.append("\t".join("T{\n" + line_safe(inline(c)) + "\nT}" if c else "" for c in r))
    out.append(".TE")
    return out


def page_date(src):
    """The date of the source's last commit, else of its modification."""
    import datetime, os, subprocess
    try:
        d = subprocess.run(["git", "log", "-1", "--format=%cs", "--", os.path.basename(src)],
                           cwd=os.path.dirname(os.path.abspath(src)), capture_output=True,
                           text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        d = ""
    return d or datetime.date.fromtimestamp(os.path.getmtime(src)).isoformat()


def convert(src, name, section, summary=""):
    lines = open(src, encoding="utf-8").read().split("\n")
    has_name = "## NAME" in lines
    out = [f'.TH {name.upper()} {section} {page_date(src)} "tightrope" "tightrope manual"']
    i = 0
    para = []
    in_list = False

    def flush():
        nonlocal para
        if para:
            out.append(line_safe(inline(" ".join(p.strip() for p in para))))
            para = []

    title_done = False
    while i < len(lines):
        line = lines[i]
        if line.startswith("# ") and not title_done:
            title_done = True          # the page title: .TH carries it
            if not has_name:
                out.append(".SH NAME")
                out.append(f"{name} \\- {escape(summary)}")
                out.append(".SH DESCRIPTION")
            i += 1
            continue
        if line.startswith("#"):
            flush()
            level = len(line) - len(line.lstrip("#"))
            text = line[level:].strip().strip("`")
            if level <= 2:
                out.append(".SH " + escape(text.upper()))
            else:
                out.append(".SS " + escape(text))
            i += 1
            continue
        if line.startswith("```"):
            flush()
            out.append(".PP")
            out.append(".EX")
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                out.append("\\&" + escape(lines[i]) if lines[i] else "")
                i += 1
            out.append(".EE")
            i += 1
            continue
        if line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|[-:| ]+\|\s*$", lines[i + 1]):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            out.append(".PP")
            out.extend(table(rows))
            continue
        m = re.match(r"^(\s*)([-*]|\d+\.) (.*)$", line)
        if m and not line.startswith("**"):
            flush()
            bullet = "\\(bu" if m.group(2) in "-*" else m.group(2)
            text = [m.group(3)]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip() \
                    and not re.match(r"^\s*([-*]|\d+\.) ", lines[i]):
                text.append(lines[i])
                i += 1
            out.append(f'.IP "{bullet}" 4')
            out.append(line_safe(inline(" ".join(t.strip() for t in text))))
            in_list = True
            continue
        # a definition list: a term line, then ': text' and its indented lines
        if line.strip() and i + 1 < len(lines) and lines[i + 1].startswith(": "):
            flush()
            out.append(".TP")
            out.append(line_safe(inline(line.strip())))
            i += 1
            text = [lines[i][2:]]
            i += 1
            while i < len(lines) and lines[i].startswith("  "):
                if lines[i].strip().startswith("```"):
                    out.append(line_safe(inline(" ".join(t.strip() for t in text))))
                    text = []
                    out.append(".RS")
                    out.append(".EX")
                    i += 1
                    while i < len(lines) and not lines[i].strip().startswith("```"):
                        out.append("\\&" + escape(lines[i].strip()) if lines[i].strip() else "")
                        i += 1
                    out.append(".EE")
                    out.append(".RE")
                    i += 1
                    continue
                if lines[i].strip():
                    text.append(lines[i])
                i += 1
            if text:
                out.append(line_safe(inline(" ".join(t.strip() for t in text))))
            continue
        if not line.strip():
            flush()
            if in_list:
                in_list = False
            if out and out[-1] not in (".PP",) and not out[-1].startswith((".SH", ".SS", ".TH")):
                out.append(".PP")
            i += 1
            continue
        para.append(line)
        i += 1
    flush()
    # tidy: no paragraph macro right before a section, a table, or at the end
    tidy = []
    for ln in out:
        if ln.startswith((".SH", ".SS", ".TP", ".IP")) and tidy and tidy[-1] == ".PP":
            tidy.pop()
        if ln == ".PP" and tidy and tidy[-1] in (".PP",):
            continue
        if ln == ".PP" and tidy and tidy[-1].startswith((".SH", ".SS")):
            continue
        tidy.append(ln)
    while tidy and tidy[-1] == ".PP":
        tidy.pop()
    return "\n".join(tidy) + "\n"


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit("usage: md2man.py SOURCE.md NAME SECTION [SUMMARY]")
    sys.stdout.write(convert(*sys.argv[1:]))


if __name__ == "__main__":
    main()
