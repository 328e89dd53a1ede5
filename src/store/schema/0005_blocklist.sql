-- Schema 5: the certificate blocklist (seed rule S9: a compromised
-- certificate is removed at once and blocklisted).  Attestation refuses a
-- presented chain holding any certificate listed here, leaf or CA.
--
-- sha256 is the upper-case hex SHA-256 thumbprint of the certificate's
-- DER; blocked_at is when it was first listed (a later put changes only
-- the reason).
CREATE TABLE blocklist (
	sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
	reason TEXT NOT NULL CHECK (reason <> ''),
	blocked_at INTEGER NOT NULL
);
