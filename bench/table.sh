#!/bin/sh
# Turns the RESULT lines of bench/run.sh into the table of
# docs/performance.md.  Usage: sh bench/table.sh RESULTS NOFILE N_BIG
set -eu
awk -v nofile="$2" -v nbig="$3" '
/^RESULT / {
	lab = ""
	for (i = 2; i <= NF; i++) {
		split($i, kv, "=")
		if (kv[1] == "label") lab = kv[2]
	}
	seen[lab] = 1
	for (i = 2; i <= NF; i++) {
		split($i, kv, "=")
		f[lab, kv[1]] = kv[2]
	}
}
function v(l, k) { return (l in seen) && ((l, k) in f) ? f[l, k] : "" }
function num(l, k,   x) { x = v(l, k); return x == "" ? "n/a" : x }
function lat(l) { return (l in seen) ? sprintf("%s / %s", f[l, "p50_ms"], f[l, "p99_ms"]) : "n/a" }
function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "n/a" : sprintf("%.2f", a / b) }
function met(ok) { return ok ? "yes" : "**no**" }
function row(name, r, m, e, ra, tgt, ok) {
	printf "| %s | %s | %s | %s | %s | %s | %s |\n", name, r, m, e, ra, tgt, ok
}
END {
	print "| measurement | rollcalld | Mosquitto 2 | mTLS echo (limit) | ratio | target | met |"
	print "|---|---:|---:|---:|---:|---|---|"
	h = v("handshake", "rate")
	r = v("reg_mqtt", "rate")
	row("registrations/s, DPS over MQTT (new TLS connection each)", num("reg_mqtt", "rate"), "-", num("handshake", "rate"), ratio(r, h) " of echo", ">= 0.50 of echo", r == "" ? "n/a" : met(r / h >= 0.5))
	r = v("reg_http", "rate")
	row("registrations/s, DPS over HTTPS", num("reg_http", "rate"), "-", num("handshake", "rate"), ratio(r, h) " of echo", ">= 0.50 of echo", r == "" ? "n/a" : met(r / h >= 0.5))
	row("registration p50 / p99 ms (MQTT; echo: handshake + 1 round trip)", lat("reg_mqtt"), "-", lat("handshake"), "", "", "")
	row("registration p50 / p99 ms (HTTPS)", lat("reg_http"), "-", lat("handshake"), "", "", "")
	r = v("issue", "rate")
	row("certificates issued and stored/s (registrations with a CSR)", num("issue", "rate"), "-", "-", ratio(r, 5000) " of target", ">= 5,000/s", r == "" ? "n/a" : met(r >= 5000))
	row("issuance p50 / p99 ms", lat("issue"), "-", "-", "", "", "")
	r = v("conn_hub", "rate"); m = v("conn_mosq", "rate")
	row("hub connects/s (TLS + CONNECT/CONNACK)", num("conn_hub", "rate"), num("conn_mosq", "rate"), num("conn_echo", "rate"), ratio(r, m) " of Mosquitto", ">= 2.00 of Mosquitto", (r == "" || m == "") ? "n/a" : met(r / m >= 2))
	row("connect p50 / p99 ms", lat("conn_hub"), lat("conn_mosq"), lat("conn_echo"), "", "", "")
	r = v("tel_hub", "rate"); m = v("tel_mosq", "rate")
	row("telemetry QoS 1 msg/s (100 devices, 1 in flight each)", num("tel_hub", "rate"), num("tel_mosq", "rate"), num("tel_echo", "rate"), ratio(r, m) " of Mosquitto", "-", "")
	row("telemetry PUBLISH->PUBACK p50 / p99 ms", lat("tel_hub"), lat("tel_mosq"), lat("tel_echo"), "", "", "")
	r = v("hold_hub", "rss_per_conn_kib"); m = v("hold_mosq", "rss_per_conn_kib")
	row("server RSS per idle connection, " v("hold_hub", "n") " connections (KiB)", num("hold_hub", "rss_per_conn_kib"), num("hold_mosq", "rss_per_conn_kib"), num("hold_echo", "rss_per_conn_kib"), ratio(r, m) " of Mosquitto", "<= 12 KiB", r == "" ? "n/a" : met(r <= 12))
	if ("big_hub" in seen) {
		r = v("big_hub", "rss_per_conn_kib"); m = v("big_mosq", "rss_per_conn_kib")
		row("server RSS per idle connection, " v("big_hub", "n") " connections (KiB)", num("big_hub", "rss_per_conn_kib"), num("big_mosq", "rss_per_conn_kib"), num("big_echo", "rss_per_conn_kib"), ratio(r, m) " of Mosquitto", "<= 12 KiB", r == "" ? "n/a" : met(r <= 12))
	} else
		row("server RSS per idle connection, " nbig " connections", "not run", "not run", "not run", "", "<= 12 KiB", "n/a: fd limit " nofile)
	r = v("roll", "roll_secs")
	done = v("roll", "rolled") == v("roll", "n")
	rs = !("roll" in seen) ? "n/a" : done ? r : sprintf("cut at %s s: %s of %s rolled; projected %s", r, v("roll", "rolled"), v("roll", "n"), v("roll", "roll_projected_secs"))
	row("fleet roll of " v("roll", "n") " devices: time to all renewed and reconnected (s)", rs, "-", "-", "", "< 60 s", r == "" ? "n/a" : met(r + 0 > 0 && r < 60 && done))
	row("fleet roll: QoS 1 messages lost / generated", (("roll" in seen) ? v("roll", "lost") " / " v("roll", "generated") : "n/a"), "-", "-", "", "0 lost", ("roll" in seen) ? met(v("roll", "lost") == 0) : "n/a")
	row("fleet roll: longest gap, message generated -> acknowledged (ms)", num("roll", "longest_gap_ms"), "-", "-", "", "-", "")
	row("fleet roll: delivery p50 / p99 ms", lat("roll"), "-", "-", "", "", "")
	fails = ""
	for (l in seen)
		if (v(l, "fail") != "" && v(l, "fail") + 0 > 0)
			fails = fails " " l "=" v(l, "fail")
	print ""
	printf "Keys: %s.  Server CPU seconds per run are in the raw lines (server_cpu_s).", v("certs", "key") == "" ? "per-device P-256" : v("certs", "key")
	if (fails != "") printf "  Failed operations:%s.", fails
	print ""
}' "$1"
