//! Logs and sessions recorded on the loopback sandbox (`tests/sandbox`,
//! etcd mode) and re-addressed to inventory/sandbox.yml's 10.10.10.x, for
//! the logs pane and activity view snapshots.
//!
//! * Patroni logs of pg-test-1..3 while the sandbox restarted (pg-test-1
//!   promoted itself, the others followed it on timeline 2).
//! * The csvlog of pg-test-1: replication slot errors while the replicas
//!   bootstrapped, then the restart and promotion.
//! * `pg_stat_activity` of pg-test-1 as the activity query printed it
//!   (`\x1f` between fields, `\x1e` after each row) with a lock chain:
//!   `billing-batch` (idle in transaction) blocks `api-worker`, and
//!   `migration` waits for both.

/// Patroni log of pg-test-1.
pub const PATRONI_PG_TEST_1: &str = "\
2026-11-26 07:55:20 +0000 WARNING: Request failed to pg-test-2: GET http://10.10.10.12:8008/patroni (HTTPConnectionPool(host='10.10.10.12', port=8008): Max retries exceeded with url: /patroni (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7fc84c03e550>: Failed to establish a new connection: [Errno 111] Connection refused')))
2026-11-26 07:55:20 +0000 WARNING: Request failed to pg-test-3: GET http://10.10.10.13:8008/patroni (HTTPConnectionPool(host='10.10.10.13', port=8008): Max retries exceeded with url: /patroni (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7fc84864bb50>: Failed to establish a new connection: [Errno 111] Connection refused')))
2026-11-26 07:55:20 +0000 INFO: Member pg-test-2 is not reachable
2026-11-26 07:55:20 +0000 INFO: Member pg-test-3 is not reachable
2026-11-26 07:56:25 +0000 INFO: Selected new etcd server http://10.10.10.10:2379
2026-11-26 07:56:25 +0000 INFO: No PostgreSQL configuration items changed, nothing to reload.
2026-11-26 07:56:25 +0000 WARNING: Postgresql is not running.
2026-11-26 07:56:25 +0000 INFO: Lock owner: None; I am pg-test-1
2026-11-26 07:56:25 +0000 INFO: pg_controldata:
2026-11-26 07:56:25 +0000 INFO: Lock owner: None; I am pg-test-1
2026-11-26 07:56:25 +0000 INFO: starting as a secondary
2026-11-26 07:56:25 +0000 INFO: postmaster pid=28966
2026-11-26 07:56:25 +0000 INFO: establishing a new patroni connection to the postgres cluster
2026-11-26 07:56:26 +0000 INFO: Got response from pg-test-3 http://10.10.10.13:8008/patroni: {\"state\": \"starting\", \"postmaster_start_time\": \"2026-11-26 07:56:25.902136+00:00\", \"role\": \"replica\", \"server_version\": 150018, \"xlog\": {\"received_location\": 100663296, \"replayed_location\": 100663296, \"replayed_timestamp\": \"2026-11-26 07:52:57.061836+00:00\", \"paused\": false}, \"timeline\": 1, \"cluster_unlocked\": true, \"dcs_last_seen\": 1795679785, \"tags\": {\"clonefrom\": true, \"version\": \"15\"}, \"database_system_identifier\": \"7712380360460206059\", \"patroni\": {\"version\": \"3.0.2\", \"scope\": \"pg-test\"}}
2026-11-26 07:56:27 +0000 INFO: Got response from pg-test-2 http://10.10.10.12:8008/patroni: {\"state\": \"running\", \"postmaster_start_time\": \"2026-11-26 07:56:25.997699+00:00\", \"role\": \"replica\", \"server_version\": 150018, \"xlog\": {\"received_location\": 100663296, \"replayed_location\": 100663296, \"replayed_timestamp\": \"2026-11-26 07:52:57.061836+00:00\", \"paused\": false}, \"timeline\": 1, \"cluster_unlocked\": true, \"dcs_last_seen\": 1795679786, \"tags\": {\"clonefrom\": true, \"version\": \"15\"}, \"database_system_identifier\": \"7712380360460206059\", \"patroni\": {\"version\": \"3.0.2\", \"scope\": \"pg-test\"}}
2026-11-26 07:56:27 +0000 INFO: promoted self to leader by acquiring session lock
2026-11-26 07:56:27 +0000 INFO: cleared rewind state after becoming the leader
2026-11-26 07:56:27 +0000 INFO: Lock owner: pg-test-1; I am pg-test-1
2026-11-26 07:56:28 +0000 INFO: updated leader lock during promote
2026-11-26 07:56:28 +0000 INFO: no action. I am (pg-test-1), the leader with the lock
2026-11-26 07:56:30 +0000 INFO: no action. I am (pg-test-1), the leader with the lock
2026-11-26 07:56:32 +0000 INFO: no action. I am (pg-test-1), the leader with the lock
2026-11-26 07:56:34 +0000 INFO: no action. I am (pg-test-1), the leader with the lock
2026-11-26 07:56:36 +0000 INFO: no action. I am (pg-test-1), the leader with the lock
";

/// Patroni log of pg-test-2.
pub const PATRONI_PG_TEST_2: &str = "\
2026-11-26 07:56:25 +0000 INFO: Selected new etcd server http://10.10.10.10:2379
2026-11-26 07:56:25 +0000 INFO: No PostgreSQL configuration items changed, nothing to reload.
2026-11-26 07:56:25 +0000 WARNING: Postgresql is not running.
2026-11-26 07:56:25 +0000 INFO: Lock owner: None; I am pg-test-2
2026-11-26 07:56:25 +0000 INFO: pg_controldata:
2026-11-26 07:56:25 +0000 INFO: Lock owner: None; I am pg-test-2
2026-11-26 07:56:25 +0000 INFO: starting as a secondary
2026-11-26 07:56:26 +0000 INFO: postmaster pid=29091
2026-11-26 07:56:26 +0000 INFO: establishing a new patroni connection to the postgres cluster
2026-11-26 07:56:26 +0000 INFO: Got response from pg-test-1 http://10.10.10.11:8008/patroni: {\"state\": \"running\", \"postmaster_start_time\": \"2026-11-26 07:56:25.839187+00:00\", \"role\": \"replica\", \"server_version\": 150018, \"xlog\": {\"received_location\": 100663456, \"replayed_location\": 100663456, \"replayed_timestamp\": null, \"paused\": false}, \"timeline\": 1, \"replication\": [{\"usename\": \"replicator\", \"application_name\": \"\", \"client_addr\": \"127.0.0.1\", \"state\": \"startup\", \"sync_state\": \"async\", \"sync_priority\": 0}], \"cluster_unlocked\": true, \"dcs_last_seen\": 1795679785, \"tags\": {\"clonefrom\": true, \"version\": \"15\"}, \"database_system_identifier\": \"7712380360460206059\", \"patroni\": {\"version\": \"3.0.2\", \"scope\": \"pg-test\"}}
2026-11-26 07:56:26 +0000 INFO: Got response from pg-test-3 http://10.10.10.13:8008/patroni: {\"state\": \"running\", \"postmaster_start_time\": \"2026-11-26 07:56:25.902136+00:00\", \"role\": \"replica\", \"server_version\": 150018, \"xlog\": {\"received_location\": 100663296, \"replayed_location\": 100663296, \"replayed_timestamp\": \"2026-11-26 07:52:57.061836+00:00\", \"paused\": false}, \"timeline\": 1, \"cluster_unlocked\": true, \"dcs_last_seen\": 1795679786, \"tags\": {\"clonefrom\": true, \"version\": \"15\"}, \"database_system_identifier\": \"7712380360460206059\", \"patroni\": {\"version\": \"3.0.2\", \"scope\": \"pg-test\"}}
2026-11-26 07:56:26 +0000 INFO: Wal position of pg-test-1 is ahead of my wal position
2026-11-26 07:56:26 +0000 INFO: following a different leader because i am not the healthiest node
2026-11-26 07:56:27 +0000 INFO: Lock owner: pg-test-1; I am pg-test-2
2026-11-26 07:56:27 +0000 INFO: Local timeline=1 lsn=0/6000000
2026-11-26 07:56:27 +0000 INFO: no action. I am (pg-test-2), a secondary, and following a leader (pg-test-1)
2026-11-26 07:56:28 +0000 INFO: Lock owner: pg-test-1; I am pg-test-2
2026-11-26 07:56:28 +0000 INFO: Local timeline=2 lsn=0/6000180
2026-11-26 07:56:28 +0000 INFO: no action. I am (pg-test-2), a secondary, and following a leader (pg-test-1)
2026-11-26 07:56:30 +0000 INFO: Lock owner: pg-test-1; I am pg-test-2
2026-11-26 07:56:30 +0000 INFO: Local timeline=2 lsn=0/6000180
2026-11-26 07:56:30 +0000 INFO: primary_timeline=2
2026-11-26 07:56:30 +0000 INFO: no action. I am (pg-test-2), a secondary, and following a leader (pg-test-1)
2026-11-26 07:56:32 +0000 INFO: no action. I am (pg-test-2), a secondary, and following a leader (pg-test-1)
2026-11-26 07:56:34 +0000 INFO: no action. I am (pg-test-2), a secondary, and following a leader (pg-test-1)
2026-11-26 07:56:36 +0000 INFO: no action. I am (pg-test-2), a secondary, and following a leader (pg-test-1)
";

/// Patroni log of pg-test-3.
pub const PATRONI_PG_TEST_3: &str = "\
2026-11-26 07:56:25 +0000 INFO: Selected new etcd server http://10.10.10.10:2379
2026-11-26 07:56:25 +0000 INFO: No PostgreSQL configuration items changed, nothing to reload.
2026-11-26 07:56:25 +0000 WARNING: Postgresql is not running.
2026-11-26 07:56:25 +0000 INFO: Lock owner: None; I am pg-test-3
2026-11-26 07:56:25 +0000 INFO: pg_controldata:
2026-11-26 07:56:25 +0000 INFO: Lock owner: None; I am pg-test-3
2026-11-26 07:56:25 +0000 INFO: starting as a secondary
2026-11-26 07:56:25 +0000 INFO: postmaster pid=29001
2026-11-26 07:56:26 +0000 INFO: establishing a new patroni connection to the postgres cluster
2026-11-26 07:56:26 +0000 INFO: Got response from pg-test-1 http://10.10.10.11:8008/patroni: {\"state\": \"running\", \"postmaster_start_time\": \"2026-11-26 07:56:25.839187+00:00\", \"role\": \"replica\", \"server_version\": 150018, \"xlog\": {\"received_location\": 100663456, \"replayed_location\": 100663456, \"replayed_timestamp\": null, \"paused\": false}, \"timeline\": 1, \"cluster_unlocked\": true, \"dcs_last_seen\": 1795679785, \"tags\": {\"clonefrom\": true, \"version\": \"15\"}, \"database_system_identifier\": \"7712380360460206059\", \"patroni\": {\"version\": \"3.0.2\", \"scope\": \"pg-test\"}}
2026-11-26 07:56:26 +0000 INFO: Got response from pg-test-2 http://10.10.10.12:8008/patroni: {\"state\": \"starting\", \"postmaster_start_time\": \"2026-11-26 07:56:25.997699+00:00\", \"role\": \"replica\", \"server_version\": 150018, \"xlog\": {\"received_location\": 100663296, \"replayed_location\": 100663296, \"replayed_timestamp\": \"2026-11-26 07:52:57.061836+00:00\", \"paused\": false}, \"timeline\": 1, \"cluster_unlocked\": true, \"dcs_last_seen\": 1795679785, \"tags\": {\"clonefrom\": true, \"version\": \"15\"}, \"database_system_identifier\": \"7712380360460206059\", \"patroni\": {\"version\": \"3.0.2\", \"scope\": \"pg-test\"}}
2026-11-26 07:56:26 +0000 INFO: Wal position of pg-test-1 is ahead of my wal position
2026-11-26 07:56:26 +0000 INFO: following a different leader because i am not the healthiest node
2026-11-26 07:56:27 +0000 INFO: Lock owner: pg-test-1; I am pg-test-3
2026-11-26 07:56:27 +0000 INFO: Local timeline=1 lsn=0/6000000
2026-11-26 07:56:27 +0000 INFO: no action. I am (pg-test-3), a secondary, and following a leader (pg-test-1)
2026-11-26 07:56:28 +0000 INFO: Lock owner: pg-test-1; I am pg-test-3
2026-11-26 07:56:28 +0000 INFO: Local timeline=2 lsn=0/6000180
2026-11-26 07:56:28 +0000 INFO: no action. I am (pg-test-3), a secondary, and following a leader (pg-test-1)
2026-11-26 07:56:30 +0000 INFO: Lock owner: pg-test-1; I am pg-test-3
2026-11-26 07:56:30 +0000 INFO: Local timeline=2 lsn=0/6000180
2026-11-26 07:56:30 +0000 INFO: primary_timeline=2
2026-11-26 07:56:30 +0000 INFO: no action. I am (pg-test-3), a secondary, and following a leader (pg-test-1)
2026-11-26 07:56:32 +0000 INFO: no action. I am (pg-test-3), a secondary, and following a leader (pg-test-1)
2026-11-26 07:56:34 +0000 INFO: no action. I am (pg-test-3), a secondary, and following a leader (pg-test-1)
2026-11-26 07:56:36 +0000 INFO: no action. I am (pg-test-3), a secondary, and following a leader (pg-test-1)
";

/// The csvlog of pg-test-1.
pub const POSTGRES_PG_TEST_1: &str = "\
2026-11-26 07:34:45.645 UTC,\"replicator\",\"\",24868,\"127.0.0.1:34560\",6b07e115.6124,1,\"idle\",2026-11-26 07:34:45 UTC,4/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"pg-test-2\",\"walsender\",,0
2026-11-26 07:34:45.645 UTC,\"replicator\",\"\",24868,\"127.0.0.1:34560\",6b07e115.6124,3,\"START_REPLICATION\",2026-11-26 07:34:45 UTC,4/0,0,ERROR,42704,\"replication slot \"\"pg_test_2\"\" does not exist\",,,,,,\"START_REPLICATION SLOT \"\"pg_test_2\"\" 0/3000000 TIMELINE 1\",,,\"pg-test-2\",\"walsender\",,0
2026-11-26 07:34:45.716 UTC,\"replicator\",\"\",24890,\"127.0.0.1:34574\",6b07e115.613a,3,\"START_REPLICATION\",2026-11-26 07:34:45 UTC,4/0,0,ERROR,42704,\"replication slot \"\"pg_test_3\"\" does not exist\",,,,,,\"START_REPLICATION SLOT \"\"pg_test_3\"\" 0/4000000 TIMELINE 1\",,,\"pg-test-3\",\"walsender\",,0
2026-11-26 07:56:25.835 UTC,,,28966,,6b07e629.7126,1,,2026-11-26 07:56:25 UTC,,0,LOG,00000,\"ending log output to stderr\",,\"Future log output will go to log destination \"\"csvlog\"\".\",,,,,,,\"\",\"postmaster\",,0
2026-11-26 07:56:25.835 UTC,,,28966,,6b07e629.7126,2,,2026-11-26 07:56:25 UTC,,0,LOG,00000,\"starting PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14+deb12u1) 12.2.0, 64-bit\",,,,,,,,,\"\",\"postmaster\",,0
2026-11-26 07:56:25.835 UTC,,,28966,,6b07e629.7126,3,,2026-11-26 07:56:25 UTC,,0,LOG,00000,\"listening on IPv4 address \"\"10.10.10.11\"\", port 5432\",,,,,,,,,\"\",\"postmaster\",,0
2026-11-26 07:56:25.835 UTC,,,28966,,6b07e629.7126,4,,2026-11-26 07:56:25 UTC,,0,LOG,00000,\"listening on Unix socket \"\"/var/run/postgresql/.s.PGSQL.5432\"\"\",,,,,,,,,\"\",\"postmaster\",,0
2026-11-26 07:56:25.846 UTC,,,29090,,6b07e629.71a2,1,,2026-11-26 07:56:25 UTC,,0,LOG,00000,\"database system was shut down at 2026-11-26 07:55:19 UTC\",,,,,,,,,\"\",\"startup\",,0
2026-11-26 07:56:25.846 UTC,,,29090,,6b07e629.71a2,2,,2026-11-26 07:56:25 UTC,,0,WARNING,01000,\"specified neither primary_conninfo nor restore_command\",,\"The database server will regularly poll the pg_wal subdirectory to check for files placed there.\",,,,,,,\"\",\"startup\",,0
2026-11-26 07:56:25.846 UTC,,,29090,,6b07e629.71a2,3,,2026-11-26 07:56:25 UTC,,0,LOG,00000,\"entering standby mode\",,,,,,,,,\"\",\"startup\",,0
2026-11-26 07:56:25.849 UTC,,,29090,,6b07e629.71a2,4,,2026-11-26 07:56:25 UTC,1/0,0,LOG,00000,\"consistent recovery state reached at 0/60000A0\",,,,,,,,,\"\",\"startup\",,0
2026-11-26 07:56:25.849 UTC,,,29090,,6b07e629.71a2,5,,2026-11-26 07:56:25 UTC,1/0,0,LOG,00000,\"invalid record length at 0/60000A0: wanted 24, got 0\",,,,,,,,,\"\",\"startup\",,0
2026-11-26 07:56:25.850 UTC,,,29090,,6b07e629.71a2,6,,2026-11-26 07:56:25 UTC,1/0,0,LOG,00000,\"waiting for WAL to become available at 0/60000B8\",,,,,,,,,\"\",\"startup\",,0
2026-11-26 07:56:25.852 UTC,,,28966,,6b07e629.7126,5,,2026-11-26 07:56:25 UTC,,0,LOG,00000,\"database system is ready to accept read-only connections\",,,,,,,,,\"\",\"postmaster\",,0
2026-11-26 07:56:25.922 UTC,\"replicator\",\"\",29122,\"127.0.0.1:44208\",6b07e629.71c2,1,\"idle\",2026-11-26 07:56:25 UTC,3/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"\",\"walsender\",,0
2026-11-26 07:56:25.985 UTC,\"replicator\",\"\",29236,\"127.0.0.1:44214\",6b07e629.7234,1,\"idle\",2026-11-26 07:56:25 UTC,3/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"\",\"walsender\",,0
2026-11-26 07:56:26.026 UTC,\"replicator\",\"\",29263,\"127.0.0.1:44230\",6b07e62a.724f,1,\"idle\",2026-11-26 07:56:26 UTC,3/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"\",\"walsender\",,0
2026-11-26 07:56:26.068 UTC,\"replicator\",\"\",29299,\"127.0.0.1:44246\",6b07e62a.7273,1,\"idle\",2026-11-26 07:56:26 UTC,3/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"\",\"walsender\",,0
2026-11-26 07:56:26.138 UTC,\"replicator\",\"\",29357,\"127.0.0.1:44254\",6b07e62a.72ad,1,\"idle\",2026-11-26 07:56:26 UTC,3/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"\",\"walsender\",,0
2026-11-26 07:56:26.148 UTC,\"replicator\",\"\",29371,\"127.0.0.1:44262\",6b07e62a.72bb,1,\"idle\",2026-11-26 07:56:26 UTC,4/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"\",\"walsender\",,0
2026-11-26 07:56:26.251 UTC,\"replicator\",\"\",29433,\"127.0.0.1:44268\",6b07e62a.72f9,1,\"idle\",2026-11-26 07:56:26 UTC,3/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"\",\"walsender\",,0
2026-11-26 07:56:26.290 UTC,\"replicator\",\"\",29456,\"127.0.0.1:44276\",6b07e62a.7310,1,\"idle\",2026-11-26 07:56:26 UTC,3/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"\",\"walsender\",,0
2026-11-26 07:56:26.408 UTC,\"replicator\",\"\",29498,\"127.0.0.1:44284\",6b07e62a.733a,1,\"idle\",2026-11-26 07:56:26 UTC,3/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"\",\"walsender\",,0
2026-11-26 07:56:26.586 UTC,\"replicator\",\"\",29509,\"127.0.0.1:44290\",6b07e62a.7345,1,\"idle\",2026-11-26 07:56:26 UTC,3/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"\",\"walsender\",,0
2026-11-26 07:56:26.708 UTC,\"replicator\",\"\",29519,\"127.0.0.1:44296\",6b07e62a.734f,1,\"idle\",2026-11-26 07:56:26 UTC,3/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"\",\"walsender\",,0
2026-11-26 07:56:26.937 UTC,\"replicator\",\"\",29574,\"127.0.0.1:44302\",6b07e62a.7386,1,\"idle\",2026-11-26 07:56:26 UTC,3/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"\",\"walsender\",,0
2026-11-26 07:56:26.992 UTC,\"replicator\",\"\",29591,\"127.0.0.1:44306\",6b07e62a.7397,1,\"idle\",2026-11-26 07:56:26 UTC,3/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"\",\"walsender\",,0
2026-11-26 07:56:27.040 UTC,\"replicator\",\"\",29593,\"127.0.0.1:44312\",6b07e62b.7399,1,\"idle\",2026-11-26 07:56:27 UTC,3/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"\",\"walsender\",,0
2026-11-26 07:56:27.153 UTC,\"replicator\",\"\",29602,\"127.0.0.1:44326\",6b07e62b.73a2,1,\"idle\",2026-11-26 07:56:27 UTC,3/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"\",\"walsender\",,0
2026-11-26 07:56:27.259 UTC,\"replicator\",\"\",29612,\"127.0.0.1:44334\",6b07e62b.73ac,1,\"idle\",2026-11-26 07:56:27 UTC,3/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"\",\"walsender\",,0
2026-11-26 07:56:27.298 UTC,\"replicator\",\"\",29614,\"127.0.0.1:44342\",6b07e62b.73ae,1,\"idle\",2026-11-26 07:56:27 UTC,3/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"\",\"walsender\",,0
2026-11-26 07:56:27.418 UTC,\"replicator\",\"\",29623,\"127.0.0.1:52594\",6b07e62b.73b7,1,\"idle\",2026-11-26 07:56:27 UTC,3/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"\",\"walsender\",,0
2026-11-26 07:56:27.526 UTC,\"replicator\",\"\",29633,\"127.0.0.1:52598\",6b07e62b.73c1,1,\"idle\",2026-11-26 07:56:27 UTC,3/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"\",\"walsender\",,0
2026-11-26 07:56:27.544 UTC,\"replicator\",\"\",29650,\"127.0.0.1:52600\",6b07e62b.73d2,1,\"idle\",2026-11-26 07:56:27 UTC,3/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"pg-test-3\",\"walsender\",,0
2026-11-26 07:56:27.544 UTC,\"replicator\",\"\",29650,\"127.0.0.1:52600\",6b07e62b.73d2,2,\"idle\",2026-11-26 07:56:27 UTC,3/0,0,LOG,00000,\"received replication command: START_REPLICATION SLOT \"\"pg_test_3\"\" 0/6000000 TIMELINE 1\",,,,,,\"START_REPLICATION SLOT \"\"pg_test_3\"\" 0/6000000 TIMELINE 1\",,,\"pg-test-3\",\"walsender\",,0
2026-11-26 07:56:27.563 UTC,\"replicator\",\"\",29655,\"127.0.0.1:52604\",6b07e62b.73d7,1,\"idle\",2026-11-26 07:56:27 UTC,4/0,0,LOG,00000,\"received replication command: IDENTIFY_SYSTEM\",,,,,,\"IDENTIFY_SYSTEM\",,,\"pg-test-2\",\"walsender\",,0
2026-11-26 07:56:27.563 UTC,\"replicator\",\"\",29655,\"127.0.0.1:52604\",6b07e62b.73d7,2,\"idle\",2026-11-26 07:56:27 UTC,4/0,0,LOG,00000,\"received replication command: START_REPLICATION SLOT \"\"pg_test_2\"\" 0/6000000 TIMELINE 1\",,,,,,\"START_REPLICATION SLOT \"\"pg_test_2\"\" 0/6000000 TIMELINE 1\",,,\"pg-test-2\",\"walsender\",,0
2026-11-26 07:56:27.574 UTC,,,29090,,6b07e629.71a2,7,,2026-11-26 07:56:25 UTC,1/0,0,LOG,00000,\"received promote request\",,,,,,,,,\"\",\"startup\",,0
2026-11-26 07:56:27.574 UTC,,,29090,,6b07e629.71a2,8,,2026-11-26 07:56:25 UTC,1/0,0,LOG,00000,\"redo is not required\",,,,,,,,,\"\",\"startup\",,0
2026-11-26 07:56:27.576 UTC,,,29090,,6b07e629.71a2,9,,2026-11-26 07:56:25 UTC,1/0,0,LOG,00000,\"selected new timeline ID: 2\",,,,,,,,,\"\",\"startup\",,0
2026-11-26 07:56:27.592 UTC,,,29090,,6b07e629.71a2,10,,2026-11-26 07:56:25 UTC,1/0,0,LOG,00000,\"archive recovery complete\",,,,,,,,,\"\",\"startup\",,0
2026-11-26 07:56:27.595 UTC,,,29088,,6b07e629.71a0,1,,2026-11-26 07:56:25 UTC,,0,LOG,00000,\"checkpoint starting: force\",,,,,,,,,\"\",\"checkpointer\",,0
2026-11-26 07:56:27.595 UTC,,,29088,,6b07e629.71a0,2,,2026-11-26 07:56:25 UTC,,0,LOG,00000,\"checkpoint complete: wrote 3 buffers (0.1%); 0 WAL file(s) added, 0 removed, 0 recycled; write=0.001 s, sync=0.001 s, total=0.001 s; sync files=2, longest=0.001 s, average=0.001 s; distance=0 kB, estimate=0 kB\",,,,,,,,,\"\",\"checkpointer\",,0
";

/// The activity query's output on pg-test-1.
pub const ACTIVITY_PG_TEST_1: &str = "\
12414\x1fdbuser_dba\x1fpostgres\x1fbilling-batch\x1f127.0.0.1\x1fidle in transaction\x1fClient\x1fClientRead\x1f13.167\x1f13.167\x1f\x1fUPDATE pgbench_accounts_rec SET abalance = abalance - 100 WHERE aid = 42;\x1e\
12887\x1fdbuser_dba\x1fpostgres\x1freport-job\x1f127.0.0.1\x1factive\x1fTimeout\x1fPgSleep\x1f10.138\x1f10.138\x1f\x1fSELECT count(*) FROM pg_class a, pg_class b, pg_class c WHERE pg_sleep(0.001) IS NOT NULL;\x1e\
12899\x1fdbuser_dba\x1fpostgres\x1fapi-worker\x1f127.0.0.1\x1factive\x1fLock\x1ftransactionid\x1f10.045\x1f10.045\x1f12414\x1fUPDATE pgbench_accounts_rec SET abalance = abalance + 5 WHERE aid = 42;\x1e\
13994\x1fdbuser_dba\x1fpostgres\x1fmigration\x1f127.0.0.1\x1factive\x1fLock\x1frelation\x1f4.176\x1f4.176\x1f12899,12414\x1fLOCK TABLE pgbench_accounts_rec IN ACCESS EXCLUSIVE MODE;\x1e\
30259\x1fdbuser_monitor\x1fpostgres\x1fpg_exporter\x1f127.0.0.1\x1fidle\x1fClient\x1fClientRead\x1f0.509\x1f\x1f\x1fSELECT pg_database.datname   ,pg_database_size(pg_database.datname)   FROM pg_database;\x1e\
30258\x1fdbuser_monitor\x1fpostgres\x1fpg_exporter\x1f127.0.0.1\x1fidle\x1fClient\x1fClientRead\x1f0.499\x1f\x1f\x1fSELECT timeline_id AS tli, pg_wal_lsn_diff(checkpoint_lsn, '0/0') AS checkpoint_lsn FROM pg_control_checkpoint()\x1e\
29115\x1fpostgres\x1fpostgres\x1fPatroni\x1flocal\x1fidle\x1fClient\x1fClientRead\x1f0.139\x1f\x1f\x1fSELECT pg_catalog.pg_postmaster_start_time(), CASE WHEN pg_catalog.pg_is_in_recovery() THEN 0 ELSE ('x' || pg_catalog.substr(pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn()), 1, 8))::bit(32)::int END, CASE WHEN pg_catalog.pg_is_in_recovery() THEN 0 ELSE pg_catalog.pg_wal_lsn_diff(pg_catal\x1e\
";
