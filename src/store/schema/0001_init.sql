-- Schema 1 of the SQLite store (DESIGN.md §4): enrollments and their
-- certificates, CA certificates, registration states.
--
-- IDs are ASCII and compare case-insensitively (COLLATE NOCASE), as DPS
-- registration IDs do; the spelling of the first write is what is stored.
-- Thumbprints are stored upper-case hex, so they compare exactly.
-- Every lookup the store makes has an index; none scans a table.

-- Individual enrollments (kind 0, id = registration ID) and enrollment
-- groups (kind 1, id = group ID) share one table, so that one certificate
-- table can hold the certificates of both.
CREATE TABLE enrollment (
	rid INTEGER PRIMARY KEY,
	kind INTEGER NOT NULL CHECK (kind IN (0, 1)),
	id TEXT NOT NULL COLLATE NOCASE CHECK (id <> ''),
	device_id TEXT,
	enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
	etag TEXT NOT NULL,
	created INTEGER NOT NULL,
	updated INTEGER NOT NULL,
	-- JSON object: the API fields the store does not interpret
	doc TEXT NOT NULL,
	UNIQUE (kind, id)
);

-- The certificate in a slot (0 primary, 1 secondary) of an enrollment.  The
-- unique index on sha256 is what keeps a certificate in at most one
-- enrollment, individual or group (seed rule S13); it also serves the
-- lookup by thumbprint at attestation.
CREATE TABLE enrollment_cert (
	rid INTEGER NOT NULL REFERENCES enrollment (rid) ON DELETE CASCADE,
	slot INTEGER NOT NULL CHECK (slot IN (0, 1)),
	der BLOB NOT NULL,
	sha1 TEXT NOT NULL,
	sha256 TEXT NOT NULL UNIQUE,
	subject TEXT,
	issuer TEXT,
	serial TEXT,
	not_before INTEGER NOT NULL,
	not_after INTEGER NOT NULL,
	version INTEGER NOT NULL,
	PRIMARY KEY (rid, slot)
);

-- A group slot naming a verified CA certificate instead of holding one.
-- Not a foreign key: a group may name a CA certificate not (yet) uploaded,
-- and attestation then finds nothing to verify against.
CREATE TABLE group_ca_ref (
	rid INTEGER NOT NULL REFERENCES enrollment (rid) ON DELETE CASCADE,
	slot INTEGER NOT NULL CHECK (slot IN (0, 1)),
	ca_name TEXT NOT NULL COLLATE NOCASE,
	PRIMARY KEY (rid, slot)
);
CREATE INDEX group_ca_ref_name ON group_ca_ref (ca_name);

-- CA certificates uploaded for proof of possession (DPS "certificates").
CREATE TABLE ca_cert (
	name TEXT PRIMARY KEY COLLATE NOCASE CHECK (name <> ''),
	der BLOB NOT NULL,
	sha1 TEXT NOT NULL,
	sha256 TEXT NOT NULL,
	subject TEXT,
	issuer TEXT,
	serial TEXT,
	not_before INTEGER NOT NULL,
	not_after INTEGER NOT NULL,
	version INTEGER NOT NULL,
	verified INTEGER NOT NULL CHECK (verified IN (0, 1)),
	verification_code TEXT,
	etag TEXT NOT NULL,
	created INTEGER NOT NULL,
	updated INTEGER NOT NULL
);
CREATE INDEX ca_cert_sha256 ON ca_cert (sha256);

-- Registration states, one per registration ID; they outlive the
-- enrollment (group) they were made through.
CREATE TABLE registration (
	registration_id TEXT PRIMARY KEY COLLATE NOCASE
	    CHECK (registration_id <> ''),
	device_id TEXT,
	assigned_hub TEXT,
	status TEXT,
	substatus TEXT,
	enrollment_group_id TEXT COLLATE NOCASE,
	error_message TEXT,
	error_code INTEGER NOT NULL,
	cert_sha256 TEXT,
	last_csr TEXT,
	etag TEXT NOT NULL,
	created INTEGER NOT NULL,
	updated INTEGER NOT NULL,
	-- JSON, or NULL
	payload TEXT
);
-- Paging through a group's registrations in ID order.
CREATE INDEX registration_group ON registration
    (enrollment_group_id, registration_id)
    WHERE enrollment_group_id IS NOT NULL;
