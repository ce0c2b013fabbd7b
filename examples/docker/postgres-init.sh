#!/bin/sh
# Run by the postgres image on its first start (docker-entrypoint-initdb.d): creates the sample CRM database.
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -c 'CREATE DATABASE crm'
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname crm -f /sample/sample-db.sql
