-- What a deleted user leaves behind so that a sign-in does not create
-- them anew: the keys a sign-in matches by (the folded userName, each
-- email, each connector's external ID), as SHA-256 only, never the
-- values. A SCIM DELETE is the identity provider saying the person no
-- longer has access; a login of theirs must not undo it. A person
-- provisioned again (SCIM, admin) is a live user again, whom sign-ins
-- match before any tombstone is read.
CREATE TABLE user_tombstones (
    tenant_id  bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key_hash   bytea NOT NULL,
    user_id    text NOT NULL,
    deleted_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, key_hash)
);
