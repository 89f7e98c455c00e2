-- CxEngine's schema for PostgreSQL: Orleans' ADO.NET grain storage and cluster membership.
--
-- Orleans' providers look up their statements by key in OrleansQuery. This script creates the tables
-- and (re)writes every statement, so it is safe to run again and again: at every silo start, and by
-- hand with  psql "$CONNECTION" -f postgresql.sql  or  cxengine-silo apply-schema.
-- Several silos may start at once: a transaction-scoped advisory lock makes them take turns.
--
-- Grain storage contract (parameters the provider binds, columns it reads):
--   in:  @GrainIdHash @GrainIdN0 @GrainIdN1 @GrainTypeHash @GrainTypeString @GrainIdExtensionString
--        @ServiceId @GrainStateVersion @PayloadBinary
--   out: read → PayloadBinary, Version; write and clear → NewGrainStateVersion (no row on a version conflict)
-- Membership contract:
--   in:  @DeploymentId @Address @Port @Generation @SiloName @HostName @Status @ProxyPort @SuspectTimes
--        @StartTime @IAmAliveTime @Version
--   out: rows of (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort,
--        SuspectTimes, StartTime, IAmAliveTime, Version); inserts and updates → one count, > 0 on success.

BEGIN;
SELECT pg_advisory_xact_lock(7243051190266261);

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL PRIMARY KEY,
    QueryText text        NOT NULL
);

-- Grain state ----------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS OrleansStorage
(
    GrainIdHash            integer      NOT NULL,
    GrainIdN0              bigint       NOT NULL,
    GrainIdN1              bigint       NOT NULL,
    GrainTypeHash          integer      NOT NULL,
    GrainTypeString        varchar(512) NOT NULL,
    GrainIdExtensionString varchar(512) NULL,
    ServiceId              varchar(150) NOT NULL,
    PayloadBinary          bytea        NULL,
    ModifiedOn             timestamptz  NOT NULL,
    Version                integer      NOT NULL
);

-- One row per grain and service; hashes first so the index stays selective, the full key settles
-- hash collisions, COALESCE makes a missing extension key compare equal.
CREATE UNIQUE INDEX IF NOT EXISTS UX_OrleansStorage_Grain ON OrleansStorage
    (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, GrainTypeString, (COALESCE(GrainIdExtensionString, '')), ServiceId);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadFromStorageKey', '
SELECT PayloadBinary, Version
FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
  AND ServiceId = @ServiceId
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- A first write (no version) inserts; a later write updates the version it read, and only that one.
-- At most one of the two changes a row; a lost race or a stale version returns nothing.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('WriteToStorageKey', '
WITH updated AS (
    UPDATE OrleansStorage
    SET PayloadBinary = @PayloadBinary, ModifiedOn = now(), Version = Version + 1
    WHERE @GrainStateVersion IS NOT NULL
      AND GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
      AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
      AND GrainTypeString = @GrainTypeString
      AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
      AND ServiceId = @ServiceId
      AND Version = @GrainStateVersion
    RETURNING Version
), inserted AS (
    INSERT INTO OrleansStorage
        (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString,
         ServiceId, PayloadBinary, ModifiedOn, Version)
    SELECT @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString, @GrainIdExtensionString,
           @ServiceId, @PayloadBinary, now(), 1
    WHERE @GrainStateVersion IS NULL
    ON CONFLICT DO NOTHING
    RETURNING Version
)
SELECT Version AS NewGrainStateVersion FROM updated
UNION ALL
SELECT Version AS NewGrainStateVersion FROM inserted
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ClearStorageKey', '
UPDATE OrleansStorage
SET PayloadBinary = NULL, ModifiedOn = now(), Version = Version + 1
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
  AND ServiceId = @ServiceId
  AND Version = @GrainStateVersion
RETURNING Version AS NewGrainStateVersion
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- Cluster membership ---------------------------------------------------------------------------

-- One version row per cluster (deployment); every membership change moves it by one, so silos
-- change the table only from the version they last read.
CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable
(
    DeploymentId varchar(150) NOT NULL PRIMARY KEY,
    Timestamp    timestamptz  NOT NULL DEFAULT now(),
    Version      integer      NOT NULL DEFAULT 0
);

-- One row per silo incarnation (address, port, generation).
CREATE TABLE IF NOT EXISTS OrleansMembershipTable
(
    DeploymentId varchar(150)  NOT NULL REFERENCES OrleansMembershipVersionTable (DeploymentId),
    Address      varchar(45)   NOT NULL,
    Port         integer       NOT NULL,
    Generation   integer       NOT NULL,
    SiloName     varchar(150)  NOT NULL,
    HostName     varchar(150)  NOT NULL,
    Status       integer       NOT NULL,
    ProxyPort    integer       NULL,
    SuspectTimes varchar(8000) NULL,
    StartTime    timestamptz   NOT NULL,
    IAmAliveTime timestamptz   NOT NULL,
    PRIMARY KEY (DeploymentId, Address, Port, Generation)
);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('InsertMembershipVersionKey', '
WITH created AS (
    INSERT INTO OrleansMembershipVersionTable (DeploymentId) VALUES (@DeploymentId)
    ON CONFLICT (DeploymentId) DO NOTHING
    RETURNING 1
)
SELECT count(*)::integer FROM created
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- The version row is bumped first (locking it), the silo row is added only if that succeeded.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('InsertMembershipKey', '
WITH bumped AS (
    UPDATE OrleansMembershipVersionTable
    SET Version = Version + 1, Timestamp = now()
    WHERE DeploymentId = @DeploymentId AND Version = @Version
    RETURNING DeploymentId
), added AS (
    INSERT INTO OrleansMembershipTable
        (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort, StartTime, IAmAliveTime)
    SELECT DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime
    FROM bumped
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT count(*)::integer FROM added
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpdateMembershipKey', '
WITH bumped AS (
    UPDATE OrleansMembershipVersionTable
    SET Version = Version + 1, Timestamp = now()
    WHERE DeploymentId = @DeploymentId AND Version = @Version
    RETURNING DeploymentId
), changed AS (
    UPDATE OrleansMembershipTable m
    SET Status = @Status, SuspectTimes = @SuspectTimes, IAmAliveTime = @IAmAliveTime
    FROM bumped b
    WHERE m.DeploymentId = b.DeploymentId
      AND m.Address = @Address AND m.Port = @Port AND m.Generation = @Generation
    RETURNING 1
)
SELECT count(*)::integer FROM changed
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpdateIAmAlivetimeKey', '
UPDATE OrleansMembershipTable
SET IAmAliveTime = @IAmAliveTime
WHERE DeploymentId = @DeploymentId AND Address = @Address AND Port = @Port AND Generation = @Generation
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('MembershipReadRowKey', '
SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
       m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
FROM OrleansMembershipVersionTable v
LEFT JOIN OrleansMembershipTable m
       ON m.DeploymentId = v.DeploymentId
      AND m.Address = @Address AND m.Port = @Port AND m.Generation = @Generation
WHERE v.DeploymentId = @DeploymentId
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('MembershipReadAllKey', '
SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
       m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
FROM OrleansMembershipVersionTable v
LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
WHERE v.DeploymentId = @DeploymentId
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteMembershipTableEntriesKey', '
DELETE FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId;
DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = @DeploymentId;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- Status 3 is Active: live gateways are active silos with a proxy port.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('GatewaysQueryKey', '
SELECT Address, ProxyPort, Generation
FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId AND Status = @Status AND ProxyPort > 0
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- Rows of silos long gone (and not active) are removed by the cleanup agent.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('CleanupDefunctSiloEntriesKey', '
DELETE FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId AND IAmAliveTime < @IAmAliveTime AND Status <> 3
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- Recovery: the action log and the current state of actions (RecoveryStore).
-- Times are UTC ticks, so the same statements serve SQLite and PostgreSQL.

CREATE TABLE IF NOT EXISTS cx_action_log
(
    sequence      bigint       NOT NULL PRIMARY KEY,
    action_id     varchar(200) NOT NULL,
    revision      integer      NOT NULL,
    customer_id   varchar(128) NOT NULL,
    tier          varchar(32)  NOT NULL,
    severity      integer      NOT NULL,
    status        integer      NOT NULL,
    change        integer      NOT NULL,
    created_ticks bigint       NOT NULL,
    payload       bytea        NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_cx_action_log_revision ON cx_action_log (action_id, revision);
CREATE INDEX IF NOT EXISTS ix_cx_action_log_created ON cx_action_log (created_ticks);

CREATE TABLE IF NOT EXISTS cx_actions
(
    action_id     varchar(200) NOT NULL PRIMARY KEY,
    customer_id   varchar(128) NOT NULL,
    tier          varchar(32)  NOT NULL,
    severity      integer      NOT NULL,
    status        integer      NOT NULL,
    overdue       integer      NOT NULL,
    due_ticks     bigint       NOT NULL,
    updated_ticks bigint       NOT NULL,
    revision      integer      NOT NULL,
    last_sequence bigint       NOT NULL,
    payload       bytea        NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_cx_actions_sequence ON cx_actions (last_sequence);
CREATE INDEX IF NOT EXISTS ix_cx_actions_due ON cx_actions (status, due_ticks);
CREATE INDEX IF NOT EXISTS ix_cx_actions_customer ON cx_actions (customer_id);

-- Webhooks: each configured endpoint's position in the action log (the sequence of the last entry it
-- was sent, or that its filters passed over), so delivery resumes there after a restart, and a lease:
-- the silo named in owner delivers to the endpoint until lease_until_ticks, and renews it while it does,
-- so one silo of a cluster delivers to an endpoint at a time. attempts and last_error describe the
-- entry now pending (Recovery.ListWebhookDeliveries reads them from any silo).
CREATE TABLE IF NOT EXISTS cx_webhook_positions
(
    endpoint          varchar(200)  NOT NULL PRIMARY KEY,
    sequence          bigint        NOT NULL,
    owner             varchar(200)  NOT NULL,
    lease_until_ticks bigint        NOT NULL,
    delivered_ticks   bigint        NOT NULL,
    attempts          integer       NOT NULL,
    last_error        varchar(1000) NOT NULL,
    last_error_ticks  bigint        NOT NULL,
    updated_ticks     bigint        NOT NULL
);

-- The at-risk index of earlier versions; cx_customers (below) answers ListAtRisk now.
DROP TABLE IF EXISTS cx_at_risk;

-- Customers (CustomerStore). The event log is the truth: one row per applied event, with what arrived
-- and what the engine computed from it (payload). A customer's row holds its standing (the columns,
-- updated with every batch: ListAtRisk and exports read them) and its snapshot (rewritten every N
-- events and whenever the action or tier changes). Everything a batch causes, its events, the row and
-- its action-log entries, is written in one transaction.
CREATE TABLE IF NOT EXISTS cx_events
(
    customer_id   varchar(128) NOT NULL,
    position      bigint       NOT NULL,
    event_id      varchar(128) NOT NULL,
    applied_ticks bigint       NOT NULL,
    payload       bytea        NOT NULL,
    PRIMARY KEY (customer_id, position)
);
-- The final word on idempotency: an event id is applied to a customer at most once.
CREATE UNIQUE INDEX IF NOT EXISTS ux_cx_events_event_id ON cx_events (customer_id, event_id);
CREATE INDEX IF NOT EXISTS ix_cx_events_applied ON cx_events (applied_ticks);

CREATE TABLE IF NOT EXISTS cx_customers
(
    customer_id       varchar(128)     NOT NULL PRIMARY KEY,
    version           bigint           NOT NULL,
    tier              varchar(32)      NOT NULL,
    score             double precision NOT NULL,
    expectation       double precision NOT NULL,
    events_applied    bigint           NOT NULL,
    last_event_ticks  bigint           NOT NULL,
    open_action_id    varchar(200)     NULL,
    snapshot_position bigint           NOT NULL,
    snapshot          bytea            NOT NULL,
    updated_ticks     bigint           NOT NULL,
    promise_due_ticks bigint           NULL
);
CREATE INDEX IF NOT EXISTS ix_cx_customers_tier_score ON cx_customers (tier, score);
-- The engine's durable promise timer: the earliest deadline among a customer's open promises, when it has any.
ALTER TABLE cx_customers ADD COLUMN IF NOT EXISTS promise_due_ticks bigint NULL;
CREATE INDEX IF NOT EXISTS ix_cx_customers_promise_due ON cx_customers (promise_due_ticks) WHERE promise_due_ticks IS NOT NULL;

-- Grain state written by CxEngine's group-commit storage (CxEngine:Storage:StateWriter=GroupCommit).
CREATE TABLE IF NOT EXISTS cx_grain_state
(
    service_id     varchar(150) NOT NULL,
    state_name     varchar(150) NOT NULL,
    grain_id       varchar(600) NOT NULL,
    version        bigint       NOT NULL,
    payload        bytea        NULL,
    modified_ticks bigint       NOT NULL,
    PRIMARY KEY (service_id, state_name, grain_id)
);

COMMIT;
