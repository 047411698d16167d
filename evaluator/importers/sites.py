"""Per-case acquisition sites for imported truth sets.

The public releases put every case in one folder with no site, but a challenge ranks per
hospital or device. Organisers keep that assignment in a table of their own, so the importers
take it as a mapping case -> site, read from a CSV with a `case` column (or the release's own
`filename` column) and a site column (`site` unless named otherwise). The HC18 release CSV
itself may carry the column too (`site_column` without a separate file).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path

from evaluator.importers.common import ImporterError
from evaluator.truth import IMAGE_SUFFIXES

#: Columns that name the case, in the order they are looked for.
CASE_COLUMNS = ("case", "filename", "file", "image")
DEFAULT_SITE_COLUMN = "site"
_MAX_LISTED = 10


def case_key(name: str) -> str:
    """`000_HC.png` / `03744.mha` / `000_HC` -> the case id the importers write."""
    name = name.strip().replace("\\", "/").rsplit("/", 1)[-1]
    lower = name.lower()
    for suffix in IMAGE_SUFFIXES:
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return name[: -len(suffix)]
    return name


def read_site_map(path: Path, site_column: str = DEFAULT_SITE_COLUMN) -> dict[str, str]:
    """case id -> site from a CSV; every defect (missing columns, empty or conflicting sites)
    is reported at once in one ImporterError."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [(h or "").strip() for h in reader.fieldnames or []]
            rows = [
                {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
                for row in reader
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ImporterError(f"site mapping {path.name} cannot be read: {exc}") from None
    lowered = {h.lower(): h for h in header}
    case_col = next((lowered[c] for c in CASE_COLUMNS if c in lowered), None)
    site_col = lowered.get(site_column.strip().lower())
    if case_col is None or site_col is None:
        raise ImporterError(
            f"site mapping {path.name} needs a case column ({' or '.join(CASE_COLUMNS)}) and a "
            f"{site_column!r} column; its header is {','.join(header) or '(empty)'}"
        )
    mapping: dict[str, str] = {}
    problems: list[str] = []
    for line, row in enumerate(rows, start=2):
        case, site = case_key(row.get(case_col, "")), row.get(site_col, "")
        if not case:
            continue
        if not site:
            problems.append(f"line {line} (case {case}): empty site")
        elif mapping.get(case, site) != site:
            problems.append(f"line {line}: case {case} given two sites ({mapping[case]}, {site})")
        else:
            mapping[case] = site
    if problems:
        raise ImporterError(_listed(f"site mapping {path.name}", problems))
    if not mapping:
        raise ImporterError(f"site mapping {path.name} lists no cases")
    return mapping


def site_mapping(
    map_file: Path | None, site_column: str | None, release_table: Path | None = None
) -> dict[str, str] | None:
    """The mapping an import was asked for: from `map_file` (its `site_column`, default
    `site`), else from `site_column` of the release's own table, else None (one site)."""
    if map_file:
        return read_site_map(Path(map_file), site_column or DEFAULT_SITE_COLUMN)
    if site_column:
        if release_table is None:
            raise ImporterError(
                f"this release has no table with a {site_column!r} column; "
                "give a site mapping CSV (case,site)"
            )
        return read_site_map(release_table, site_column)
    return None


def check_covers(mapping: Mapping[str, str], cases: Iterable[str], source: str) -> None:
    """Every imported case needs a site: list those the mapping leaves out (all at once)."""
    missing = [case for case in cases if case not in mapping]
    if missing:
        raise ImporterError(
            _listed(f"{source} gives no site for {len(missing)} case(s)", missing)
        )


def _listed(what: str, items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    more = f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
    return f"{what}: {shown}{more}"


def relabel_sites(root: Path, mapping: Mapping[str, str]) -> None:
    """Rewrite the `site` column of a canonical truth set's cases.csv from `mapping`, keeping
    every other column as it is (a truth set loaded as is, with a separate site table)."""
    path = Path(root) / "cases.csv"
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    if "site" not in header:
        raise ImporterError("cases.csv has no site column to fill from the site mapping")
    check_covers(mapping, [(row.get("case") or "").strip() for row in rows], "the site mapping")
    for row in rows:
        row["site"] = mapping[(row.get("case") or "").strip()]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
