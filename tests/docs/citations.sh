#!/bin/sh
# docs_citations: every invariant a comment or test cites by name (I1, R4,
# G6, ...: a capital I, R, P, S, G or W and a number) is defined in docs/, as
# "**R4.**"; and no file of the repository cites a design text that lives
# outside it.
# Usage: citations.sh SOURCE_DIR
set -eu
cd "$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
grep -rhoE '\*\*[IRPSGW][0-9]+\.\*\*' docs 2>/dev/null | tr -d '*.' | sort -u >"$work/defined" || true
if [ ! -s "$work/defined" ]; then
  echo "docs_citations: docs/ defines no invariant"
  exit 1
fi
# file:line:name for every citation in the code, the tests and the examples
# (the field kind in ZL_FIELD(T, KIND, member) is not a citation, even when it
# reads like one).
grep -rnE '\b[IRPSGW][0-9]+\b' src tests include examples |
  perl -ne 'my ($f, $l, $t) = /^([^:]+):(\d+):(.*)$/ or next;
            $t =~ s/ZL_FIELD\([^)]*\)//g;
            print "$f:$l:$1\n" while $t =~ /\b([IRPSGW][0-9]+)\b/g' >"$work/cited" || true
awk -F: 'NR == FNR { defined[$0] = 1; next }
          !($3 in defined) { printf "docs_citations: %s:%s cites %s, which docs/ does not define\n", $1, $2, $3 }' \
  "$work/defined" "$work/cited" >"$work/undefined"
status=0
if [ -s "$work/undefined" ]; then
  cat "$work/undefined"
  status=1
fi
# The design text the code once cited lived outside the repository.
outside=$(grep -rlIE 'DESIGN[.]md|[.][.]/shar[e]d/|/work/shar[e]d' --exclude-dir=.git --exclude-dir='build*' . || true)
if [ -n "$outside" ]; then
  echo "docs_citations: these files cite a design text outside the repository (cite docs/design.md):"
  echo "$outside"
  status=1
fi
if [ $status -eq 0 ]; then
  echo "docs_citations: $(wc -l <"$work/cited") citations of $(wc -l <"$work/defined") invariants, all defined in docs/"
fi
exit $status
