#!/usr/bin/env bash
# Installs and starts what the tests need on a Debian or Ubuntu machine, then returns:
#   packages  age zstd sqlite3 postgresql postgresql-client mariadb-server mariadb-client
#             chromium chromium-driver (only those whose tools are missing)
#   python    moto[server] 5.2.5 or later (pip), an S3 server some tests start themselves
#   servers   PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and MariaDB on
#             127.0.0.1:3306 (root, no password), started if they are not running.
# Safe to run again: what is already there is left as it is.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for tool in age zstd sqlite3 pg_dump psql pg_ctlcluster mariadb mariadb-dump mariadbd chromium chromedriver; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "test setup: installing packages for: ${missing[*]}"
    as_root apt-get update -qq
    as_root apt-get install -y -qq age zstd sqlite3 postgresql postgresql-client mariadb-server \
        mariadb-client chromium chromium-driver >/dev/null
fi

# moto in server mode. 5.2.1 answers CompleteMultipartUpload with a root element the AWS SDK
# for Rust rejects; 5.2.5 answers as S3 does.
moto_ready() {
    python3 - <<'PY' >/dev/null 2>&1
import importlib.metadata as metadata, sys
import flask, flask_cors, moto.server  # the server extra
version = tuple(int(part) for part in metadata.version("moto").split(".")[:3])
sys.exit(0 if version >= (5, 2, 5) else 1)
PY
}
if ! moto_ready; then
    echo "test setup: installing moto[server]"
    if ! python3 -m pip --version >/dev/null 2>&1; then
        as_root apt-get update -qq
        as_root apt-get install -y -qq python3-pip >/dev/null
    fi
    pip_install() {
        PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-input "$@" 'moto[server]>=5.2.5'
    }
    # A distribution's Python may refuse installs outside a virtual environment (PEP 668).
    pip_install </dev/null || pip_install --break-system-packages </dev/null
    command -v pyenv >/dev/null 2>&1 && pyenv rehash
    moto_ready
fi

# PostgreSQL on 127.0.0.1:5432, user postgres without a password (trust), as the tests expect.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    echo "test setup: starting PostgreSQL"
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    if ! as_root grep -q "^host all all 127.0.0.1/32 trust" "$hba"; then
        as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    fi
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi

# MariaDB on 127.0.0.1:3306, root without a password.
if ! mariadb-admin -h 127.0.0.1 -u root ping >/dev/null 2>&1; then
    echo "test setup: starting MariaDB"
    as_root install -d -o mysql -g mysql /run/mysqld
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
fi

# Wait for both servers to accept connections (at most a minute).
for _ in $(seq 1 60); do
    if pg_isready -h 127.0.0.1 -p 5432 -q && mariadb-admin -h 127.0.0.1 -u root ping >/dev/null 2>&1; then
        break
    fi
    sleep 1
done
pg_isready -h 127.0.0.1 -p 5432
if ! mariadb -h 127.0.0.1 -u root -e 'SELECT 1' >/dev/null 2>&1; then
    # A fresh package install lets root in through the socket only.
    as_root mariadb -u root -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD(''); FLUSH PRIVILEGES;"
fi
mariadb -h 127.0.0.1 -u root -e 'SELECT 1' >/dev/null
echo "test setup: ready"
