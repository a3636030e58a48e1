#!/usr/bin/env python3
"""End-to-end cases as data: each tests/e2e/cases/NAME.json names an input
(a message, mbox, Maildir or tree, relative to the repository root or to the
case file) and what `vigil scan --format jsonl` must say about it.

Case file keys:
  input      path of the input, or a list of paths
  stdin      path whose content is piped to `vigil scan -` instead
  args       extra arguments for vigil scan
  exit       expected exit status (default 0)
  count      number of JSON objects expected
  messages   list of expected objects, matched in output order: each is a
             subset of the actual object. In a subset, a dict matches when
             each of its keys matches; a list matches when each expected item
             matches some actual item; "KEY#": n asserts len(actual[KEY]) == n;
             "!KEY": [items] asserts no item of actual[KEY] matches any of them.
  stderr     substrings that must appear on standard error
Prints one line per case and a total; exits non-zero on any failure.
"""
import json
import os
import subprocess
import sys


def matches(expected, actual, path="$"):
    """Returns None when `expected` is a subset of `actual`, else why not."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected an object, got {json.dumps(actual)[:80]}"
        for key, want in expected.items():
            if key.endswith("#"):
                got = actual.get(key[:-1])
                if not isinstance(got, list) or len(got) != want:
                    n = len(got) if isinstance(got, list) else got
                    return f"{path}.{key[:-1]}: expected {want} items, got {n}"
            elif key.startswith("!"):
                for item in actual.get(key[1:]) or []:
                    for bad in want:
                        if matches(bad, item) is None:
                            return f"{path}.{key[1:]}: has forbidden {json.dumps(item)[:120]}"
            elif key not in actual:
                return f"{path}.{key}: missing"
            else:
                why = matches(want, actual[key], f"{path}.{key}")
                if why:
                    return why
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{path}: expected a list"
        for i, want in enumerate(expected):
            if not any(matches(want, item) is None for item in actual):
                return f"{path}[{i}]: no item matches {json.dumps(want)[:160]}"
        return None
    if expected != actual:
        return f"{path}: expected {json.dumps(expected)}, got {json.dumps(actual)[:160]}"
    return None


def run_case(vigil, root, case_path):
    with open(case_path) as f:
        case = json.load(f)
    here = os.path.dirname(case_path)

    def resolve(p):
        for base in (root, here):
            full = os.path.join(base, p)
            if os.path.exists(full):
                return full
        return os.path.join(root, p)

    cmd = [vigil, "scan", "--format", "jsonl"] + case.get("args", [])
    stdin = None
    if "stdin" in case:
        cmd.append("-")
        stdin = open(resolve(case["stdin"]), "rb")
    else:
        inputs = case["input"] if isinstance(case["input"], list) else [case["input"]]
        cmd += [resolve(p) for p in inputs]
    try:
        # Relative paths in a case (inputs, list flags) are relative to the
        # repository root.
        proc = subprocess.run(cmd, stdin=stdin, capture_output=True, timeout=120, cwd=root)
    finally:
        if stdin:
            stdin.close()
    errors = []
    if proc.returncode != case.get("exit", 0):
        errors.append(f"exit status {proc.returncode}, expected {case.get('exit', 0)}: "
                      f"{proc.stderr.decode(errors='replace')[:300]}")
    try:
        objs = [json.loads(l) for l in proc.stdout.decode().splitlines() if l.strip()]
    except (ValueError, UnicodeDecodeError) as e:
        return [f"output is not JSON Lines: {e}"]
    if "count" in case and len(objs) != case["count"]:
        errors.append(f"{len(objs)} objects, expected {case['count']}")
    for i, want in enumerate(case.get("messages", [])):
        if i >= len(objs):
            errors.append(f"message {i}: missing")
            continue
        why = matches(want, objs[i], f"message[{i}]")
        if why:
            errors.append(why)
    err = proc.stderr.decode(errors="replace")
    for s in case.get("stderr", []):
        if s not in err:
            errors.append(f"stderr lacks {s!r}: {err[:200]!r}")
    for o in objs:
        if o.get("version") != 1:
            errors.append("an object lacks version 1")
            break
    return errors


def main():
    vigil, cases_dir, root = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3]
    names = sorted(n for n in os.listdir(cases_dir) if n.endswith(".json"))
    failed = 0
    for name in names:
        errors = run_case(vigil, root, os.path.join(cases_dir, name))
        print(f"{'ok  ' if not errors else 'FAIL'} {name}")
        for e in errors:
            print(f"     {e}")
        failed += bool(errors)
    print(f"{len(names) - failed} passed, {failed} failed")
    sys.exit(1 if failed or not names else 0)


if __name__ == "__main__":
    main()
