#!/usr/bin/env python3
"""Writes every protocol test vector file (Tests/Vectors/) and the annotated hex examples in
protocol-spec.md from the tables in scripts/vectorgen/, so the spec and the files cannot drift.

Session-level vectors come from vectorgen/core.py. Each domain has vectorgen/domain_<name>.py
defining NAME, valid(), invalid() and transcripts(); its vectors go to Tests/Vectors/<NAME>.json
and its examples between <!-- examples:<NAME>:begin --> and <!-- examples:<NAME>:end --> in the spec.
Run: python3 scripts/generate-test-vectors.py
"""
import importlib
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "vectorgen"))
import core  # noqa: E402


def main():
    counts = core.write_core()
    print(f"session: {counts[0]} valid, {counts[1]} invalid, {counts[2]} transcripts")
    spec_path = core.ROOT / "protocol-spec.md"
    for module_path in sorted((core.ROOT / "scripts" / "vectorgen").glob("domain_*.py")):
        module = importlib.import_module(module_path.stem)
        valid, invalid, scripts = module.valid(), module.invalid(), module.transcripts()
        payload = {"valid": core.strip_private(valid), "invalid": invalid, "transcripts": scripts}
        (core.ROOT / "Tests" / "Vectors" / f"{module.NAME}.json").write_text(
            json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
        doc = core.document(valid, invalid, scripts, heading_level="####", number=getattr(module, "SECTION", ""))
        text = spec_path.read_text()
        begin, end = f"<!-- examples:{module.NAME}:begin -->", f"<!-- examples:{module.NAME}:end -->"
        if begin in text:
            spec_path.write_text(core.replace_between(text, begin, end, "\n".join(doc)))
        print(f"{module.NAME}: {len(valid)} valid, {len(invalid)} invalid, {len(scripts)} transcripts")


if __name__ == "__main__":
    main()
