-- Schema 3: the hub role (DESIGN.md §4): device identities with their
-- twins, the telemetry log, jobs.
--
-- Hub names compare case-insensitively (they are host names); device IDs
-- and job IDs are case-sensitive, as in IoT Hub, so their columns keep the
-- default BINARY collation and page in byte order.

-- One row per (hub, device).  Thumbprints are upper-case hex (SHA-1 or
-- SHA-256) or NULL; only selfSigned devices (auth 1) have them.  The twin's
-- sections are JSON objects.
CREATE TABLE hub_device (
	rid INTEGER PRIMARY KEY,
	hub TEXT NOT NULL COLLATE NOCASE CHECK (hub <> ''),
	device_id TEXT NOT NULL CHECK (device_id <> ''),
	auth INTEGER NOT NULL CHECK (auth IN (0, 1, 2)),
	primary_thumb TEXT,
	secondary_thumb TEXT,
	enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
	status_reason TEXT,
	generation_id TEXT NOT NULL,
	etag TEXT NOT NULL,
	created INTEGER NOT NULL,
	updated INTEGER NOT NULL,
	last_activity INTEGER NOT NULL,
	iot_edge INTEGER NOT NULL CHECK (iot_edge IN (0, 1)),
	tags TEXT NOT NULL,
	desired TEXT NOT NULL,
	desired_version INTEGER NOT NULL,
	reported TEXT NOT NULL,
	reported_version INTEGER NOT NULL,
	twin_etag TEXT NOT NULL,
	twin_version INTEGER NOT NULL,
	UNIQUE (hub, device_id)
);
-- The lookup of a device by a certificate's thumbprint (DPS side).
CREATE INDEX hub_device_primary ON hub_device (primary_thumb)
    WHERE primary_thumb IS NOT NULL;
CREATE INDEX hub_device_secondary ON hub_device (secondary_thumb)
    WHERE secondary_thumb IS NOT NULL;

-- The last telemetry seq handed out per hub: kept apart from the events so
-- that a seq is never reused, whatever retention dropped.
CREATE TABLE hub_event_seq (
	hub TEXT PRIMARY KEY COLLATE NOCASE CHECK (hub <> ''),
	last INTEGER NOT NULL CHECK (last > 0)
);

-- The telemetry log, bounded per hub by the appender's retention count.
CREATE TABLE hub_event (
	hub TEXT NOT NULL COLLATE NOCASE,
	seq INTEGER NOT NULL CHECK (seq > 0),
	device_id TEXT NOT NULL,
	time INTEGER NOT NULL,
	-- JSON object, or NULL
	props TEXT,
	body BLOB NOT NULL,
	PRIMARY KEY (hub, seq)
);

-- Jobs v2.  status: 0 queued, 1 running, 2 completed, 3 failed,
-- 4 cancelled.
CREATE TABLE hub_job (
	hub TEXT NOT NULL COLLATE NOCASE CHECK (hub <> ''),
	job_id TEXT NOT NULL CHECK (job_id <> ''),
	type TEXT NOT NULL,
	query_condition TEXT,
	-- JSON objects, or NULL
	method TEXT,
	twin TEXT,
	start_time INTEGER NOT NULL,
	max_execution_time INTEGER NOT NULL,
	status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 4),
	failure_reason TEXT,
	statistics TEXT,
	created INTEGER NOT NULL,
	updated INTEGER NOT NULL,
	end_time INTEGER NOT NULL,
	PRIMARY KEY (hub, job_id)
);
-- A hub's jobs in one status (the runner's queue, the query's filter).
CREATE INDEX hub_job_status ON hub_job (hub, status, job_id);
