#!/usr/bin/env bash
# Answer quality by evidence ranker (fused, learned, off = the hand score), on every eval set, in one run
# (results in bench/out/).
#   [VARIANTS="fused off"] bench/answers.sh [extra lacqa eval flags, e.g. --ablate draft]
# Libraries: the seeds (index/), eval/library2 (/tmp/lacqa-lib2-index), and the SQuAD validation libraries made
# by bench/squad_sets.py from held-out articles (/tmp/sq10, /tmp/sq40), each built with `lacqa index` first.
set -euo pipefail
cd "$(dirname "$0")/.."
L=.venv/bin/lacqa
mkdir -p bench/out
run() {  # name set index sources [flags...]
  local name=$1 set=$2 index=$3 sources=$4; shift 4
  $L eval --set "$set" --index "$index" --sources "$sources" --json --details "bench/out/$name.jsonl" "$@" \
    > "bench/out/$name.json"
  python3 -c "import json,sys; d=json.load(open('bench/out/$name.json'))['lacqa']; print('$name', {k: d[k] for k in ('accuracy','accuracy_answer_text','abstained_unanswerable','false_abstention','unsupported_facts','latency_p50_s')})"
}
for variant in ${VARIANTS:-fused learned off}; do
  flags=("$@")
  export LACQA_ANSWER__RANKER=$variant
  run "dev_$variant" eval/dev.jsonl index seeds "${flags[@]}"
  for h in heldout heldout2 heldout3; do run "${h}_$variant" "eval/$h.jsonl" index seeds "${flags[@]}"; done
  [ -d /tmp/lacqa-lib2-index ] && run "library2_$variant" eval/library2.jsonl /tmp/lacqa-lib2-index eval/library2 "${flags[@]}"
  [ -d /tmp/sq10/index ] && run "sq10_$variant" /tmp/sq10/questions.jsonl /tmp/sq10/index /tmp/sq10/sources "${flags[@]}"
  [ -d /tmp/sq40/index ] && run "sq40_$variant" /tmp/sq40/questions.jsonl /tmp/sq40/index /tmp/sq40/sources "${flags[@]}"
  [ -d /tmp/sqfit/index ] && run "sqfit_$variant" /tmp/sqfit/questions.jsonl /tmp/sqfit/index /tmp/sqfit/sources "${flags[@]}"
done
