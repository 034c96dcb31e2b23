#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (as the owner,
# POSTGRES_USER): creates the service's login role. It owns nothing; the
# `migrate` service grants it the service's rights after every migration.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v app_password="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE ballotbox_app LOGIN PASSWORD :'app_password';
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
