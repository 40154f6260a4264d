#!/usr/bin/env bash
# Regenerates the option reference inside docs/SPEC.md from the registry (`nmlab describe --markdown`).
set -euo pipefail
bin=${1:-build/nmlab}
doc=docs/SPEC.md
begin='<!-- BEGIN GENERATED: nmlab describe --markdown -->'
end='<!-- END GENERATED -->'
gen=$(mktemp)
"$bin" describe --markdown > "$gen"
/usr/bin/python3 - "$doc" "$gen" "$begin" "$end" <<'PY'
import sys
doc, gen, begin, end = sys.argv[1:]
text = open(doc).read()
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(doc, "w").write(head + begin + "\n" + open(gen).read() + end + tail)
PY
rm -f "$gen"
echo "updated $doc"
