# Sourced by tests/deploy/run: podman as a stand-in for a Docker engine on
# this machine (Debian's podman, runc, debootstrap and docker-compose; as root).
#
#   podman_prepare      the settings, and the base image debian:12-slim if absent
#   podman_api_start    a Docker-compatible API socket: sets DOCKER_HOST
#   podman_api_stop
#   health_ticker_start / health_ticker_stop
#
# Needs: $t (a temp folder), $logs (a log folder), say().

# podman's settings: tests/deploy/containers.conf, not the machine's.
export CONTAINERS_CONF=$repo/tests/deploy/containers.conf

BASE_IMAGE=docker.io/library/debian:12-slim

# The Debian mirror apt uses on this machine (deb822 .sources, or one-line
# .list), for bookworm's main component.
debian_mirror() {
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		uri=$(awk 'BEGIN { RS = ""; FS = "\n" }
			/(^|\n)Suites:[^\n]*[ \t]bookworm([ \t]|\n|$)/ && /(^|\n)Components:[^\n]*[ \t]main/ {
				for (i = 1; i <= NF; i++)
					if ($i ~ /^URIs:/) { split($i, u, /[ \t]+/); print u[2]; exit }
			}' "$f")
		[ -n "$uri" ] && echo "$uri" && return 0
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		uri=$(awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) while ($i !~ /\]$/) i++;
			if ($2 ~ /^\[/) i++;
			if ($(i + 1) == "bookworm") { print $i; exit } }' "$f")
		[ -n "$uri" ] && echo "$uri" && return 0
	done
	return 1
}

# debian:12-slim, made here with debootstrap (no image registry is
# reachable): bookworm's minimal base, with the same apt sources as the
# official image (bookworm, bookworm-updates, bookworm-security).
base_image_make() {
	local mirror rootfs=$t/rootfs
	mirror=$(debian_mirror) || {
		say "no Debian bookworm mirror in /etc/apt/sources.list*"
		return 1
	}
	say "making $BASE_IMAGE with debootstrap from $mirror (once; ~30 s)"
	debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$logs/debootstrap.log" 2>&1 || {
		say "debootstrap failed (see $logs/debootstrap.log)"
		return 1
	}
	rm -f "$rootfs"/var/cache/apt/archives/*.deb "$rootfs/etc/apt/sources.list"
	cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	tar -C "$rootfs" -c . | podman import - "$BASE_IMAGE" >>"$logs/debootstrap.log" 2>&1 || {
		say "podman import failed (see $logs/debootstrap.log)"
		return 1
	}
	rm -rf "$rootfs"
}

podman_prepare() {
	local p missing=""
	for p in podman runc debootstrap docker-compose curl python3; do
		command -v "$p" >/dev/null || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		say "not installed:$missing (make deps installs them)"
		return 1
	fi
	if [ "$(id -u)" -ne 0 ]; then
		say "run as root (podman's rootful mode; debootstrap)"
		return 1
	fi
	podman image exists "$BASE_IMAGE" || base_image_make
}

# podman's Docker-compatible API on a socket of our own, for docker-compose.
podman_api_start() {
	local sock=$t/podman.sock i
	podman system service --time=0 "unix://$sock" >"$logs/podman-service.log" 2>&1 &
	podman_api_pid=$!
	export DOCKER_HOST=unix://$sock
	for ((i = 0; i < 300; i++)); do
		curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 && return 0
		kill -0 "$podman_api_pid" 2>/dev/null || break
		sleep 0.1
	done
	say "podman system service did not answer on $sock (see $logs/podman-service.log)"
	return 1
}

podman_api_stop() {
	[ -n "${podman_api_pid:-}" ] || return 0
	kill -TERM "$podman_api_pid" 2>/dev/null || true
	wait "$podman_api_pid" 2>/dev/null || true
	podman_api_pid=""
}

# podman runs health checks from systemd timers, and systemd does not run
# here: this loop runs them instead (podman healthcheck run: the check the
# compose file gives, its retries and status), for the containers of
# $project: every second while a container is starting or unhealthy, then
# every 10 s (the compose file's interval for the aij services).
health_ticker_start() {
	(
		declare -A last
		while :; do
			now=$(date +%s)
			while read -r id status; do
				case "$status" in
				*"(healthy)"*) [ $((now - ${last[$id]:-0})) -ge 10 ] || continue ;;
				*"(starting)"* | *"(unhealthy)"*) ;;
				*) continue ;;
				esac
				podman healthcheck run "$id" >/dev/null 2>&1 || true
				last[$id]=$now
			done < <(podman ps --filter "label=com.docker.compose.project=$project" \
				--format '{{.ID}} {{.Status}}' 2>/dev/null)
			sleep 1
		done
	) &
	health_ticker_pid=$!
}

health_ticker_stop() {
	[ -n "${health_ticker_pid:-}" ] || return 0
	kill -TERM "$health_ticker_pid" 2>/dev/null || true
	wait "$health_ticker_pid" 2>/dev/null || true
	health_ticker_pid=""
}
