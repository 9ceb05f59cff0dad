package deploy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	yaml "go.yaml.in/yaml/v3"

	"github.com/scimd/scimd/reconcile/rules"
)

// helm finds the helm binary: SCIMD_HELM (.ci/run builds helm v4 from the
// module proxy and names it), else helm on PATH. Without one the chart
// tests skip, except under CI, where they fail.
func helm(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("SCIMD_HELM"); bin != "" {
		return bin
	}
	if bin, err := exec.LookPath("helm"); err == nil {
		return bin
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no helm: set SCIMD_HELM (.ci/run does: go install helm.sh/helm/v4/cmd/helm@v4.3.2)")
	}
	t.Skip("no helm: set SCIMD_HELM or put helm on PATH (go install helm.sh/helm/v4/cmd/helm@v4.3.2)")
	return ""
}

const chart = "helm/scimd"

// render is `helm template` of the chart with values set, each manifest
// decoded.
func render(t *testing.T, set ...string) []map[string]any {
	t.Helper()
	args := []string{"template", "rel", chart}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(helm(t), args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", set, err, stderr.String())
	}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	var docs []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("helm template %v: a manifest is not YAML: %v\n%s", set, err, out)
		}
		if doc == nil {
			continue
		}
		for _, key := range []string{"apiVersion", "kind"} {
			if s, _ := doc[key].(string); s == "" {
				t.Errorf("a manifest without %s: %v", key, doc)
			}
		}
		if get[string](doc, "metadata", "name") == "" {
			t.Errorf("a %v without metadata.name", doc["kind"])
		}
		docs = append(docs, doc)
	}
	return docs
}

// get walks a decoded document by map keys and list indexes; the zero T
// where the path or the type does not hold.
func get[T any](v any, path ...any) T {
	var zero T
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return zero
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return zero
			}
			v = l[k]
		}
	}
	t, _ := v.(T)
	return t
}

func byKind(t *testing.T, docs []map[string]any, kind string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, d := range docs {
		if d["kind"] == kind {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d manifests of kind %s, want 1", len(found), kind)
	}
	return found[0]
}

func strs(v []any) []string {
	var out []string
	for _, x := range v {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestHelmLint(t *testing.T) {
	out, err := exec.Command(helm(t), "lint", "--strict", chart, "--set", "database.url=postgres://scimd@db/scimd").CombinedOutput()
	if err != nil {
		t.Fatalf("helm lint: %v\n%s", err, out)
	}
}

// TestHelmChart renders the chart and checks what an operator relies on:
// probes on the ops port, the database URL from a Secret, the YAML from a
// ConfigMap as --config, the migration Job as a pre-upgrade hook with
// the same database, a PodDisruptionBudget over the server's pods only,
// non-root containers with resource requests.
func TestHelmChart(t *testing.T) {
	docs := render(t, "database.url=postgres://scimd@db/scimd")
	dep := byKind(t, docs, "Deployment")
	job := byKind(t, docs, "Job")
	secret := byKind(t, docs, "Secret")
	cm := byKind(t, docs, "ConfigMap")
	svc := byKind(t, docs, "Service")
	pdb := byKind(t, docs, "PodDisruptionBudget")

	if n := get[int](dep, "spec", "replicas"); n < 2 {
		t.Errorf("replicas %d, want several by default", n)
	}
	pod := get[map[string]any](dep, "spec", "template", "spec")
	c := get[map[string]any](pod, "containers", 0)
	args := strs(get[[]any](c, "args"))
	if !slices.Contains(args, "serve") || !slices.Contains(args, "--ops-addr=0.0.0.0:9090") || !slices.Contains(args, "--config=/etc/scimd/config.yaml") {
		t.Errorf("server args %q", args)
	}
	ports := map[string]int{}
	for _, p := range get[[]any](c, "ports") {
		ports[get[string](p, "name")] = get[int](p, "containerPort")
	}
	if ports["ops"] != 9090 || ports["http"] != 8080 {
		t.Errorf("container ports %v, want http 8080 and ops 9090", ports)
	}
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"} {
		if get[string](c, probe, "httpGet", "port") != "ops" || get[string](c, probe, "httpGet", "path") != path {
			t.Errorf("%s: %v, want GET %s on the ops port", probe, c[probe], path)
		}
	}
	checkNonRoot(t, "server", pod, c)
	for _, r := range []string{"cpu", "memory"} {
		if get[string](c, "resources", "requests", r) == "" {
			t.Errorf("server: no %s request", r)
		}
	}
	checkDatabaseEnv(t, "server", c, secret)

	// The ConfigMap's YAML is mounted where --config reads it, and loads.
	var mountPath string
	for _, m := range get[[]any](c, "volumeMounts") {
		if get[string](m, "name") == "config" {
			mountPath = get[string](m, "mountPath")
		}
	}
	var cmName string
	for _, v := range get[[]any](pod, "volumes") {
		if get[string](v, "name") == "config" {
			cmName = get[string](v, "configMap", "name")
		}
	}
	if mountPath != "/etc/scimd" || cmName != get[string](cm, "metadata", "name") {
		t.Errorf("config volume: ConfigMap %q at %q, want %q at /etc/scimd", cmName, mountPath, get[string](cm, "metadata", "name"))
	}
	config := get[string](cm, "data", "config.yaml")
	if _, err := rules.Load("config.yaml", []byte(config)); err != nil {
		t.Errorf("the ConfigMap's config.yaml does not load: %v\n%s", err, config)
	}
	if get[string](dep, "spec", "template", "metadata", "annotations", "checksum/config") == "" {
		t.Error("no checksum/config annotation: a config change would not roll the pods")
	}

	// The migration Job: a pre-upgrade hook, scimd migrate, same database.
	hooks := strings.Split(get[string](job, "metadata", "annotations", "helm.sh/hook"), ",")
	if !slices.Contains(hooks, "pre-upgrade") {
		t.Errorf("migration Job hooks %q, want pre-upgrade", hooks)
	}
	if get[string](job, "metadata", "annotations", "helm.sh/hook-delete-policy") == "" {
		t.Error("migration Job: no hook-delete-policy, the next upgrade's Job would clash with it")
	}
	jpod := get[map[string]any](job, "spec", "template", "spec")
	jc := get[map[string]any](jpod, "containers", 0)
	if a := strs(get[[]any](jc, "args")); !slices.Equal(a, []string{"migrate"}) {
		t.Errorf("migration Job args %q, want [migrate]", a)
	}
	if get[string](jpod, "restartPolicy") != "Never" {
		t.Errorf("migration Job restartPolicy %v", jpod["restartPolicy"])
	}
	if get[string](jc, "image") != get[string](c, "image") {
		t.Errorf("migration Job image %q, server image %q", get[string](jc, "image"), get[string](c, "image"))
	}
	checkNonRoot(t, "migration Job", jpod, jc)
	checkDatabaseEnv(t, "migration Job", jc, secret)

	// The Service and the PDB select the server's pods, not the Job's.
	sel := get[map[string]any](dep, "spec", "selector", "matchLabels")
	if !matches(sel, get[map[string]any](dep, "spec", "template", "metadata", "labels")) {
		t.Errorf("the Deployment's selector %v does not match its pods", sel)
	}
	if matches(sel, get[map[string]any](job, "spec", "template", "metadata", "labels")) {
		t.Errorf("the server selector %v matches the migration Job's pod: the PDB and Service would count it", sel)
	}
	if s := get[map[string]any](pdb, "spec", "selector", "matchLabels"); !equalMaps(s, sel) {
		t.Errorf("PDB selector %v, Deployment's %v", s, sel)
	}
	if get[int](pdb, "spec", "maxUnavailable") == 0 && get[int](pdb, "spec", "minAvailable") == 0 {
		t.Errorf("PDB allows nothing or everything: %v", pdb["spec"])
	}
	if s := get[map[string]any](svc, "spec", "selector"); !equalMaps(s, sel) {
		t.Errorf("Service selector %v, Deployment's %v", s, sel)
	}
	if get[string](svc, "spec", "ports", 0, "targetPort") != "http" {
		t.Errorf("Service ports %v", get[[]any](svc, "spec", "ports"))
	}
	for _, p := range get[[]any](svc, "spec", "ports") {
		if get[string](p, "targetPort") == "ops" {
			t.Error("the ops port is in the Service by default")
		}
	}
}

// TestHelmChartExistingSecret: with the URL in a Secret of the operator's,
// the chart makes none and the pods read that one, and its listener URL
// for a transaction-pooling PgBouncer.
func TestHelmChartExistingSecret(t *testing.T) {
	docs := render(t, "database.existingSecret=db-credentials")
	for _, d := range docs {
		if d["kind"] == "Secret" {
			t.Errorf("a Secret rendered beside existingSecret: %v", d["metadata"])
		}
	}
	c := get[map[string]any](byKind(t, docs, "Deployment"), "spec", "template", "spec", "containers", 0)
	env := map[string]string{}
	for _, e := range get[[]any](c, "env") {
		env[get[string](e, "name")] = get[string](e, "valueFrom", "secretKeyRef", "name")
	}
	if env["SCIMD_DATABASE_URL"] != "db-credentials" || env["SCIMD_LISTEN_DATABASE_URL"] != "db-credentials" {
		t.Errorf("env from secrets %v, want both URLs from db-credentials", env)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(helm(t), "template", "rel", chart)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), "set database.url") {
		t.Errorf("helm template without a database: %v %s, want it refused", err, stderr.String())
	}
}

func checkNonRoot(t *testing.T, what string, pod, c map[string]any) {
	t.Helper()
	if get[bool](pod, "securityContext", "runAsNonRoot") != true || get[int](pod, "securityContext", "runAsUser") == 0 {
		t.Errorf("%s: pod securityContext %v, want runAsNonRoot and a non-zero runAsUser", what, pod["securityContext"])
	}
	sc := get[map[string]any](c, "securityContext")
	if get[bool](sc, "allowPrivilegeEscalation") || !get[bool](sc, "readOnlyRootFilesystem") ||
		!slices.Contains(strs(get[[]any](sc, "capabilities", "drop")), "ALL") {
		t.Errorf("%s: container securityContext %v", what, sc)
	}
}

// checkDatabaseEnv: the container reads SCIMD_DATABASE_URL from a key the
// chart's Secret holds.
func checkDatabaseEnv(t *testing.T, what string, c, secret map[string]any) {
	t.Helper()
	for _, e := range get[[]any](c, "env") {
		if get[string](e, "name") != "SCIMD_DATABASE_URL" {
			continue
		}
		ref := get[map[string]any](e, "valueFrom", "secretKeyRef")
		if get[string](ref, "name") != get[string](secret, "metadata", "name") ||
			get[string](secret, "stringData", get[string](ref, "key")) == "" {
			t.Errorf("%s: SCIMD_DATABASE_URL from %v, which the Secret %v does not hold", what, ref, secret["metadata"])
		}
		return
	}
	t.Errorf("%s: no SCIMD_DATABASE_URL", what)
}

func matches(selector, labels map[string]any) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return len(selector) > 0
}

func equalMaps(a, b map[string]any) bool { return matches(a, b) && matches(b, a) }

// TestCompose loads the compose file as docker compose does (compose-go,
// with the Compose Specification's schema): migrations run as a one-shot
// service after PostgreSQL is healthy, and scimd starts only once they
// succeeded, from the image the migrate service builds.
func TestCompose(t *testing.T) {
	opts, err := cli.NewProjectOptions([]string{"compose.yaml"}, cli.WithWorkingDirectory("."), cli.WithEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	pg, migrate, scimd := project.Services["postgres"], project.Services["migrate"], project.Services["scimd"]
	if pg.HealthCheck == nil || len(pg.HealthCheck.Test) == 0 {
		t.Error("postgres has no healthcheck for migrate to wait on")
	}
	if !slices.Equal(migrate.Command, []string{"migrate"}) || migrate.Restart != "no" {
		t.Errorf("migrate: command %q restart %q, want a one-shot scimd migrate", migrate.Command, migrate.Restart)
	}
	if migrate.DependsOn["postgres"].Condition != "service_healthy" {
		t.Errorf("migrate depends on postgres %+v", migrate.DependsOn)
	}
	if scimd.DependsOn["migrate"].Condition != "service_completed_successfully" {
		t.Errorf("scimd depends on migrate %+v, want service_completed_successfully", scimd.DependsOn)
	}
	if scimd.Image != migrate.Image || scimd.Image == "" {
		t.Errorf("images: migrate %q, scimd %q, want the one migrate builds", migrate.Image, scimd.Image)
	}
	url := func(s types.ServiceConfig) string {
		if v := s.Environment["SCIMD_DATABASE_URL"]; v != nil {
			return *v
		}
		return ""
	}
	if url(scimd) != url(migrate) || !strings.Contains(url(scimd), "@postgres:5432/") {
		t.Errorf("database URLs: migrate %q, scimd %q", url(migrate), url(scimd))
	}
	if !slices.Contains(scimd.Command, "serve") || !slices.Contains(scimd.Command, "0.0.0.0:8080") {
		t.Errorf("scimd command %q", scimd.Command)
	}
	if migrate.Build == nil {
		t.Fatal("migrate builds no image")
	}
	if _, err := os.Stat(filepath.Join(migrate.Build.Context, migrate.Build.Dockerfile)); err != nil {
		t.Errorf("migrate builds from %s/%s: %v", migrate.Build.Context, migrate.Build.Dockerfile, err)
	}
}

// TestDockerfile reads the Dockerfile (no Docker engine runs here to build
// it): the builder is go.mod's Go, the binary static, the image distroless
// and non-root.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	var froms, users, exposes []string
	var run string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		instr, rest, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		switch instr {
		case "FROM":
			froms = append(froms, rest)
		case "USER":
			users = append(users, rest)
		case "EXPOSE":
			exposes = append(exposes, strings.Fields(rest)...)
		case "RUN":
			run += rest + "\n"
		}
	}
	if len(froms) != 2 || goLine == nil || !strings.HasPrefix(froms[0], "golang:"+string(goLine[1])+" ") {
		t.Errorf("stages %q: want a golang:%s builder and one runtime stage", froms, goLine[1])
	}
	if len(froms) == 2 && !strings.HasPrefix(froms[1], "gcr.io/distroless/static") || !strings.Contains(froms[len(froms)-1], ":nonroot") {
		t.Errorf("runtime stage %q, want distroless/static:nonroot", froms[len(froms)-1])
	}
	if len(users) != 1 || !strings.HasPrefix(users[0], "nonroot") {
		t.Errorf("USER %q, want nonroot", users)
	}
	if !slices.Equal(exposes, []string{"8080", "9090"}) {
		t.Errorf("EXPOSE %q", exposes)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags="-s -w"`, "./cmd/scimd"} {
		if !strings.Contains(run, want) {
			t.Errorf("the build does not say %s:\n%s", want, run)
		}
	}
}

// TestSystemdUnit: systemd-analyze verifies the unit (with ExecStart on an
// executable that exists here) and rates its exposure at most 2.0 of 10;
// without systemd-analyze the unit's hardening keys are checked as text.
func TestSystemdUnit(t *testing.T) {
	data, err := os.ReadFile("systemd/scimd.service")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			keys[k] = v
		}
	}
	for k, want := range map[string]string{"DynamicUser": "yes", "ProtectSystem": "strict", "NoNewPrivileges": "yes",
		"ProtectHome": "yes", "PrivateTmp": "yes", "CapabilityBoundingSet": "", "StateDirectory": "scimd", "WorkingDirectory": "/var/lib/scimd"} {
		if v, ok := keys[k]; !ok || v != want {
			t.Errorf("%s=%q, want %q", k, v, want)
		}
	}
	if !strings.HasPrefix(keys["ExecStart"], "/usr/local/bin/scimd serve ") {
		t.Errorf("ExecStart=%s", keys["ExecStart"])
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("no systemd-analyze: the unit is checked as text only")
		return
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "scimd.service")
	os.WriteFile(unit, bytes.ReplaceAll(data, []byte("/usr/local/bin/scimd"), []byte(self)), 0o644)
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=yes", "--threshold=20", unit).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security: exposure above 2.0 (%v)\n%s", err, out)
	}
}
