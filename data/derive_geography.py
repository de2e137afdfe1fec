#!/usr/bin/env python3
"""Derives vnpop's administrative-geography tables from two published Python packages.

    pip download --no-deps vietnam-provinces==2025.10.1 vietnam-address-converter==1.0.5 -d wheels
    python3 data/derive_geography.py wheels/vietnam_provinces-*.whl \
        wheels/vietnam_address_converter-*.whl

Writes, next to this script (see data/README.md):

- provinces_2025.csv   the 34 provinces and centrally-run cities since 1 July 2025
- communes_2025.csv    the 3,321 commune-level units (xã, phường, đặc khu) with official codes
- province_merger.csv  each of the 63 pre-2025 province codes -> the current province
- wards_2024.csv       every pre-2025 ward/commune (old province, district, ward) -> the
                       current unit(s) containing it (a split ward lists every target)
- districts.csv        rewritten: the places of origin, every one a district-level unit of
                       30 June 2025 as the ward list spells it (see write_districts)

Every name is tidied once here (`tidy`): single spaces, hyphens and apostrophes as the official
lists write them, tone marks placed officially ("Hòa", "Thủy"). vnpop's matching accepts both
placements (`domain::folding::canonical`), so "Hoà" still finds "Hòa".

Only the standard library is used; the wheels are read as zip files. Official codes and names
come from `vietnam-provinces`; `vietnam-address-converter` gives the old-to-new mapping with
its own internal codes, which are resolved to the official ones by (province, name). Every row
must resolve: the script fails loudly rather than drop data.
"""

import csv
import io
import json
import re
import sys
import unicodedata
import zipfile
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent


def fold(text: str) -> str:
    """Lower case, no diacritics, đ -> d, words joined by single spaces, no punctuation."""
    text = unicodedata.normalize("NFD", text)
    text = "".join(c for c in text if not "\u0300" <= c <= "\u036f")
    text = text.replace("đ", "d").replace("Đ", "D").lower()
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


OLD_STYLE_TONES = {"oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa",
                   "oè": "òe", "oé": "óe", "oẻ": "ỏe", "oẽ": "õe", "oẹ": "ọe",
                   "uỳ": "ùy", "uý": "úy", "uỷ": "ủy", "uỹ": "ũy", "uỵ": "ụy"}


def exact_key(name: str) -> str:
    """Same letters and marks: NFC, case, spacing, hyphens and tone-mark placement ignored."""
    key = unicodedata.normalize("NFC", name).lower()
    for old, new in OLD_STYLE_TONES.items():
        key = key.replace(old, new)
    key = key.replace("’", "'").replace("‘", "'")
    return " ".join(re.sub(r"[-–,.]", " ", key).split())


PROVINCE_PREFIXES = ("thanh pho ", "tinh ")


def province_key(name: str) -> str:
    key = fold(name)
    for prefix in PROVINCE_PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix):]
    return key.replace(" ", "").replace("thuathien", "")


UNIT_TYPES = {"Thị Trấn": "Thị trấn", "Thành Phố": "Thành phố", "Thị Xã": "Thị xã"}

# Tone marks placed as the official lists place them (Resolution 202/2025/QH15, the General
# Statistics Office's lists, most of both upstream sources): on the first vowel of a final "oa",
# "oe", "uy" ("Hòa", "Thủy"), not the second ("Hoà", "Thuỷ"). Only at the end of a syllable
# ("Hoàng", "Khoái" are right as they are) and never in "qu" ("Quý").
OFFICIAL_TONES = re.compile(r"([oO][àáảãạèéẻẽẹ]|(?<![qQ])[uU][ỳýỷỹỵ])(?!\w)")
TONE_MOVES = {"à": ("̀", "a"), "á": ("́", "a"), "ả": ("̉", "a"), "ã": ("̃", "a"),
              "ạ": ("̣", "a"), "è": ("̀", "e"), "é": ("́", "e"), "ẻ": ("̉", "e"),
              "ẽ": ("̃", "e"), "ẹ": ("̣", "e"), "ỳ": ("̀", "y"), "ý": ("́", "y"),
              "ỷ": ("̉", "y"), "ỹ": ("̃", "y"), "ỵ": ("̣", "y")}


def _official_tone(match: re.Match) -> str:
    first, toned = match.group(1)
    mark, bare = TONE_MOVES[toned]
    return unicodedata.normalize("NFC", first + mark) + bare


def tidy(name: str) -> str:
    """A unit name as published, tidied once: NFC, single spaces, an en or em dash as the
    hyphen the official lists use, curly apostrophes as straight ones ("Ea H'leo"), tone marks
    placed officially ("Hòa", "Thủy")."""
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\u2013", "-").replace("\u2014", "-")
    name = name.replace("\u2019", "'").replace("\u2018", "'")
    name = " ".join(name.split())
    return OFFICIAL_TONES.sub(_official_tone, name)


def unit_name(name: str) -> str:
    """A unit name tidied, its type word in the official case: "Thị Trấn X" -> "Thị trấn X"."""
    name = tidy(name)
    for wrong, right in UNIT_TYPES.items():
        if name.startswith(wrong + " "):
            return right + name[len(wrong):]
    return name


def read_member(wheel: str, suffix: str) -> str:
    with zipfile.ZipFile(wheel) as z:
        (name,) = [n for n in z.namelist() if n.endswith(suffix)]
        return z.read(name).decode("utf-8")


def converter_data(wheel: str) -> dict:
    source = read_member(wheel, "vietnam_address_converter/data.py")
    start = source.index("json.loads(") + len("json.loads(")
    literal, _ = _string_literal(source, start)
    return json.loads(literal)


def _string_literal(source: str, start: int):
    """The Python string literal at `start` (the module holds one big single-quoted JSON)."""
    import ast

    quote = source[start]
    end = start + 1
    while True:
        end = source.index(quote, end)
        backslashes = 0
        k = end - 1
        while source[k] == "\\":
            backslashes += 1
            k -= 1
        if backslashes % 2 == 0:
            break
        end += 1
    return ast.literal_eval(source[start:end + 1]), end + 1


def main(provinces_wheel: str, converter_wheel: str) -> None:
    divisions = json.loads(read_member(provinces_wheel, "data/nested-divisions.json"))
    old_codes = {}
    with open(HERE / "provinces.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            old_codes[province_key(row["name"])] = row["code"]
    assert len(old_codes) == 63, len(old_codes)

    provinces = []
    communes = []
    commune_by_key = {}
    for p in divisions:
        code = f"{p['code']:03d}"
        name = tidy(p["name"])
        short = re.sub(r"^(Thành phố|Tỉnh) ", "", name)
        full = name if name.startswith("Thành phố") else f"Tỉnh {short}"
        provinces.append((code, short, full))
        for w in p["wards"]:
            communes.append((f"{w['code']:05d}", code, unit_name(w["name"])))
            exact = (province_key(p["name"]), exact_key(w["name"]))
            assert exact not in commune_by_key, exact
            commune_by_key[exact] = f"{w['code']:05d}"
    assert len(provinces) == 34, len(provinces)
    assert len(communes) == 3321, len(communes)
    province_of = {code: province for code, province, _ in communes}

    data = converter_data(converter_wheel)
    targets = defaultdict(list)
    merger = {}
    missing = set()
    for row in data["mapping"]["rows"]:
        old, new = row["old"], row["new"]
        old_code = old_codes[province_key(old["province_name"])]
        new_key = (province_key(new["province_name"]), exact_key(new["ward_name"]))
        if new_key not in commune_by_key:
            missing.add(new_key)
            continue
        new_code = commune_by_key[new_key]
        key = (old_code, unit_name(old["district_name"]), unit_name(old["ward_name"]))
        if new_code not in targets[key]:
            targets[key].append(new_code)
        merger.setdefault(old_code, set()).add(province_of[new_code])
    assert not missing, sorted(missing)
    assert len(merger) == 63
    for old_code, news in merger.items():
        assert len(news) == 1, (old_code, news)

    def write(name, header, rows):
        with open(HERE / name, "w", encoding="utf-8", newline="") as f:
            f.write(",".join(header) + "\n")
            for r in rows:
                assert all("," not in c for c in r), r
                f.write(",".join(r) + "\n")

    write("provinces_2025.csv", ["code", "name", "full_name"], sorted(provinces))
    write("communes_2025.csv", ["code", "province_code", "name"], sorted(communes))
    write(
        "province_merger.csv",
        ["old_code", "current_code"],
        sorted((o, next(iter(n))) for o, n in merger.items()),
    )
    write(
        "wards_2024.csv",
        ["province_code", "district", "ward", "current_codes"],
        sorted((p, d, w, " ".join(t)) for (p, d, w), t in targets.items()),
    )
    dropped = write_districts(sorted({(p, d) for (p, d, _) in targets}))
    print(
        f"{len(provinces)} provinces, {len(communes)} communes, "
        f"{len(targets)} pre-2025 wards, {sum(len(t) > 1 for t in targets.values())} split; "
        f"districts.csv: {len(dropped)} names that were no district on 30 June 2025 left out"
        + "".join(f"\n  {p} {d}" for p, d in dropped)
    )


def district_key(name: str) -> str:
    """A district's name without its type word, folded: "Thị xã Mộc Châu" -> "moc chau"."""
    key = fold(name)
    for prefix in ("thanh pho ", "thi xa ", "quan ", "huyen "):
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def write_districts(districts: list) -> list:
    """Rewrites districts.csv (places of origin) so that every row is a district-level unit as
    it stood on 30 June 2025, spelt as the ward list spells it: a row naming one (whatever its
    type word then: "Huyện Mộc Châu" became "Thị xã Mộc Châu") keeps its place, with that
    spelling; a row naming none (merged away before the reform: "Thị xã Cửa Lò", "Thành phố
    Huế" as a district) is left out and returned; the ward list's districts no row names are
    added after, so the table holds them all."""
    by_key = defaultdict(list)
    for province, district in districts:
        by_key[(province, district_key(district))].append(district)

    def find(province: str, name: str):
        """The district `name` is: spelt alike (type word included), else the only one of
        that name ("Huyện Kỳ Anh" and "Thị xã Kỳ Anh" were two)."""
        same = by_key[(province, district_key(name))]
        exact = [d for d in same if exact_key(d) == exact_key(name)]
        return (exact or same)[0] if len(exact or same) == 1 else None

    rows, dropped, named = [], [], set()
    with open(HERE / "districts.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            province = row["province_code"]
            district = find(province, tidy(row["district"]))
            if district is None:
                dropped.append((province, row["district"]))
            elif (province, district) not in named:
                named.add((province, district))
                rows.append((province, district))
    rows += [d for d in districts if d not in named]
    rows.sort(key=lambda r: r[0])  # stable: the table's order within a province is kept
    with open(HERE / "districts.csv", "w", encoding="utf-8", newline="") as f:
        f.write("province_code,district\n")
        for province, district in rows:
            f.write(f"{province},{district}\n")
    return dropped


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
