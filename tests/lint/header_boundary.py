#!/usr/bin/env python3
"""The header boundary of STYLE.md, checked against the real build.

For each component, a source file is compiled with that component's own
compile command (from compile_commands.json) but with a probe in its place:
the public headers of the components it links must be found, the private
headers of every other component must not. Inside the emulator, which the
build treats as one component, a service folder (emulator/<name>/) must not
include the core's private headers; that is checked on the sources.
"""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

build, source = sys.argv[1], sys.argv[2]
commands = json.load(open(os.path.join(build, "compile_commands.json")))


def command_for(path_fragment):
    for entry in commands:
        if path_fragment in entry["file"] and "/tests/" not in entry["file"]:
            return entry
    raise SystemExit(f"no compile command for {path_fragment}: is the build configured?")


def compiles(entry, include):
    argv = shlex.split(entry["command"]) if "command" in entry else list(entry["arguments"])
    with tempfile.TemporaryDirectory() as tmp:
        probe = os.path.join(tmp, "probe.c")
        with open(probe, "w") as f:
            f.write(f'#include "{include}"\n')
        out = []
        skip = False
        for arg in argv:
            if skip:
                skip = False
                continue
            if arg in ("-o", "-c"):
                skip = True
                continue
            if arg == entry["file"]:
                continue
            out.append(arg)
        out += ["-fsyntax-only", probe]
        result = subprocess.run(out, cwd=entry["directory"], capture_output=True, text=True)
        return result.returncode == 0, result.stderr


# component → (a source of it, headers it must see, private headers it must not)
cases = {
    "agent": ("agent/agent_loop.c",
              ["agent/agent_int.h", "queue/queue.h", "overlay/overlay.h", "emulator/emulator.h",
               "emulator/containers.h",
               "common/docker.h"],
              ["queue/queue_int.h", "queue/store_int.h", "overlay/overlay_int.h",
               "emulator/emulator_int.h", "emulator/service.h", "cli/cli_int.h"]),
    "cli": ("cli/cmd_run.c",
            ["cli/cli_int.h", "agent/agent.h", "queue/queue.h", "overlay/overlay.h",
             "emulator/emulator.h", "common/error.h"],
            ["agent/agent_int.h", "queue/queue_int.h", "overlay/overlay_int.h",
             "emulator/emulator_int.h"]),
    "queue": ("queue/server.c",
              ["queue/store_int.h", "common/http_server.h"],
              ["agent/agent.h", "overlay/overlay.h", "emulator/emulator.h", "agent/agent_int.h"]),
    "overlay": ("overlay/cache.c",
                ["overlay/overlay_int.h", "common/error.h"],
                ["queue/queue.h", "emulator/emulator.h", "agent/agent.h"]),
    "emulator": ("emulator/gateway.c",
                 ["emulator/emulator_int.h", "emulator/protocol/protocol.h", "common/dynbuf.h"],
                 ["queue/queue.h", "overlay/overlay.h", "agent/agent.h", "queue/queue_int.h"]),
    "common": ("common/error.c",
               ["common/dynbuf.h"],
               ["emulator/emulator.h", "queue/queue.h", "overlay/overlay.h", "agent/agent.h"]),
}

failures = []
for component, (src, allowed, forbidden) in cases.items():
    entry = command_for(src)
    for header in allowed:
        ok, err = compiles(entry, header)
        if not ok:
            failures.append(f"{component}: {header} should be found but is not:\n{err}")
    for header in forbidden:
        ok, _ = compiles(entry, header)
        if ok:
            failures.append(f"{component}: private header {header} is reachable")

core_private = re.compile(r'#include "emulator/(emulator_int|services_int|init_hooks_int)\.h"')
emulator = os.path.join(source, "emulator")
for name in sorted(os.listdir(emulator)):
    folder = os.path.join(emulator, name)
    if not os.path.isdir(folder) or name == "protocol":
        continue
    for root, _, files in os.walk(folder):
        for fname in files:
            if fname.endswith((".c", ".h")):
                path = os.path.join(root, fname)
                with open(path, encoding="utf-8") as f:
                    for number, line in enumerate(f, 1):
                        if core_private.search(line):
                            failures.append(f"{os.path.relpath(path, source)}:{number}: a service "
                                            f"includes a core private header: {line.strip()}")

for failure in failures:
    print(failure)
checked = sum(len(a) + len(f) for _, a, f in cases.values())
print(f"header boundary: {checked} includes checked, {len(failures)} failures")
sys.exit(1 if failures else 0)
