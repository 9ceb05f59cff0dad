// Package deploy holds what runs scimd elsewhere than a developer's
// machine, and the tests that check it: the container image (Dockerfile),
// a compose file (scimd, PostgreSQL, migrations as a one-shot service), a
// Helm chart (helm/scimd) and a systemd unit (systemd/scimd.service). It
// has no Go code of its own; its tests render the chart with helm (the
// binary SCIMD_HELM names, or helm on PATH) and parse every manifest, the
// compose file, the Dockerfile and the unit.
package deploy
