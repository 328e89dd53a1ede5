-- Schema 2: the audit log of every credential change (DESIGN.md §3, §4).
-- Rows are appended in the transaction of the change they record; each
-- row's hash covers the previous row's hash (rc_audit_hash), so an edited
-- or deleted row breaks the chain from that row on.  The triggers refuse
-- changes through SQL; they are a guard against mistakes, not against
-- someone with write access to the file, whom only the chain exposes.
CREATE TABLE audit (
	seq INTEGER PRIMARY KEY CHECK (seq > 0),
	time INTEGER NOT NULL,
	who TEXT NOT NULL,
	action TEXT NOT NULL,
	object TEXT NOT NULL,
	etag_before TEXT NOT NULL,
	etag_after TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash TEXT NOT NULL
);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
	SELECT RAISE(ABORT, 'audit rows are append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
	SELECT RAISE(ABORT, 'audit rows are append-only');
END;
