#!/usr/bin/env bash
# bench/bench.sh: `ota serve` against nginx (and, optionally, AutoConnect's
# updateserver.py) on loopback, in one run, reported as ratios.
#
# Usage: bench/bench.sh [--ota PATH] [--duration SECONDS]
#                       [--reference PATH_TO_updateserver.py]
#                       [--304-client auto|h2load|wrk]
#
# Needs: wrk, curl, nginx (Debian: nginx-light), md5sum; h2load (Debian:
# nghttp2-client) for the 304 workload, see below; python3 only with
# --reference. Every server is started on 127.0.0.1 from a temporary
# folder and stopped on exit. With the defaults the whole run takes about
# 95 s (8 timed runs of 10 s, 1 s warm-ups, start-up), plus
# two runs of 5 s with --reference.
#
# The 304 workload is driven by h2load when it is installed (and skipped
# when it is not): ota's 304 carries the image's Content-Length (RFC 9110
# section 8.6), and the http_parser inside Debian's wrk 4.1 then waits for
# a body that a 304 never has, so wrk completes no request against it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OTA="$ROOT/build/ota"
DURATION=10
REFERENCE=""
CLIENT_304=auto
REF_DURATION_MAX=5	# the reference is single-threaded: keep its runs short
WARMUP=1
IMAGE_NAME=bench.bin
IMAGE_SIZE=1048576
NGINX=${NGINX:-/usr/sbin/nginx}

die() {
	printf 'bench: %s\n' "$*" >&2
	exit 1
}

usage() {
	sed -n '5,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

while [ $# -gt 0 ]; do
	case $1 in
	--ota) [ $# -ge 2 ] || usage 2; OTA=$2; shift 2 ;;
	--ota=*) OTA=${1#*=}; shift ;;
	--duration) [ $# -ge 2 ] || usage 2; DURATION=$2; shift 2 ;;
	--duration=*) DURATION=${1#*=}; shift ;;
	--reference) [ $# -ge 2 ] || usage 2; REFERENCE=$2; shift 2 ;;
	--reference=*) REFERENCE=${1#*=}; shift ;;
	--304-client) [ $# -ge 2 ] || usage 2; CLIENT_304=$2; shift 2 ;;
	--304-client=*) CLIENT_304=${1#*=}; shift ;;
	-h | --help) usage 0 ;;
	*) printf 'bench: unknown argument: %s\n' "$1" >&2; usage 2 ;;
	esac
done

if ! [[ $DURATION =~ ^[0-9]+$ ]] || [ "$DURATION" -lt 1 ] ||
	[ "$DURATION" -gt 60 ]; then
	die "--duration must be 1..60 seconds"
fi
[ -x "$OTA" ] || die "no ota binary at $OTA (run 'make' or pass --ota)"
for tool in wrk curl md5sum head awk sort cmp; do
	command -v "$tool" >/dev/null || die "$tool not found (Debian: apt-get install $tool)"
done
[ -x "$NGINX" ] || die "no nginx at $NGINX (Debian: apt-get install nginx-light)"
case $CLIENT_304 in
auto)
	if command -v h2load >/dev/null; then CLIENT_304=h2load; else CLIENT_304=none; fi ;;
h2load)
	command -v h2load >/dev/null ||
		die "h2load not found (Debian: apt-get install nghttp2-client)" ;;
wrk) ;;
*) die "--304-client must be auto, h2load or wrk" ;;
esac
if [ -n "$REFERENCE" ]; then
	[ -r "$REFERENCE" ] || die "cannot read the reference script $REFERENCE"
	command -v python3 >/dev/null || die "python3 not found (needed for --reference)"
fi
REF_DURATION=$((DURATION < REF_DURATION_MAX ? DURATION : REF_DURATION_MAX))

TMP=$(mktemp -d "${TMPDIR:-/tmp}/otabench.XXXXXX")
# nginx's workers may run as another user: let them read the catalog.
chmod 0755 "$TMP"
CATALOG="$TMP/catalog"
mkdir -m 0755 "$CATALOG"
OTA_PID=""
NGINX_PID=""
REF_PID=""

stop() {
	local pid=$1
	[ -n "$pid" ] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	stop "$REF_PID"
	stop "$NGINX_PID"
	stop "$OTA_PID"
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the catalog: one 1 MiB image, 0xE9 then pseudo-random bytes ----

IMAGE="$CATALOG/$IMAGE_NAME"
{
	printf '\351'
	head -c $((IMAGE_SIZE - 1)) /dev/urandom
} >"$IMAGE"
chmod 0644 "$IMAGE"
[ "$(wc -c <"$IMAGE")" -eq "$IMAGE_SIZE" ] || die "could not write the image"
IMAGE_MD5=$(md5sum "$IMAGE" | awk '{print $1}')
OLD_MD5=00112233445566778899aabbccddeeff	# "the device runs something else"

# ---- helpers ----

# A TCP port on 127.0.0.1 that nothing listens on (ephemeral-ish range).
port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 30000))
		port_in_use "$p" || { echo "$p"; return 0; }
	done
	die "no free loopback port found"
}

wait_port() {	# wait_port PORT PID
	for _ in $(seq 100); do
		port_in_use "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# esp_headers SKETCH_MD5 [IF_NONE_MATCH]: the ESP8266 httpUpdate header
# set as "-H" "Name: value" argument pairs, one a line (curl and h2load).
esp_headers() {
	printf '%s\n' \
		"-H" "User-Agent: ESP8266-http-Update" \
		"-H" "x-ESP8266-STA-MAC: 18:FE:AA:AA:AA:AA" \
		"-H" "x-ESP8266-AP-MAC: 1A:FE:AA:AA:AA:AA" \
		"-H" "x-ESP8266-free-space: 2097152" \
		"-H" "x-ESP8266-sketch-size: 524288" \
		"-H" "x-ESP8266-sketch-md5: $1" \
		"-H" "x-ESP8266-chip-size: 4194304" \
		"-H" "x-ESP8266-sdk-version: 2.2.2-dev(38a443e)" \
		"-H" "x-ESP8266-mode: sketch"
	if [ -n "${2:-}" ]; then
		printf '%s\n' "-H" "If-None-Match: $2"
	fi
}

# write_lua FILE SKETCH_MD5 [IF_NONE_MATCH]: a wrk script sending the same.
write_lua() {
	local name value
	echo 'wrk.method = "GET"' >"$1"
	esp_headers "$2" "${3:-}" | while IFS= read -r line; do
		[ "$line" = "-H" ] && continue
		name=${line%%: *}
		value=${line#*: }
		# Lua long strings: an ETag carries double quotes.
		printf 'wrk.headers["%s"] = [[%s]]\n' "$name" "$value"
	done >>"$1"
}

# alive: every server we started is still running (else say which died).
alive() {
	local name pid
	for name in ota nginx ref; do
		case $name in
		ota) pid=$OTA_PID ;;
		nginx) pid=$NGINX_PID ;;
		ref) pid=$REF_PID ;;
		esac
		[ -n "$pid" ] || continue
		kill -0 "$pid" 2>/dev/null || die "$name (pid $pid) is no longer running"
	done
	[ -f "$IMAGE" ] || die "the catalog image $IMAGE disappeared"
}

# check URL STATUS SKETCH_MD5 [IF_NONE_MATCH]: one curl request must answer
# STATUS; for 200, with Content-Length and a body equal to the image.
check() {
	local url=$1 want=$2 md5=$3 inm=${4:-} out hdr got cl size
	local -a args
	alive
	mapfile -t args < <(esp_headers "$md5" "$inm")
	out="$TMP/check.body"
	hdr="$TMP/check.hdr"
	got=$(curl -sS --max-time 30 -o "$out" -D "$hdr" -w '%{http_code}' \
		"${args[@]}" "$url") || die "curl $url failed"
	if [ "$got" != "$want" ]; then
		tr -d '\r' <"$hdr" >&2
		die "$url answered $got, expected $want"
	fi
	if [ "$want" = 200 ]; then
		cl=$(tr -d '\r' <"$hdr" | awk -F': *' 'tolower($1)=="content-length"{print $2}' | tail -n1)
		size=$(wc -c <"$out")
		if [ "$cl" != "$IMAGE_SIZE" ] || [ "$size" != "$IMAGE_SIZE" ]; then
			die "$url: Content-Length '$cl', $size bytes received, expected $IMAGE_SIZE"
		fi
		cmp -s "$out" "$IMAGE" || die "$url: the body is not the image"
	fi
}

# ---- start the servers ----

# A release for the GitHub-compatible API workload: a small module, as a
# MicroPython updater fetches it.
mkdir -p "$TMP/module/main/lib"
printf 'print("bench")\n' >"$TMP/module/main/app.py"
printf 'x = 1\n' >"$TMP/module/main/lib/x.py"
"$OTA" publish --data "$TMP/data" bench/app 1.0.0 "$TMP/module/main" \
	>/dev/null || die "ota publish failed"
"$OTA" serve -b 127.0.0.1 -p 0 --port-file "$TMP/ota.port" \
	-d "$CATALOG" --data "$TMP/data" -l WARNING >"$TMP/ota.log" 2>&1 &
OTA_PID=$!
for _ in $(seq 100); do
	[ -s "$TMP/ota.port" ] && break
	kill -0 "$OTA_PID" 2>/dev/null || break
	sleep 0.1
done
[ -s "$TMP/ota.port" ] || { cat "$TMP/ota.log" >&2; die "ota serve did not start"; }
OTA_PORT=$(tr -dc '0-9' <"$TMP/ota.port")
wait_port "$OTA_PORT" "$OTA_PID" || die "ota serve is not listening on $OTA_PORT"

start_nginx() {
	local port=$1
	mkdir -p "$TMP/nginx"
	cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events {
	worker_connections 1024;
}
http {
	access_log $TMP/nginx/access.log;
	client_body_temp_path $TMP/nginx/body;
	proxy_temp_path $TMP/nginx/proxy;
	fastcgi_temp_path $TMP/nginx/fastcgi;
	uwsgi_temp_path $TMP/nginx/uwsgi;
	scgi_temp_path $TMP/nginx/scgi;
	default_type application/octet-stream;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 100000;
	etag on;
	server {
		listen 127.0.0.1:$port;
		root $CATALOG;
	}
}
EOF
	"$NGINX" -p "$TMP/nginx" -e "$TMP/nginx/error.log" \
		-c "$TMP/nginx/nginx.conf" >"$TMP/nginx/stdout.log" 2>&1 &
	NGINX_PID=$!
	wait_port "$port" "$NGINX_PID"
}

for _ in 1 2 3; do
	NGINX_PORT=$(free_port)
	start_nginx "$NGINX_PORT" && break
	stop "$NGINX_PID"
	NGINX_PID=""
done
[ -n "$NGINX_PID" ] || { cat "$TMP/nginx/error.log" >&2 || true; die "nginx did not start"; }

REF_PORT=""
if [ -n "$REFERENCE" ]; then
	for _ in 1 2 3; do
		REF_PORT=$(free_port)
		python3 "$REFERENCE" --port "$REF_PORT" --bind 127.0.0.1 \
			--catalog "$CATALOG" --log WARNING >"$TMP/ref.log" 2>&1 &
		REF_PID=$!
		wait_port "$REF_PORT" "$REF_PID" && break
		stop "$REF_PID"
		REF_PID=""
	done
	[ -n "$REF_PID" ] || { cat "$TMP/ref.log" >&2; die "the reference did not start"; }
fi

OTA_URL="http://127.0.0.1:$OTA_PORT/$IMAGE_NAME"
NGINX_URL="http://127.0.0.1:$NGINX_PORT/$IMAGE_NAME"
REF_URL="http://127.0.0.1:$REF_PORT/$IMAGE_NAME"

NGINX_ETAG=$(curl -sS --max-time 10 -I "$NGINX_URL" | tr -d '\r' |
	awk -F': *' 'tolower($1)=="etag"{print $2}')
[ -n "$NGINX_ETAG" ] || die "nginx sent no ETag for $NGINX_URL"

# ---- measuring ----

# to_ms VALUE: wrk's latency ("812.00us", "1.20ms", "2.01s") in ms.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000
		else if (u == "m") n *= 60000
		printf "%.2f", n }'
}

# to_mib VALUE: a rate in wrk's or h2load's binary units ("1.23GB",
# "456.78KB", "7.05MB/s") in MiB/s.
to_mib() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u); sub(/\/s$/, "", u)
		if (u == "B") n /= 1048576; else if (u == "KB") n /= 1024
		else if (u == "GB") n *= 1024; else if (u == "TB") n *= 1048576
		printf "%.1f", n }'
}

# run_wrk NAME THREADS CONNS DURATION URL SKETCH_MD5 [IF_NONE_MATCH]:
# a warm-up, then a timed wrk run; sets R_RPS R_MIB R_P50 R_P99 R_ERR.
run_wrk() {
	local name=$1 t=$2 c=$3 d=$4 url=$5 md5=$6 inm=${7:-} out lua
	out="$TMP/run.$name.out"
	lua="$TMP/run.$name.lua"
	write_lua "$lua" "$md5" "$inm"
	timeout $((WARMUP + 30)) wrk -t"$t" -c"$c" -d"${WARMUP}s" --timeout 5s \
		-s "$lua" "$url" >/dev/null 2>&1 || true
	timeout $((d + 60)) wrk -t"$t" -c"$c" -d"${d}s" --timeout 5s --latency \
		-s "$lua" "$url" >"$out" 2>&1 ||
		{ cat "$out" >&2; die "wrk against $url failed"; }
	R_RPS=$(awk '/^Requests\/sec:/{printf "%.0f", $2}' "$out")
	R_MIB=$(to_mib "$(awk '/^Transfer\/sec:/{print $2}' "$out")")
	R_P50=$(to_ms "$(awk '$1=="50%"{print $2}' "$out")")
	R_P99=$(to_ms "$(awk '$1=="99%"{print $2}' "$out")")
	R_ERR=$(awk '/Non-2xx or 3xx/{s+=$NF} /Socket errors:/{
		gsub(/,/, ""); s+=$4+$6+$8+$10} END{print s+0}' "$out")
	if [ -z "$R_RPS" ] || [ "$R_RPS" = 0 ] ||
		grep -q 'Non-2xx or 3xx' "$out"; then
		cat "$out" >&2
		die "wrk got error statuses or no complete answer from $url (wrk 4.1 stalls on a 304 that carries Content-Length: use --304-client h2load)"
	fi
}

# run_h2load: as run_wrk, with h2load over HTTP/1.1 (latency from its
# per-request log).
run_h2load() {
	local name=$1 t=$2 c=$3 d=$4 url=$5 md5=$6 inm=${7:-} out log
	local -a args
	out="$TMP/run.$name.out"
	log="$TMP/run.$name.log"
	mapfile -t args < <(esp_headers "$md5" "$inm")
	timeout $((WARMUP + d + 60)) h2load --h1 -t"$t" -c"$c" -D "$d" \
		--warm-up-time "$WARMUP" -N 5 --log-file "$log" "${args[@]}" \
		"$url" >"$out" 2>&1 ||
		{ cat "$out" >&2; die "h2load against $url failed"; }
	R_RPS=$(awk '/^finished in/{gsub(/,/, ""); printf "%.0f", $4}' "$out")
	R_MIB=$(to_mib "$(awk '/^finished in/{print $6}' "$out")")
	read -r R_P50 R_P99 < <(awk -F'\t' '{print $3}' "$log" | sort -n |
		awk '{v[NR] = $1} END {
			if (NR == 0) { print "0 0"; exit }
			i = int(NR * 0.50); if (i < 1) i = 1
			j = int(NR * 0.99); if (j < 1) j = 1
			printf "%.2f %.2f\n", v[i] / 1000, v[j] / 1000 }')
	R_ERR=$(awk '/^requests:/{gsub(/,/, ""); s += $10 + $12 + $14}
		/^status codes:/{gsub(/,/, ""); bad = $3 + $7 + $9}
		END {print s + bad}' "$out")
	if [ -z "$R_RPS" ] || [ "$R_RPS" = 0 ] || [ "$R_ERR" != 0 ]; then
		cat "$out" >&2
		die "h2load got errors or no complete answer from $url"
	fi
}

# worker_ticks: "tid:ticks" for each libmicrohttpd worker thread of ota.
worker_ticks() {
	local t
	for t in /proc/"$OTA_PID"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = MHD-worker ] || continue
		awk -v t="${t##*/}" '{printf "%s:%d ", t, $14 + $15}' "$t/stat"
	done
}

# cpu_split BEFORE AFTER: each worker's share of the CPU ota used in between.
cpu_split() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		n = split(a, x, " "); split(b, y, " ")
		for (i = 1; i <= n; i++) {
			split(x[i], p, ":"); split(y[i], q, ":")
			d[i] = q[2] - p[2]; tot += d[i]
		}
		for (i = 1; i <= n; i++)
			printf "%s%.0f%%", (i > 1 ? " / " : ""), tot ? 100 * d[i] / tot : 0
	}'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'
}

row() {	# row SERVER SECONDS
	printf '| %s | %s | %s | %s | %s | %s | %ss |\n' "$1" \
		"$R_RPS" "$R_MIB" "$R_P50" "$R_P99" "$R_ERR" "$2"
}

# workload TITLE TOOL THREADS CONNS STATUS
# STATUS 200: a download (the device reports another sketch MD5);
# STATUS 304: "no update" (ota: the device's sketch MD5 is the image's;
# nginx: If-None-Match with its ETag; the reference has no 304).
RESULTS=""
workload() {
	local title=$1 tool=$2 t=$3 c=$4 want=$5
	local ota_md5=$OLD_MD5 nginx_inm="" ticks0 ota_split
	local ota_rps nginx_rps ref_rps=""
	if [ "$want" = 304 ]; then
		ota_md5=$IMAGE_MD5
		nginx_inm=$NGINX_ETAG
	fi
	printf '\n### %s\n\n' "$title"
	printf '| server | req/s | MiB/s | p50 ms | p99 ms | errors | run |\n'
	printf '| --- | ---: | ---: | ---: | ---: | ---: | --- |\n'

	check "$OTA_URL" "$want" "$ota_md5"
	ticks0=$(worker_ticks)
	"run_$tool" "ota-$c-$want" "$t" "$c" "$DURATION" "$OTA_URL" "$ota_md5"
	ota_split=$(cpu_split "$ticks0" "$(worker_ticks)")
	ota_rps=$R_RPS
	check "$OTA_URL" "$want" "$ota_md5"
	row "ota serve" "$DURATION"

	check "$NGINX_URL" "$want" "$OLD_MD5" "$nginx_inm"
	"run_$tool" "nginx-$c-$want" "$t" "$c" "$DURATION" "$NGINX_URL" \
		"$OLD_MD5" "$nginx_inm"
	nginx_rps=$R_RPS
	check "$NGINX_URL" "$want" "$OLD_MD5" "$nginx_inm"
	row nginx "$DURATION"

	if [ -n "$REFERENCE" ]; then
		if [ "$want" = 200 ]; then
			check "$REF_URL" 200 "$OLD_MD5"
			"run_$tool" "ref-$c-$want" "$t" "$c" "$REF_DURATION" \
				"$REF_URL" "$OLD_MD5"
			ref_rps=$R_RPS
			check "$REF_URL" 200 "$OLD_MD5"
			row updateserver.py "$REF_DURATION"
		else
			printf '| updateserver.py | n/a | n/a | n/a | n/a | n/a | has no 304 |\n'
		fi
	fi
	printf '\nota/nginx: **%s**' "$(ratio "$ota_rps" "$nginx_rps")"
	RESULTS+="| $title | $(ratio "$ota_rps" "$nginx_rps")"
	if [ -n "$REFERENCE" ]; then
		if [ -n "$ref_rps" ]; then
			printf ', ota/updateserver.py: **%s**' "$(ratio "$ota_rps" "$ref_rps")"
			RESULTS+=" | $(ratio "$ota_rps" "$ref_rps")"
		else
			RESULTS+=" | n/a"
		fi
	fi
	RESULTS+=$' |\n'
	printf '\n\nota worker threads, share of its CPU in the timed run: %s\n' \
		"$ota_split"
}

# The GitHub-compatible API: ota answers releases/latest from its store
# (a cached answer while the store is unchanged); nginx sends the same
# bytes as a static file, the most any server could do.
api_workload() {
	local title="GitHub API releases/latest, 16 connections (wrk -t2 -c16)"
	local ota_url="http://127.0.0.1:$OTA_PORT/repos/bench/app/releases/latest"
	local nginx_url="http://127.0.0.1:$NGINX_PORT/latest.json"
	local ota_rps nginx_rps
	curl -sS --max-time 10 -o "$CATALOG/latest.json" "$ota_url" ||
		die "curl $ota_url failed"
	grep -q '"tag_name":"1.0.0"' "$CATALOG/latest.json" ||
		die "$ota_url: no tag_name 1.0.0 in the answer"
	curl -sS --max-time 10 "$nginx_url" | cmp -s - "$CATALOG/latest.json" ||
		die "$nginx_url does not send the same bytes"
	printf '\n### %s\n\n' "$title"
	printf '| server | req/s | MiB/s | p50 ms | p99 ms | errors | run |\n'
	printf '| --- | ---: | ---: | ---: | ---: | ---: | --- |\n'
	run_wrk ota-api 2 16 "$DURATION" "$ota_url" "$OLD_MD5"
	ota_rps=$R_RPS
	row "ota serve" "$DURATION"
	run_wrk nginx-api 2 16 "$DURATION" "$nginx_url" "$OLD_MD5"
	nginx_rps=$R_RPS
	row "nginx (static copy)" "$DURATION"
	printf '\nota/nginx: **%s**\n' "$(ratio "$ota_rps" "$nginx_rps")"
	RESULTS+="| $title | $(ratio "$ota_rps" "$nginx_rps")"
	[ -z "$REFERENCE" ] || RESULTS+=" | n/a"
	RESULTS+=$' |\n'
}

# ---- report ----

printf '# ota serve benchmark\n\n'
printf -- '- date: %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
printf -- '- machine: %s CPUs (nproc), %s, kernel %s %s\n' "$(nproc)" \
	"$(awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo 2>/dev/null || echo unknown)" \
	"$(uname -r)" "$(uname -m)"
printf -- '- ota: %s (%s)\n' "$("$OTA" --version 2>/dev/null || echo '?')" "$OTA"
printf -- '- nginx: %s, worker_processes auto, sendfile on\n' \
	"$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')"
printf -- '- clients: wrk %s for downloads; %s for 304s\n' \
	"$(wrk -v 2>&1 | awk 'NR==1{print $2}')" \
	"$(case $CLIENT_304 in h2load) h2load --version | head -n1 ;;
	wrk) echo wrk ;; *) echo 'nothing (h2load not installed)' ;; esac)"
if [ -n "$REFERENCE" ]; then
	printf -- '- reference: updateserver.py under %s, runs capped at %ss\n' \
		"$(python3 --version 2>&1)" "$REF_DURATION"
fi
printf -- '- image: 1 MiB (%s bytes), MD5 %s; %ss per run after a %ss warm-up;\n' \
	"$IMAGE_SIZE" "$IMAGE_MD5" "$DURATION" "$WARMUP"
printf '  all on 127.0.0.1, the client on the same CPUs as the servers\n'
LOAD=$(cut -d' ' -f1 /proc/loadavg)
printf -- '- load average before the run: %s' "$LOAD"
if awk -v l="$LOAD" 'BEGIN { exit !(l > 0.5) }'; then
	printf ' (other work is running: expect noisy numbers)'
fi
printf '\n'

workload "1 MiB download, 1 connection (wrk -t1 -c1)" wrk 1 1 200
workload "1 MiB download, 16 connections (wrk -t2 -c16)" wrk 2 16 200
if [ "$CLIENT_304" = none ]; then
	printf '\n### 304 no update, 16 connections: skipped\n\n'
	printf 'h2load is not installed (Debian: apt-get install nghttp2-client);\n'
	printf "wrk 4.1 cannot time ota's 304, which carries Content-Length.\n"
	RESULTS+=$'| 304 no update: skipped, no h2load | n/a |'
	[ -z "$REFERENCE" ] || RESULTS+=' n/a |'
	RESULTS+=$'\n'
else
	workload "304 no update, 16 connections ($CLIENT_304 -t2 -c16)" \
		"$CLIENT_304" 2 16 304
fi

api_workload

printf '\n### ratios (requests/s, same run)\n\n'
if [ -n "$REFERENCE" ]; then
	printf '| workload | ota/nginx | ota/updateserver.py |\n| --- | ---: | ---: |\n'
else
	printf '| workload | ota/nginx |\n| --- | ---: |\n'
fi
printf '%s' "$RESULTS"

HWM=$(awk '/^VmHWM:/{print $2, $3}' "/proc/$OTA_PID/status" 2>/dev/null || true)
printf '\nota serve peak RSS (VmHWM): %s\n' "${HWM:-unknown}"
