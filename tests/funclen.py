"""Function lengths of the C files under a folder (docs/internals.md,
"Function length").

    python3 tests/funclen.py DIR [N]     the N longest functions (default 15)
    python3 tests/funclen.py --check DIR fails when a function is longer than
                                         LIMIT lines and its head comment
                                         gives no reason (a sentence starting
                                         "Long:")

A function's length counts its lines from its head (the line naming it) to
its closing brace. Its head comment is the comment ending on the line just
above its head."""
import glob
import os
import re
import sys

LIMIT = 80
REASON = "Long:"

HEAD = re.compile(r"^[A-Za-z_][\w \*]*?\b(\w+)\s*\(")


def blank_out(src):
    """src with its comments, strings and character literals blanked (their
    newlines kept), so that braces and parentheses in them do not count."""
    out = []
    i, n = 0, len(src)
    while i < n:
        if src.startswith("/*", i):
            j = src.index("*/", i + 2) + 2
        elif src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
        elif src[i] in "\"'":
            q, j = src[i], i + 1
            while src[j] != q:
                j += 2 if src[j] == "\\" else 1
            out.append(q + " " * (j - i - 1) + q)
            i = j + 1
            continue
        else:
            out.append(src[i])
            i += 1
            continue
        out.append(re.sub(r"[^\n]", " ", src[i:j]))
        i = j
    return "".join(out)


def head_comment(lines, head):
    """The text of the comment ending on the line above line index head."""
    end = head - 1
    if end < 0:
        return ""
    if lines[end].rstrip().endswith("*/"):
        start = end
        while start > 0 and "/*" not in lines[start]:
            start -= 1
        return "\n".join(lines[start:end + 1])
    start = end
    while start >= 0 and lines[start].lstrip().startswith("//"):
        start -= 1
    return "\n".join(lines[start + 1:end + 1])


def functions(path):
    """(length, head line number, name, head comment) of each function
    defined in the C file path."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    raw = text.split("\n")
    code = blank_out(text).split("\n")
    found = []
    depth, head, name = 0, None, None
    for i, line in enumerate(code):
        if depth == 0:
            m = HEAD.match(line)
            if (m and not line.startswith(("typedef", "struct ", "enum", "#"))
                    and "=" not in line.split("(")[0]):
                head, name = i, m.group(1)
        depth += line.count("{") - line.count("}")
        if depth == 0 and "}" in line and head is not None:
            found.append((i - head + 1, head + 1, name, head_comment(raw, head)))
            head = None
    return found


def all_functions(folder):
    out = []
    for path in sorted(glob.glob(os.path.join(folder, "**", "*.c"), recursive=True)):
        for length, line, name, comment in functions(path):
            out.append((length, path, line, name, comment))
    out.sort(key=lambda f: (-f[0], f[1], f[2]))
    return out


def check(folder):
    long_ = [f for f in all_functions(folder) if f[0] > LIMIT]
    bad = [f for f in long_ if REASON not in f[4]]
    for length, path, line, name, _ in bad:
        print(f"{path}:{line}: {name} has {length} lines (over {LIMIT}) and its "
              f"head comment gives no reason ('{REASON} ...')")
    print(f"{len(long_)} functions over {LIMIT} lines, {len(long_) - len(bad)} "
          f"with a reason, {len(bad)} without")
    return 1 if bad else 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "--check":
        return check(argv[1])
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    count = int(argv[1]) if len(argv) > 1 else 15
    for length, path, line, name, _ in all_functions(argv[0])[:count]:
        print(f"{length:5d} {path}:{line} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
