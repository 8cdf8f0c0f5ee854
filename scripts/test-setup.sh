#!/usr/bin/env bash
# Installs and starts what the tests need on a Debian or Ubuntu machine, then returns:
#   packages  age zstd sqlite3 postgresql postgresql-client mariadb-server mariadb-client
#             chromium chromium-driver (only those whose tools are missing)
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
