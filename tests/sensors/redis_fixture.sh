#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The Redis the sensors tests share: "start DIR" runs redis-server on a free loopback port of
# 6390-6399 (never 6379), without persistence, and writes DIR/port; "stop DIR" ends it by its
# pid file. Without redis-server, start writes DIR/skip and the tests skip, saying so.
set -u
cmd=$1
# absolute: redis-server changes into --dir before it opens its pid and log files
mkdir -p "$2"
dir=$(cd "$2" && pwd)
case $cmd in
start)
	rm -f "$dir/port" "$dir/skip"
	if ! command -v redis-server >/dev/null 2>&1; then
		echo "redis-server is not installed (scripts/install-deps.sh installs it)" >"$dir/skip"
		cat "$dir/skip"
		exit 0
	fi
	for port in 6390 6391 6392 6393 6394 6395 6396 6397 6398 6399; do
		if redis-cli -p "$port" ping >/dev/null 2>&1; then
			continue # taken
		fi
		rm -f "$dir/redis.pid"
		redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
			--daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
			--dir "$dir" >/dev/null 2>&1 || continue
		# the server answering must be this one: another suite's may have taken the port
		# between the check above and this start (ours then exits, theirs answers)
		i=0
		while [ $i -lt 50 ]; do
			if [ -f "$dir/redis.pid" ] &&
				redis-cli -p "$port" info server 2>/dev/null | tr -d '\r' |
				grep -qx "process_id:$(cat "$dir/redis.pid")"; then
				echo "$port" >"$dir/port"
				echo "redis-server on 127.0.0.1:$port"
				exit 0
			fi
			i=$((i + 1))
			sleep 0.1
		done
		[ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null
	done
	echo "no free port in 6390-6399 for redis-server" >&2
	exit 1
	;;
stop)
	if [ -f "$dir/redis.pid" ]; then
		pid=$(cat "$dir/redis.pid")
		kill -CONT "$pid" 2>/dev/null
		kill "$pid" 2>/dev/null
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			i=$((i + 1))
			sleep 0.1
		done
		rm -f "$dir/redis.pid"
	fi
	rm -f "$dir/port"
	exit 0
	;;
esac
exit 2
