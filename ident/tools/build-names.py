#!/usr/bin/env python3
"""Build ident/data/names.tsv from the shared name resources.

Usage: ident/tools/build-names.py [SHARED_NAMES_DIR] > ident/data/names.tsv
(default SHARED_NAMES_DIR: ../shared/data/names relative to the repository)

Inputs (see ident/data/LICENSES.md for their licences):
  wikidata_transliteration/ar_latin_variant_groups.csv  CC0-1.0
  wikidata_transliteration/ru_latin_variant_groups.csv  CC0-1.0
  popular_names_by_country/common-forenames-by-country.csv  CC0-1.0
  popular_names_by_country/common-surnames-by-country.csv   CC0-1.0
  nicknames/names.csv  Apache-2.0

Output lines (UTF-8, tab-separated, raw spellings: the library normalises
them when it loads the file, with the same code as the queries):
  G <gid> <native|-> <spelling>:<count> ...   transliteration group
  K <gid> <name> <nickname> ...               nickname group
  F <country> <M|F> <romanised> <native|->    common forename
  S <country> <romanised> <native|->          common surname
"""
import csv
import os
import sys
from collections import OrderedDict, defaultdict

COUNTRIES = {"RO", "MD", "BA", "RS", "HR", "ME", "MK", "XK", "AL", "TR",
             "MA", "DZ", "TN", "EG", "LY", "IQ", "SY", "JO", "LB", "PS",
             "SD", "AF", "PK", "BG", "UA", "RU"}


def clean(s):
    return s.replace("\t", " ").replace("\n", " ").strip()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        here, "..", "..", "..", "shared", "data", "names")
    out = sys.stdout
    out.write("# maillage ident name knowledge, built by "
              "ident/tools/build-names.py\n")
    out.write("# sources and licences: ident/data/LICENSES.md "
              "(CC0-1.0 Wikidata transliterations and popular names;\n")
    out.write("# Apache-2.0 nicknames, Copyright carltonnorthern/nicknames "
              "contributors)\n")
    for tag, fn in (("ar", "ar_latin_variant_groups.csv"),
                    ("ru", "ru_latin_variant_groups.csv")):
        groups = OrderedDict()
        with open(os.path.join(src, "wikidata_transliteration", fn),
                  encoding="utf-8") as f:
            for row in csv.DictReader(f):
                groups.setdefault(row["source_script_name"], []).append(
                    (clean(row["latin_spelling"]), int(row["count"])))
        for native, sp in groups.items():
            native = clean(native)
            if ":" in native or not sp:
                continue
            cells = ["%s:%d" % (s, c) for s, c in sp if s and ":" not in s]
            if len(cells) < 2:
                continue
            out.write("G\t%s:%s\t%s\t%s\n" % (tag, native, native,
                                              "\t".join(cells)))
    nick = OrderedDict()
    with open(os.path.join(src, "nicknames", "names.csv"),
              encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["relationship"] != "has_nickname":
                continue
            nick.setdefault(clean(row["name1"]), []).append(clean(row["name2"]))
    for name, ns in nick.items():
        out.write("K\tnn:%s\t%s\t%s\n" % (name, name, "\t".join(ns)))
    seen = set()
    with open(os.path.join(src, "popular_names_by_country",
                           "common-forenames-by-country.csv"),
              encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            c = row["Country"]
            if c not in COUNTRIES:
                continue
            rom, loc = clean(row["Romanized Name"]), clean(row["Localized Name"])
            key = ("F", c, row["Gender"], rom)
            if not rom or key in seen:
                continue
            seen.add(key)
            out.write("F\t%s\t%s\t%s\t%s\n" % (c, row["Gender"], rom,
                                               loc if loc != rom else "-"))
    with open(os.path.join(src, "popular_names_by_country",
                           "common-surnames-by-country.csv"),
              encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            c = row["Country"]
            if c not in COUNTRIES:
                continue
            rom, loc = clean(row["Romanized Name"]), clean(row["Localized Name"])
            key = ("S", c, rom)
            if not rom or key in seen:
                continue
            seen.add(key)
            out.write("S\t%s\t%s\t%s\n" % (c, rom, loc if loc != rom else "-"))


if __name__ == "__main__":
    main()
