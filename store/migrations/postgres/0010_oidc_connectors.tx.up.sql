-- A connector may be an OIDC provider that people sign in with (kind
-- oidc): its users are created or updated at login (JIT), and its tokens
-- open the ID-token hook (/jit/{tenant}/{connector}), not SCIM.
ALTER TABLE connectors DROP CONSTRAINT connectors_kind_check;
ALTER TABLE connectors ADD CONSTRAINT connectors_kind_check CHECK (kind IN ('scim', 'oidc', 'admin'));
