#!/usr/bin/env bash
# Print wirewatch's contradiction alerts with kcat, one JSON document per line.
#
#   deploy/kcat-subscribe.sh [-b HOST:PORT[,...]] [-t TOPIC] [-c COUNT] [-g GROUP] [-n] [-k]
#
#   -b  bootstrap servers; default $WIREWATCH_KAFKA_BOOTSTRAP, else the broker of a
#       `wirewatch run` started in this directory (${WIREWATCH_DATA_DIR:-.wirewatch}/embedded-broker),
#       else localhost:9092 (the compose stack's host listener)
#   -t  topic; default <prefix>.alerts.contradiction, where <prefix> is the one the `wirewatch run`
#       of the broker file uses now (its renewals move to fresh topics), else
#       ${WIREWATCH_TOPIC_PREFIX:-wirewatch} (use <prefix>.alerts.new_claim for new-claim alerts)
#   -c  exit after COUNT alerts; default: run until interrupted
#   -g  read as a member of consumer group GROUP: offsets are committed, so a restart
#       resumes where it stopped and several copies share the partitions (real Kafka only)
#   -n  only alerts published from now on (real Kafka only); default: from the oldest retained
#   -k  prefix each alert with its partition and key (the ledger key)
#
# TLS/SASL come from the same variables as wirewatch (WIREWATCH_KAFKA_SECURITY_PROTOCOL,
# _SASL_MECHANISM, _SASL_USERNAME, _SASL_PASSWORD or /run/secrets/wirewatch_kafka_sasl_password,
# _SSL_CAFILE); they go to kcat in a private config file, never on its command line.
#
# kcat is Debian's package; it is installed (apt-get, as root or with sudo) if missing.
set -euo pipefail

die() { echo "kcat-subscribe: $*" >&2; exit 1; }

# Where `wirewatch run` records its embedded broker's address (wirewatch/cli.py).
broker_file="${WIREWATCH_DATA_DIR:-.wirewatch}/embedded-broker"
embedded=0
run_prefix=""
if [ -n "${WIREWATCH_KAFKA_BOOTSTRAP:-}" ]; then
    bootstrap=$WIREWATCH_KAFKA_BOOTSTRAP
elif [ -s "$broker_file" ]; then
    bootstrap=$(head -n 1 "$broker_file")
    embedded=1
    # the topics that run uses now: a line "topics <prefix>" (wirewatch/renewal.py)
    run_prefix=$(sed -n 's/^topics //p' "$broker_file" | head -n 1)
else
    bootstrap=localhost:9092
fi
topic=""
count=""
group=""
from_now=0
with_key=0
while getopts ":b:t:c:g:nkh" opt; do
    case $opt in
        b) bootstrap=$OPTARG; embedded=0; run_prefix="" ;;
        t) topic=$OPTARG ;;
        c) [[ $OPTARG =~ ^[1-9][0-9]*$ ]] || die "-c needs a positive count, got '$OPTARG'"; count=$OPTARG ;;
        g) group=$OPTARG ;;
        n) from_now=1 ;;
        k) with_key=1 ;;
        h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        :) die "-$OPTARG needs a value (see -h)" ;;
        *) die "unknown option -$OPTARG (see -h)" ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || die "unexpected argument '$1' (see -h)"
topic=${topic:-${run_prefix:-${WIREWATCH_TOPIC_PREFIX:-wirewatch}}.alerts.contradiction}

# --- kcat ------------------------------------------------------------------------
if ! command -v kcat >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "kcat is not installed and apt-get is missing; install kcat"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "kcat is not installed; run: sudo apt-get install -y kcat"
        sudo="sudo -n"
    fi
    echo "kcat-subscribe: installing kcat (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-cache policy kcat 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        $sudo apt-get update -qq </dev/null >&2 || die "apt-get update failed"
    fi
    $sudo apt-get install -y -qq --no-install-recommends kcat </dev/null >&2 || die "apt-get install kcat failed"
fi

# --- connection settings, in a file only we can read -------------------------------
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
chmod 600 "$conf"
protocol=${WIREWATCH_KAFKA_SECURITY_PROTOCOL:-PLAINTEXT}
echo "security.protocol=${protocol,,}" >>"$conf"
case $protocol in
    PLAINTEXT | SSL) ;;
    SASL_PLAINTEXT | SASL_SSL)
        password=${WIREWATCH_KAFKA_SASL_PASSWORD:-}
        if [ -z "$password" ] && [ -r /run/secrets/wirewatch_kafka_sasl_password ]; then
            password=$(cat /run/secrets/wirewatch_kafka_sasl_password)
        fi
        [ -n "${WIREWATCH_KAFKA_SASL_MECHANISM:-}" ] || die "$protocol needs WIREWATCH_KAFKA_SASL_MECHANISM"
        [ -n "${WIREWATCH_KAFKA_SASL_USERNAME:-}" ] || die "$protocol needs WIREWATCH_KAFKA_SASL_USERNAME"
        [ -n "$password" ] || die "$protocol needs WIREWATCH_KAFKA_SASL_PASSWORD"
        {
            echo "sasl.mechanisms=$WIREWATCH_KAFKA_SASL_MECHANISM"
            echo "sasl.username=$WIREWATCH_KAFKA_SASL_USERNAME"
            echo "sasl.password=$password"
        } >>"$conf"
        ;;
    *) die "unknown WIREWATCH_KAFKA_SECURITY_PROTOCOL '$protocol'" ;;
esac
if [ -n "${WIREWATCH_KAFKA_SSL_CAFILE:-}" ]; then
    [ -r "$WIREWATCH_KAFKA_SSL_CAFILE" ] || die "cannot read WIREWATCH_KAFKA_SSL_CAFILE $WIREWATCH_KAFKA_SSL_CAFILE"
    echo "ssl.ca.location=$WIREWATCH_KAFKA_SSL_CAFILE" >>"$conf"
fi

# --- which protocol the broker speaks -------------------------------------------------
# Apache Kafka and Redpanda: kcat's defaults.  The embedded development broker (Tansu
# 0.6) answers ApiVersions in a form librdkafka 2.0 cannot parse, and its old-style
# ListOffsets too; with the 0.9 protocol and explicit offsets (no ListOffsets) kcat
# reads it fine.  Kafka 4 no longer speaks 0.9, so this is only a fallback.
compat=()
if [ "$embedded" -eq 1 ] || ! kcat -F "$conf" -L -b "$bootstrap" -m 3 >/dev/null 2>&1; then
    compat=(-X api.version.request=false -X broker.version.fallback=0.9.0)
    kcat -F "$conf" "${compat[@]}" -L -b "$bootstrap" -m 3 >/dev/null 2>&1 ||
        die "cannot reach Kafka at $bootstrap (is wirewatch running? pass its broker with -b)"
    echo "kcat-subscribe: $bootstrap is the embedded broker; using kcat's 0.9 protocol" >&2
fi
if [ ${#compat[@]} -gt 0 ]; then
    # Without ListOffsets kcat can neither find the end nor a new group's start.
    [ "$from_now" -eq 0 ] || die "-n needs a real Kafka: the embedded broker has no usable ListOffsets"
    [ -z "$group" ] || die "-g needs a real Kafka: the embedded broker has no usable ListOffsets"
fi
# The whole listing, not `-L -t`: a metadata request naming a missing topic would
# create it on a broker with auto-creation on (the embedded one).
meta=$(kcat -F "$conf" "${compat[@]}" -L -b "$bootstrap" -m 5 2>&1) || true
grep -qF "topic \"$topic\" with " <<<"$meta" ||
    die "topic $topic does not exist on $bootstrap (run \`wirewatch topics create\`, or check -t / WIREWATCH_TOPIC_PREFIX)"

if [ "$from_now" -eq 1 ]; then
    offset=end
elif [ ${#compat[@]} -gt 0 ]; then
    offset=0  # explicit, because "beginning" needs ListOffsets
else
    offset=beginning
fi

format='%s\n'
[ "$with_key" -eq 0 ] || format='%p\t%k\t%s\n'
args=(-q -F "$conf" "${compat[@]}" -b "$bootstrap" -o "$offset" -u -f "$format")
[ -z "$count" ] || args+=(-c "$count")
if [ -n "$group" ]; then
    # -o is the starting point of a new group; later runs resume from its commits.
    exec kcat "${args[@]}" -G "$group" "$topic"
else
    exec kcat "${args[@]}" -C -t "$topic"
fi
