#!/usr/bin/env bash
# scripts/install_deps.sh — installs the Debian 12 packages pgrouter needs to build, test, demo and
# bench. Idempotent: does nothing (and needs no root) when everything is already installed.
# Usage: install_deps.sh [--drivers] ...   Extra groups add packages for later suites.
set -euo pipefail

# Base group: build (compiler, CMake, libraries), tests (GoogleTest, PostgreSQL 15 server and
# client, python3 for small helpers), demo and bench (psql, pgbench, pgbouncer), and the tools the
# scripts call (ss from iproute2, runuser from util-linux, ps from procps).
base_packages=(
    build-essential cmake pkg-config git ca-certificates
    libboost-dev libpq-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libxxhash-dev
    libgtest-dev libgmock-dev libssl-dev libpg-query-dev libprotobuf-c-dev
    postgresql-15 postgresql-client-15 pgbouncer
    procps iproute2 util-linux python3
)

# Real-driver suite (tests/drivers/): the Python drivers and pgjdbc from Debian 12 main; node-postgres
# itself comes from the npm registry (tests/drivers/node/package-lock.json pins it), so only node
# and npm are packages here. pgbench is in postgresql-client-15 already.
drivers_packages=(
    python3-psycopg2 python3-psycopg python3-asyncpg python3-xxhash
    libpostgresql-jdbc-java default-jdk-headless
    nodejs npm
)

usage() {
    echo "usage: $0 [--drivers]" >&2
    exit 2
}

wanted=("${base_packages[@]}")
drivers=0
for arg in "$@"; do
    case "$arg" in
        --drivers)
            wanted+=("${drivers_packages[@]}")
            drivers=1
            ;;
        -h | --help) usage ;;
        *)
            echo "install_deps: unknown group '$arg'" >&2
            usage
            ;;
    esac
done

installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# NodeSource's nodejs package bundles npm and conflicts with Debian's npm package; with it installed
# the npm command is already there, and asking apt for npm would only fail.
satisfied() {
    installed "$1" && return 0
    [ "$1" = npm ] && command -v npm >/dev/null 2>&1
}

missing=()
for pkg in "${wanted[@]}"; do
    satisfied "$pkg" || missing+=("$pkg")
done

ensure_postgres_user() {
    # PostgreSQL refuses to run as root; local_topology.sh runs it as this user when invoked as
    # root. The postgresql-common package normally creates it.
    if ! id -u postgres >/dev/null 2>&1; then
        if [ "$(id -u)" -ne 0 ]; then
            echo "install_deps: OS user 'postgres' is missing; run this script as root" >&2
            exit 1
        fi
        useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
}

if [ "${#missing[@]}" -eq 0 ]; then
    ensure_postgres_user
    echo "install_deps: all ${#wanted[@]} packages already installed"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install_deps: missing packages: ${missing[*]}" >&2
    echo "install_deps: run as root (sudo $0 $*) to install them" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# Packages installed here must not start daemons: a packaged PostgreSQL cluster on 5432 or a
# pgbouncer on 6432 would take the ports the demo uses. policy-rc.d (honoured by invoke-rc.d and
# deb-systemd-invoke) denies starts for the duration of this install only, and only if the machine
# did not already have its own policy.
policy=/usr/sbin/policy-rc.d
own_policy=0
remove_policy() {
    if [ "$own_policy" -eq 1 ]; then
        rm -f "$policy"
    fi
}
trap remove_policy EXIT
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
fi

echo "install_deps: installing ${missing[*]}"
apt-get update -qq

apt_install() {
    apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}

# The tests and the demo run their own clusters (scripts/local_topology.sh); the "15/main" cluster
# the package would create is not needed. Same two-step as the official postgres Docker image:
# install postgresql-common first, switch off create_main_cluster, then install the server.
if ! installed postgresql-common; then
    apt_install postgresql-common
    sed -ri 's/^#?\s*(create_main_cluster)\s*=.*$/\1 = false/' \
        /etc/postgresql-common/createcluster.conf
fi

apt_install "${missing[@]}"

# node-postgres from Debian as well, where it can be installed: the driver suite takes pg from the
# npm registry (package-lock.json) and falls back to this copy when the registry cannot be reached
# (a machine whose HTTPS goes through a proxy its Node.js does not trust). It only installs next to
# Debian's own nodejs; with NodeSource's nodejs apt refuses it, which is fine.
if [ "$drivers" -eq 1 ] && ! installed node-pg; then
    apt_install node-pg >/dev/null 2>&1 ||
        echo "install_deps: node-pg not installable with this nodejs (pg comes from npm)"
fi

# Only the pgbouncer binary is used (bench/ runs its own instance). Its packaged service listens on
# 6432, the port pgrouter's demo uses, so do not let it start at the next boot either.
if printf '%s\n' "${missing[@]}" | grep -qx pgbouncer; then
    deb-systemd-helper disable pgbouncer.service >/dev/null 2>&1 || true
    update-rc.d pgbouncer disable >/dev/null 2>&1 || true
fi
ensure_postgres_user
echo "install_deps: done"
