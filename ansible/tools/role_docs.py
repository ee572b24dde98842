#!/usr/bin/env python3
"""Write each role's README variable table from its meta/argument_specs.yml (the one description).

python ansible/tools/role_docs.py           rewrite the tables
python ansible/tools/role_docs.py --check   exit 1 when a README's table differs (tests run this)
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROLES = Path(__file__).resolve().parent.parent / "roles"
BEGIN, END = "<!-- BEGIN VARIABLES (generated from meta/argument_specs.yml) -->", "<!-- END VARIABLES -->"


def _cell(value) -> str:
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, str | int | float):
        text = str(value)
    else:
        text = yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
    return text.replace("|", "\\|").replace("\n", " ")


def table(role: Path) -> str:
    spec = yaml.safe_load((role / "meta/argument_specs.yml").read_text())["argument_specs"]["main"]
    rows = ["| variable | type | default | description |", "|---|---|---|---|"]
    for name, opt in spec.get("options", {}).items():
        if opt.get("required"):
            default = "**required**"
        elif "default" in opt:
            default = f"`{_cell(opt['default'])}`" if opt["default"] != "" else '`""`'
        else:
            default = "see description"
        kind = opt.get("type", "str") + (f" of {opt['elements']}" if "elements" in opt else "")
        choices = f" One of: {', '.join(map(str, opt['choices']))}." if "choices" in opt else ""
        rows.append(f"| `{name}` | {kind} | {default} | {_cell(opt.get('description', ''))}{choices} |")
    return "\n".join([BEGIN, *rows, END])


def render(readme: str, new_table: str) -> str:
    if BEGIN in readme and END in readme:
        head, rest = readme.split(BEGIN, 1)
        return head + new_table + rest.split(END, 1)[1]
    return readme.rstrip() + "\n\n## Variables\n\n" + new_table + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for role in sorted(p for p in ROLES.iterdir() if (p / "meta/argument_specs.yml").exists()):
        readme = role / "README.md"
        old = readme.read_text() if readme.exists() else f"# {role.name}\n"
        new = render(old, table(role))
        if new != old:
            stale.append(str(readme))
            if not check:
                readme.write_text(new)
    if check and stale:
        print("README variable tables differ from meta/argument_specs.yml (run ansible/tools/role_docs.py):")
        print("\n".join(f"  {s}" for s in stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
