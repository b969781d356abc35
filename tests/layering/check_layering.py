#!/usr/bin/python3
# tests/layering/check_layering.py — the layering rules of STYLE.md 4.2 and the data-path issue,
# checked on every #include of include/ and src/: a directory may include only the directories
# listed for it, pure layers never see Asio, spdlog or yaml-cpp, and no two directories include
# each other. Prints every violation; exit 1 if any.
import pathlib
import re
import sys

# Directory -> the pgrouter directories it may include (besides itself).
ALLOWED = {
    "wire": set(),
    "auth": {"wire"},
    "sql": {"wire"},
    "config": set(),
    "backend": {"wire", "sql"},
    "routing": {"wire", "sql", "config", "backend"},
    "health": {"config", "routing"},
    # sharding: shard keys, the shard hash and slot maps (pure).
    "sharding": {"config", "wire", "sql"},
    "logging": {"config"},
    "io": {"wire"},
    "pool": {"io", "wire", "auth", "config", "backend"},
    "link": {"pool", "io", "wire", "auth", "config", "backend", "sql"},
    # probe: libpq on its own thread, writes what it learns into health.
    "probe": {"health", "routing", "config", "wire", "logging"},
    "session": {"link", "pool", "io", "wire", "auth", "config", "backend", "sql", "routing",
                "health", "logging", "sharding"},
    "net": {"session", "link", "pool", "io", "wire", "config", "health", "probe", "logging"},
    "main.cpp": {"net", "config", "logging", "sharding"},
}
PURE = {"wire", "auth", "sql", "config", "backend", "routing", "health", "sharding"}
FOREIGN_IO = re.compile(r'#include\s*[<"](boost/asio|spdlog|yaml-cpp)')
OWN = re.compile(r'#include\s*"pgrouter/([a-z_]+)/')


def layer_of(root, path):
    rel = path.relative_to(root)
    if rel.parts[0] == "include":
        return rel.parts[2]
    return rel.parts[1] if len(rel.parts) > 2 else rel.parts[1]


def main():
    root = pathlib.Path(__file__).resolve().parents[2]
    problems = []
    edges = set()
    files = [p for d in ("include/pgrouter", "src") for p in (root / d).rglob("*")
             if p.suffix in (".hpp", ".cpp")]
    for path in sorted(files):
        layer = layer_of(root, path)
        if layer not in ALLOWED:
            problems.append(f"{path.relative_to(root)}: directory '{layer}' has no layering rule")
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            where = f"{path.relative_to(root)}:{n}"
            if layer in PURE and FOREIGN_IO.search(line):
                # The config loader is the one yaml-cpp boundary (src/config only).
                if not (layer == "config" and "yaml-cpp" in line and "src/" in str(path)):
                    problems.append(f"{where}: pure layer '{layer}' includes {line.strip()}")
            m = OWN.search(line)
            if m and m.group(1) != layer:
                edges.add((layer, m.group(1)))
                if m.group(1) not in ALLOWED[layer]:
                    problems.append(f"{where}: '{layer}' may not include '{m.group(1)}'")
    for a, b in sorted(edges):
        if (b, a) in edges and a < b:
            problems.append(f"'{a}' and '{b}' include each other")
    for p in problems:
        print(p)
    print(f"check_layering: {len(files)} files, {len(edges)} directory edges, "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
