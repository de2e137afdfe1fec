#!/usr/bin/env python3
"""Checks the 2019 census table of ethnic groups by province and derives the national shares.

`census_2019_ethnicity.csv` is the General Statistics Office's table of the population by ethnic
group and province (Kết quả toàn bộ Tổng điều tra dân số và nhà ở năm 2019), transcribed: one row
per ethnic group, one column per pre-2025 province code, persons (empty = none counted). This
script (standard-library Python) checks the transcription against totals published apart from
it, then writes `ethnicities.csv` (national shares, percent) from the same counts, so the
national and the per-province figures the generator draws from are one table:

    python3 data/derive_ethnicity.py && git diff --stat data/   # no change expected

It fails if a row is not 63 numbers, if a group's total is not the published national total (the
two published tables differ by one person for Ơ Đu and Rơ Măm), if a province's total is more
than 2,000 (rounding plus foreign residents) off the 2019 population in `provinces.csv`, or if the North Central and Central Coast region's totals are not the
published regional table's; it prints each region's shares (what the generator's test checks).
"""

import csv
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# National totals by ethnic group, 1 April 2019 (GSO, Kết quả toàn bộ TĐTDS 2019, table of the
# population by ethnic group; the same figures as the GSO press release of 19 December 2019).
NATIONAL = {
    "Kinh": 82085826, "Tày": 1845492, "Thái": 1820950, "Mường": 1452095, "Mông": 1393547,
    "Khmer": 1319652, "Nùng": 1083298, "Dao": 891151, "Hoa": 749466, "Gia Rai": 513930,
    "Ê Đê": 398671, "Ba Na": 286910, "Xơ Đăng": 212277, "Sán Chay": 201398, "Cơ Ho": 200800,
    "Sán Dìu": 183004, "Chăm": 178948, "Hrê": 149460, "Ra Glai": 146613, "Mnông": 127334,
    "Xtiêng": 100752, "Bru Vân Kiều": 94598, "Thổ": 91430, "Khơ Mú": 90612, "Cơ Tu": 74173,
    "Giáy": 67858, "Giẻ Triêng": 63322, "Tà Ôi": 52356, "Mạ": 50322, "Co": 40442,
    "Chơ Ro": 29520, "Xinh Mun": 29503, "Hà Nhì": 25539, "Chu Ru": 23242, "Lào": 17532,
    "Kháng": 16180, "La Chí": 15126, "Phù Lá": 12471, "La Hủ": 12113, "La Ha": 10157,
    "Pà Thẻn": 8248, "Chứt": 7513, "Lự": 6757, "Lô Lô": 4827, "Mảng": 4650, "Cơ Lao": 4003,
    "Bố Y": 3232, "Cống": 2729, "Ngái": 1649, "Si La": 909, "Pu Péo": 903, "Rơ Măm": 639,
    "Brâu": 525, "Ơ Đu": 428,
}

# The region "Bắc Trung Bộ và duyên hải miền Trung" in the census's regional table (population by
# ethnic group, sex, urban and rural): its total and its first groups.
NORTH_CENTRAL_AND_COAST = ("Bắc Trung Bộ và duyên hải miền Trung", 20187293, {
    "Kinh": 18111079, "Tày": 14429, "Thái": 590191, "Hoa": 16616, "Khmer": 1851,
    "Mường": 382703, "Nùng": 8514, "Mông": 52898, "Dao": 7943, "Gia Rai": 3158, "Ngái": 222,
    "Ê Đê": 29760, "Ba Na": 26697, "Xơ Đăng": 67385, "Sán Chay": 262, "Cơ Ho": 22755,
})


# Where the table by province and the national table differ as published: by one person.
ONE_PERSON = {"Ơ Đu": 1, "Rơ Măm": 1}

# Residents counted in a province's total but in no ethnic group: foreigners (about 1,800 in Hồ
# Chí Minh City), plus the rounding of provinces.csv to thousands.
FOREIGNERS_AND_ROUNDING = 2000


def read(name):
    with open(os.path.join(HERE, name), encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def main():
    rows = read("census_2019_ethnicity.csv")
    codes = rows[0][1:]
    provinces = {r[0]: (r[1], int(r[2])) for r in read("provinces.csv")[1:]}
    regions = {r[0]: r[1] for r in read("regions.csv")[1:]}
    problems = []
    if sorted(codes) != sorted(provinces) or sorted(regions) != sorted(provinces):
        problems.append("the census table, provinces.csv and regions.csv name different provinces")
    counts = {}
    for row in rows[1:]:
        group, cells = row[0], row[1:]
        if len(cells) != len(codes):
            problems.append(f"{group}: {len(cells)} cells, not {len(codes)}")
            continue
        counts[group] = {c: int(v) for c, v in zip(codes, cells) if v.strip()}
    if sorted(counts) != sorted(NATIONAL):
        problems.append(f"groups differ from the national table: {sorted(set(counts) ^ set(NATIONAL))}")
    for group, by_province in counts.items():
        total = sum(by_province.values())
        if abs(total - NATIONAL.get(group, 0)) > ONE_PERSON.get(group, 0):
            problems.append(f"{group}: provinces add up to {total}, published {NATIONAL.get(group)}")
    for code, (name, thousands) in provinces.items():
        total = sum(by_province.get(code, 0) for by_province in counts.values())
        if abs(total - thousands * 1000) > FOREIGNERS_AND_ROUNDING:
            problems.append(f"{code} {name}: {total} persons, provinces.csv has {thousands} thousand")
    region, published_total, published = NORTH_CENTRAL_AND_COAST
    in_region = [c for c in codes if regions[c] == region]
    total = sum(sum(v.get(c, 0) for c in in_region) for v in counts.values())
    if abs(total - published_total) > FOREIGNERS_AND_ROUNDING:
        problems.append(f"{region}: {total} persons, published {published_total}")
    for group, persons in published.items():
        got = sum(counts[group].get(c, 0) for c in in_region)
        if got != persons:
            problems.append(f"{region}, {group}: {got}, published {persons}")
    if problems:
        sys.exit("census_2019_ethnicity.csv:\n  " + "\n  ".join(problems))

    everyone = sum(NATIONAL.values())
    with open(os.path.join(HERE, "ethnicities.csv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("name,percent\n")
        for group, persons in sorted(NATIONAL.items(), key=lambda kv: -kv[1]):
            f.write(f"{group},{100 * persons / everyone:.4f}\n")

    print(f"{'region':40} {'persons':>11}  Kinh %   largest other groups (%)")
    for region in dict.fromkeys(regions[c] for c in codes):
        in_region = [c for c in codes if regions[c] == region]
        by_group = {g: sum(v.get(c, 0) for c in in_region) for g, v in counts.items()}
        total = sum(by_group.values())
        others = sorted(((p, g) for g, p in by_group.items() if g != "Kinh"), reverse=True)[:4]
        listed = ", ".join(f"{g} {100 * p / total:.2f}" for p, g in others)
        print(f"{region:40} {total:>11}  {100 * by_group['Kinh'] / total:6.2f}   {listed}")
    print(f"{'Việt Nam':40} {everyone:>11}  {100 * NATIONAL['Kinh'] / everyone:6.2f}")
    check_religions()


def religion_of(table, group, code):
    """The religion shares (percent) of `group` in province `code`: the rows of the group that
    name the province, else the group's `*` rows, else the `*` group's (every other group)."""
    for key in ((group, code), (group, "*"), ("*", code), ("*", "*")):
        if key in table:
            return table[key]
    raise KeyError((group, code))


def check_religions():
    """The national religion shares the estimated table gives with the census's ethnic
    composition, against the census's published national shares (religions.csv)."""
    rows = read("census_2019_ethnicity.csv")
    codes = rows[0][1:]
    table = {}
    for group, provinces, religion, percent in read("religion_by_group.csv")[1:]:
        for code in provinces.split():
            table.setdefault((group, code), {})[religion] = float(percent)
    published = {r[0]: float(r[1]) for r in read("religions.csv")[1:]}
    implied, everyone = {}, 0
    for row in rows[1:]:
        for code, cell in zip(codes, row[1:]):
            if not cell.strip():
                continue
            shares = religion_of(table, row[0], code)
            total = sum(shares.values())
            for religion, percent in shares.items():
                if religion not in published:
                    sys.exit(f"religion_by_group.csv: {religion} is not in religions.csv")
                implied[religion] = implied.get(religion, 0) + int(cell) * percent / total
            everyone += int(cell)
    print(f"\n{'religion':34} {'census %':>9} {'table %':>8}")
    off = []
    for religion, percent in published.items():
        got = 100 * implied.get(religion, 0) / everyone
        print(f"{religion:34} {percent:9.3f} {got:8.3f}")
        # Within a tenth of the census's share, or 0.3 percentage points for the largest.
        if abs(got - percent) > max(0.3 if percent > 1 else 0.05, percent / 10):
            off.append(f"{religion}: {got:.3f}% against the census's {percent}%")
    if off:
        sys.exit("religion_by_group.csv is off the national shares:\n  " + "\n  ".join(off))


if __name__ == "__main__":
    main()
