#!/usr/bin/env bash
# Operations checks run by meson test (suite ops):
#   ops.sh man PAGE              mandoc -T lint, warnings and errors fail
#   ops.sh unit UNIT.in BINARY   systemd-analyze verify of the unit, with its
#                                ExecStart on BINARY and the man pages found
#   ops.sh install BUILDDIR SRCDIR  meson install into a scratch DESTDIR puts
#                                the binary, both man pages, the example
#                                config and the unit where they belong
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

case $1 in
man)
	command -v mandoc >/dev/null || { echo "mandoc not installed"; exit 77; }
	# STYLE notes are left out: they depend on the local manual database
	# (a cross-reference to a page not installed yet).
	mandoc -T lint -W warning "$2"
	;;
unit)
	command -v systemd-analyze >/dev/null || { echo "systemd-analyze missing"; exit 77; }
	man_src=$(dirname "$2")/../man
	mkdir -p "$tmp/man/man8" "$tmp/man/man5"
	cp "$man_src/bearerd.8" "$tmp/man/man8/"
	cp "$man_src/bearerd.conf.5" "$tmp/man/man5/"
	sed "s|@BINDIR@/bearerd|$3|g" "$2" >"$tmp/bearerd.service"
	out=$(MANPATH="$tmp/man" systemd-analyze verify "$tmp/bearerd.service" 2>&1) || {
		echo "$out"
		exit 1
	}
	# verify exits 0 on some findings it only prints
	if [ -n "$out" ]; then
		echo "$out"
		exit 1
	fi
	;;
install)
	DESTDIR="$tmp/root" meson install -C "$2" --no-rebuild --quiet >/dev/null
	prefix=$(meson introspect "$2" --buildoptions |
		/usr/bin/python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
	r="$tmp/root$prefix"
	for f in bin/bearerd share/man/man8/bearerd.8 share/man/man5/bearerd.conf.5 \
		share/doc/bearerd/bearerd.conf lib/systemd/system/bearerd.service; do
		[ -e "$r/$f" ] || { echo "not installed: $prefix/$f"; find "$tmp/root" -type f; exit 1; }
	done
	[ -x "$r/bin/bearerd" ]
	grep -q "^ExecStart=$prefix/bin/bearerd -c /etc/bearerd/bearerd.conf$" \
		"$r/lib/systemd/system/bearerd.service"
	cmp "$r/share/doc/bearerd/bearerd.conf" "$3/conf/bearerd.conf"
	;;
*)
	echo "usage: ops.sh man|unit|install ..." >&2
	exit 2
	;;
esac
