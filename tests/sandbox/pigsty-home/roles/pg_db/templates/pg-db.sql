{#- database: one entry of pg_databases (Pigsty's database definition) -#}
{%- macro ident(s) -%}"{{ s | string | replace('"', '""') }}"{%- endmacro -%}
{%- macro lit(s) -%}'{{ s | string | replace("'", "''") }}'{%- endmacro -%}
{%- set owner = database.owner | default(pg_dbsu) -%}
----------------------------------------------------------------------
-- database {{ database.name }} of {{ pg_cluster }}  (pgsql-db.yml, pigsty-tui sandbox)
----------------------------------------------------------------------
SELECT format('CREATE DATABASE %I OWNER %I TEMPLATE %I ENCODING %L{% if database.locale is defined %} LOCALE %L{% endif %}{% if database.lc_collate is defined %} LC_COLLATE %L{% endif %}{% if database.lc_ctype is defined %} LC_CTYPE %L{% endif %}',
              {{ lit(database.name) }}, {{ lit(owner) }}, {{ lit(database.template | default('template1')) }}, {{ lit(database.encoding | default('UTF8')) }}{% if database.locale is defined %}, {{ lit(database.locale) }}{% endif %}{% if database.lc_collate is defined %}, {{ lit(database.lc_collate) }}{% endif %}{% if database.lc_ctype is defined %}, {{ lit(database.lc_ctype) }}{% endif %})
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = {{ lit(database.name) }}) \gexec
ALTER DATABASE {{ ident(database.name) }} OWNER TO {{ ident(owner) }};
ALTER DATABASE {{ ident(database.name) }} CONNECTION LIMIT {{ database.connlimit | default(-1) | int }};
ALTER DATABASE {{ ident(database.name) }} ALLOW_CONNECTIONS {{ 'true' if database.allowconn | default(true) | bool else 'false' }};
{% if database.comment is defined %}
COMMENT ON DATABASE {{ ident(database.name) }} IS {{ lit(database.comment) }};
{% endif %}
{% for key, value in (database.parameters | default({})).items() %}
ALTER DATABASE {{ ident(database.name) }} SET {{ key }} = {{ lit(value) }};
{% endfor %}
{% if database.revokeconn | default(false) | bool %}
REVOKE CONNECT ON DATABASE {{ ident(database.name) }} FROM PUBLIC;
{% endif %}
{% if database.schemas is defined or database.extensions is defined %}
\c {{ ident(database.name) }}
{% for schema in database.schemas | default([]) %}
CREATE SCHEMA IF NOT EXISTS {{ ident(schema) }};
{% endfor %}
{% for ext in database.extensions | default([]) %}
{% if ext is mapping %}
CREATE EXTENSION IF NOT EXISTS {{ ident(ext.name) }}{% if ext.schema is defined %} WITH SCHEMA {{ ident(ext.schema) }}{% endif %};
{% else %}
CREATE EXTENSION IF NOT EXISTS {{ ident(ext) }};
{% endif %}
{% endfor %}
{% endif %}
