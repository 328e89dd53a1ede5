-- Schema 4: certificates the device CA issued from CSRs (DESIGN.md §4
-- issued_certificate; seed rule S4), for the expiry report, revocation
-- and the history of a registration.
--
-- serial is upper-case hex without separators or leading zero octets
-- (RFC 5280 §4.1.2.2: at most 20 octets); sha256 is the upper-case hex
-- thumbprint of der.  revoked_at is NULL until the certificate is revoked.
CREATE TABLE issued_certificate (
	serial TEXT PRIMARY KEY CHECK (serial <> ''),
	registration_id TEXT NOT NULL COLLATE NOCASE
	    CHECK (registration_id <> ''),
	sha256 TEXT NOT NULL,
	not_before INTEGER NOT NULL,
	not_after INTEGER NOT NULL CHECK (not_after >= not_before),
	issued_at INTEGER NOT NULL,
	revoked_at INTEGER,
	revoke_reason TEXT,
	der BLOB NOT NULL
);
-- A registration's certificates, newest first.
CREATE INDEX issued_certificate_registration
    ON issued_certificate (registration_id, issued_at);
-- The expiry report: live certificates by notAfter.
CREATE INDEX issued_certificate_expiry ON issued_certificate (not_after)
    WHERE revoked_at IS NULL;
CREATE INDEX issued_certificate_sha256 ON issued_certificate (sha256);
