#!/usr/bin/env python3
"""Checks that no ISA-specific kernel file leaks wide instructions into code
the rest of the program shares.

Each x86 kernel file is compiled with its own -m flags (src/CMakeLists.txt)
and runs only after a CPUID check. But an inline function or template that
such a file instantiates (a std::vector method, a destructor) is a weak
symbol: if another file instantiates it too, the linker keeps one copy for
the whole program, and if it keeps the AVX-512 copy, a CPU without AVX-512
faults in ordinary code. This finds every weak symbol an ISA file defines
that some other object file defines as well, and fails when the ISA file's
copy holds any VEX/EVEX instruction (a mnemonic starting with 'v').

Usage: check_isa_symbols.py BUILD_DIR   (the folder holding the object files)
"""
import pathlib
import re
import subprocess
import sys

ISA_FILE = re.compile(r"_(avx2|avx512[a-z_]*)\.cpp\.o$")


def weak_symbols(obj):
    out = subprocess.run(["nm", "--defined-only", str(obj)], capture_output=True, text=True, check=True).stdout
    return {line.split()[2] for line in out.splitlines() if len(line.split()) == 3 and line.split()[1] in ("W", "V")}


def wide_instructions(obj, symbol):
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", f"--disassemble={symbol}", str(obj)],
                         capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and re.match(r"\s*[0-9a-f]+:$", parts[0]) and parts[1].strip().startswith("v"):
            found.append(parts[1].strip())
    return found


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    objects = sorted(pathlib.Path(sys.argv[1]).rglob("*.o"))
    isa_objects = [o for o in objects if ISA_FILE.search(o.name)]
    if not isa_objects:
        sys.exit(f"no ISA-specific object files (*_avx2.cpp.o, *_avx512*.cpp.o) under {sys.argv[1]}")
    defined = {o: weak_symbols(o) for o in objects}
    problems, checked = [], 0
    for isa in isa_objects:
        shared = set()
        for other, symbols in defined.items():
            if other != isa and not (ISA_FILE.search(other.name) and ISA_FILE.search(other.name).group(1) == ISA_FILE.search(isa.name).group(1)):
                shared |= defined[isa] & symbols
        for symbol in sorted(shared):
            checked += 1
            wide = wide_instructions(isa, symbol)
            if wide:
                name = subprocess.run(["c++filt", symbol], capture_output=True, text=True).stdout.strip()
                problems.append(f"{isa.name}: {name} (also defined elsewhere) holds {len(wide)} wide instructions, e.g. {wide[0]}")
    print(f"{len(isa_objects)} ISA-specific object files, {checked} weak symbols they share with other files checked")
    if problems:
        print("\n".join(problems))
        sys.exit(1)


if __name__ == "__main__":
    main()
