#!/usr/bin/env python3
"""Screenshots of a published site for docs/images/: the landing page, an implementation's page and the
diff page of the latest run, taken in headless Chromium (tests/browser/driver.py).

    .venv/bin/python scripts/site-screenshots.py SITE [--impl zarr-python] [--out docs/images]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from driver import Browser  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site")
    ap.add_argument("--impl", default="zarr-python", help="the implementation whose page is shot")
    ap.add_argument("--out", default=str(ROOT / "docs" / "images"))
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=1500)
    ap.add_argument("--shots", default="landing,impl,diff", help="which of landing, impl, diff (default all)")
    args = ap.parse_args(argv)
    site, out = Path(args.site), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = json.loads((site / "data" / "runs.json").read_text())
    latest = next(r for r in runs["runs"] if r["id"] == runs["latest"])
    shots = {"landing": ("site-landing.png", "index.html", ""),
             "impl": (f"site-impl-{args.impl}.png", f"impl/{args.impl}.html", ""),
             "diff": ("site-diff.png", latest["files"]["page"], "")}
    shots = [shots[s] for s in args.shots.split(",")]
    with Browser() as b:
        for name, page, anchor in shots:
            b.goto(site / page, anchor)
            b.call("screenshot", path=str(out / name), width=args.width, height=args.height)
            print(out / name)
        if b.errors or b.outside:
            print(f"script errors: {b.errors}; requests outside the site: {b.outside}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
