#!/bin/sh
# Runs libFuzzer targets and reports per target: executions, edges (cov),
# features, corpus size and crashes.
#   run.sh smoke|long SECONDS RUNS BUILD OUT TARGET...
# smoke: kselftest TAP (one test per target: seeds and regressions pass, no
#        crash in SECONDS); long: SECONDS each (or RUNS executions if RUNS >
#        0, whichever is first) and "goal" lines in OUT.
# OUT gets one line per target: executions, edges (cov), features, corpus,
# crashes, wall seconds, exec/s. Targets run one after the other, each
# single-threaded (-fork=0); -max_len FUZZ_MAX_LEN (8192).
# Seeds: selftests/fuzz-user/corpus/TARGET (kept in the repo), regressions
# (inputs that once crashed): selftests/fuzz-user/regress/TARGET, dictionary:
# selftests/fuzz-user/TARGET.dict. New inputs go to BUILD/fuzz/corpus/TARGET.
mode=$1; seconds=$2; runs=$3; build=$4; out=$5; shift 5
here=$(dirname "$0")
n=$#; i=0; failed=0
# OUT keeps the lines of targets not run this time (a partial run updates it)
touch "$out"
for t in "$@"; do
	grep -v -E "^(goal )?fuzz $t[: ]" "$out" >"$out.tmp"; mv "$out.tmp" "$out"
done
echo "TAP version 13"
echo "1..$n"
for t in "$@"; do
	i=$((i + 1))
	work=$build/fuzz/corpus/$t; art=$build/fuzz/artifacts/$t
	mkdir -p "$work" "$art"
	dirs="$work"
	for d in "$here/corpus/$t" "$here/regress/$t"; do
		[ -d "$d" ] && dirs="$dirs $d"
	done
	dict=""; [ -f "$here/$t.dict" ] && dict="-dict=$here/$t.dict"
	limit=""; [ "$runs" -gt 0 ] && limit="-runs=$runs"
	log=$build/fuzz/$t.log
	start=$(date +%s)
	# a smaller quarantine than the default 256 MB: the same use-after-free
	# checks within and across a few inputs, a fraction of the memory
	export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=32}"
	# shellcheck disable=SC2086
	"$build/fuzz/$t" -max_total_time="$seconds" $limit $dict -close_fd_mask=3 \
		-print_final_stats=1 -artifact_prefix="$art/" -timeout=10 -rss_limit_mb=2048 \
		-fork=0 -max_len="${FUZZ_MAX_LEN:-8192}" $dirs >"$log" 2>&1
	rc=$?
	wall=$(($(date +%s) - start))
	# (-a: a harness may write binary bytes into the log)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -a -Eo 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
	ft=$(grep -a -Eo 'ft: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
	corp=$(grep -a -Eo 'corp: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	crashes=$(ls "$art" | grep -c -E '^(crash|leak|timeout|oom)-')
	line="fuzz $t: execs ${execs:-0} cov ${cov:-0} ft ${ft:-0} corpus ${corp:-0} crashes $crashes wall_s $wall exec_per_s ${rate:-0} rc $rc"
	echo "$line" >>"$out"
	echo "# $line"
	if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
		grep -E 'ERROR|SUMMARY|==[0-9]+==|Test unit written' "$log" | head -n 20 | sed 's/^/# /'
		echo "not ok $i $t"
		failed=$((failed + 1))
	else
		echo "ok $i $t"
	fi
	if [ "$mode" = long ]; then
		verdict=MISS
		[ "$crashes" -eq 0 ] && [ "$rc" -eq 0 ] && [ "${execs:-0}" -ge 10000000 ] && verdict=PASS
		echo "goal fuzz $t >=10M execs 0 crashes: $verdict (${execs:-0} execs, cov ${cov:-0}, $crashes crashes)" >>"$out"
	fi
done
echo "# Totals: pass:$((n - failed)) fail:$failed xfail:0 xpass:0 skip:0 error:0"
[ "$failed" -eq 0 ]
