#!/usr/bin/env python3
"""Lints services/Dockerfile against the binaries it ships.

Usage: check_dockerfile.py DOCKERFILE BIN_DIR

- the build stage is debian:bookworm and installs ./evc's build packages;
- the runtime stage is debian:bookworm-slim, runs as a numeric non-root user;
- every shared library a binary loads (ldd) comes from a package the runtime
  stage installs, or from one of their dependencies, or from the base image;
- every package the runtime stage installs is needed: it provides a library some
  binary links directly (DT_NEEDED), or is in NOT_LIBRARIES.
Package facts come from this machine's dpkg database: the same Debian 12
packages the image installs.
"""
import os
import re
import subprocess
import sys

# Runtime packages that are not shared libraries, and why the image has them.
NOT_LIBRARIES = {"ca-certificates": "roots for outbound TLS (OpenWeather, external Postgres/Kafka)"}
# Built with the tests only (EVC_BUILD_TESTS), never in an image.
TEST_ONLY_BINARIES = {"evc-bench"}


def stages(dockerfile):
    """[(base image, [instruction lines])] with line continuations joined."""
    text = re.sub(r"\\\n", " ", open(dockerfile).read())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            result.append((line.split()[1], []))
        elif result:
            result[-1][1].append(line)
    return result


def apt_installed(lines):
    packages = []
    for line in lines:
        for command in re.split(r"&&|;", line):
            words = command.split()
            if "apt-get" in words and "install" in words:
                packages += [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
    return packages


def run(*args):
    return subprocess.run(args, capture_output=True, text=True, check=False).stdout


def library_owners():
    """realpath of every shared library dpkg installed -> its package (usrmerge-aware).
    The package that ships the file itself wins over one shipping a symlink to it
    (libfoo-dev's libfoo.so)."""
    owners, via_symlink = {}, {}
    info = "/var/lib/dpkg/info"
    for name in os.listdir(info):
        if not name.endswith(".list"):
            continue
        package = name[:-len(".list")].split(":")[0]
        with open(os.path.join(info, name), errors="replace") as f:
            for line in f:
                path = line.rstrip("\n")
                if ".so" in os.path.basename(path) and os.path.exists(path):
                    table = via_symlink if os.path.islink(path) else owners
                    table.setdefault(os.path.realpath(path), package)
    return {**via_symlink, **owners}


def installed_packages():
    out = run("dpkg-query", "-W", "-f=${Package}\t${Priority}\t${Essential}\t${Pre-Depends}, ${Depends}\n")
    info = {}
    for line in out.splitlines():
        name, priority, essential, depends = line.split("\t")
        deps = set()
        for clause in depends.split(","):
            # "a (>= 1) | b": any alternative will do; take those installed here.
            for alt in clause.split("|"):
                dep = re.sub(r"\(.*?\)|:any|:\w+", "", alt).strip()
                if dep:
                    deps.add(dep)
        info[name] = (priority, essential == "yes", deps)
    return info


def closure(roots, info):
    seen, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p in seen or p not in info:
            continue
        seen.add(p)
        todo += info[p][2]
    return seen


def linked_libraries(binary):
    """(all resolved libraries from ldd, directly needed sonames)."""
    resolved, missing = {}, []
    for line in run("ldd", binary).splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m and m.group(2) == "not":
            missing.append(m.group(1))
        elif m:
            resolved[m.group(1)] = m.group(2)
    needed = re.findall(r"NEEDED\s+(\S+)", run("objdump", "-p", binary))
    return resolved, set(needed), missing


def main(dockerfile, bin_dir):
    problems = []
    all_stages = stages(dockerfile)
    if len(all_stages) < 2:
        return [f"{dockerfile}: expected a build stage and a runtime stage"]
    build_base, build_lines = all_stages[0]
    runtime_base, runtime_lines = all_stages[-1]
    if not build_base.startswith("debian:bookworm") or build_base.startswith("debian:bookworm-slim"):
        problems.append(f"build stage is {build_base}, expected debian:bookworm")
    if not any("./evc install --build-only" in l for l in build_lines):
        problems.append("build stage does not install ./evc's build packages (./evc install --build-only)")
    if runtime_base != "debian:bookworm-slim":
        problems.append(f"runtime stage is {runtime_base}, expected debian:bookworm-slim")
    users = [l.split()[1] for l in runtime_lines if l.upper().startswith("USER ")]
    if not users or not users[-1].split(":")[0].isdigit() or users[-1].split(":")[0] == "0":
        problems.append("runtime stage must end with USER <numeric non-root uid> (runAsNonRoot needs a number)")

    listed = apt_installed(runtime_lines)
    info = installed_packages()
    base = {p for p, (priority, essential, _) in info.items() if essential or priority == "required"}
    for p in listed:
        if p not in info:
            problems.append(f"runtime package {p} is not installed on this machine: cannot check it")
    provided = closure(set(listed) | base, info)

    owners = library_owners()
    binaries = sorted(b for b in os.listdir(bin_dir) if b not in TEST_ONLY_BINARIES)
    directly_used = set()
    for b in binaries:
        resolved, needed, missing = linked_libraries(os.path.join(bin_dir, b))
        for soname in missing:
            problems.append(f"{b}: ldd cannot resolve {soname}")
        for soname, path in sorted(resolved.items()):
            package = owners.get(os.path.realpath(path))
            if package is None:
                problems.append(f"{b}: {path} belongs to no Debian package")
                continue
            if soname in needed:
                directly_used.add(package)
            if package not in provided:
                problems.append(f"{b} links {soname} from {package}, which the runtime stage does not install")
    for p in listed:
        if p not in directly_used and p not in NOT_LIBRARIES:
            problems.append(f"runtime package {p} provides no library any binary links directly: drop it")
    print(f"checked {len(binaries)} binaries against {len(listed)} runtime packages "
          f"({len(provided)} with dependencies and the base image)")
    return problems


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    found = main(sys.argv[1], sys.argv[2])
    for p in found:
        print("FAIL:", p)
    sys.exit(1 if found else 0)
