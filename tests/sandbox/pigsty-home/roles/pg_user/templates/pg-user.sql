{#- user: one entry of pg_users (Pigsty's user definition) -#}
{%- macro ident(s) -%}"{{ s | string | replace('"', '""') }}"{%- endmacro -%}
{%- macro lit(s) -%}'{{ s | string | replace("'", "''") }}'{%- endmacro -%}
----------------------------------------------------------------------
-- user {{ user.name }} of {{ pg_cluster }}  (pgsql-user.yml, pigsty-tui sandbox)
----------------------------------------------------------------------
SELECT format('CREATE ROLE %I', {{ lit(user.name) }})
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {{ lit(user.name) }}) \gexec
ALTER ROLE {{ ident(user.name) }}
  {{ 'LOGIN' if user.login | default(true) | bool else 'NOLOGIN' }}
  {{ 'SUPERUSER' if user.superuser | default(false) | bool else 'NOSUPERUSER' }}
  {{ 'CREATEDB' if user.createdb | default(false) | bool else 'NOCREATEDB' }}
  {{ 'CREATEROLE' if user.createrole | default(false) | bool else 'NOCREATEROLE' }}
  {{ 'INHERIT' if user.inherit | default(true) | bool else 'NOINHERIT' }}
  {{ 'REPLICATION' if user.replication | default(false) | bool else 'NOREPLICATION' }}
  {{ 'BYPASSRLS' if user.bypassrls | default(false) | bool else 'NOBYPASSRLS' }}
  CONNECTION LIMIT {{ user.connlimit | default(-1) | int }}
{% if user.password is defined and user.password | string != '' %}
  PASSWORD {{ lit(user.password) }}
{% endif %}
{% if user.expire_at is defined %}
  VALID UNTIL {{ lit(user.expire_at) }}
{% endif %}
;
{% if user.expire_in is defined %}
SELECT format('ALTER ROLE %I VALID UNTIL %L', {{ lit(user.name) }}, (now() + interval '{{ user.expire_in | int }} days')::text) \gexec
{% endif %}
{% for role in user.roles | default([]) %}
GRANT {{ ident(role) }} TO {{ ident(user.name) }};
{% endfor %}
{% for key, value in (user.parameters | default({})).items() %}
ALTER ROLE {{ ident(user.name) }} SET {{ key }} = {{ lit(value) }};
{% endfor %}
{% if user.search_path is defined %}
ALTER ROLE {{ ident(user.name) }} SET search_path = {{ user.search_path }};
{% endif %}
{% if user.comment is defined %}
COMMENT ON ROLE {{ ident(user.name) }} IS {{ lit(user.comment) }};
{% endif %}
