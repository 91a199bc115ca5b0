# Shared by bench/run and bench/redis-floor (sourced, with say/die defined).

# bench_data DIR LINES DOSSIERS SEED: the generated week in
# DIR/data-LINES-DOSSIERS-SEED (bench/gen.py, once: kept for the next runs).
bench_data() {
	local data=$1/data-$2-$3-$4 t0
	if [ ! -s "$data/done" ]; then
		say "generating $2 lines and $3 dossiers (seed $4) into $data"
		t0=$(date +%s.%N)
		python3 bench/gen.py --out "$data" --lines "$2" --dossiers "$3" --seed "$4" >&2
		echo "generated in $(echo "$(date +%s.%N) - $t0" | bc) s" >"$data/done"
	fi
	echo "$data"
}
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
