package reconcile_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

func outbox(t *testing.T, db *store.DB, tenantID int64) []store.Message {
	t.Helper()
	ms, err := db.Messages(context.Background(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// token is the token of the activation link in m.
func token(t *testing.T, m store.Message) string {
	t.Helper()
	_, after, ok := strings.Cut(m.Body, "https://id.example"+reconcile.ActivationPath)
	if !ok {
		t.Fatalf("no activation link in %q", m.Body)
	}
	return strings.Fields(after)[0]
}

func scimCreate(by store.Principal, userName string, kv ...any) reconcile.Input {
	return reconcile.Input{Source: reconcile.SourceSCIM, Principal: by, Kind: reconcile.KindUser, Op: reconcile.Create, Notify: true,
		Attrs: user(userName, append([]any{"emails", email(userName + "@example.com")}, kv...)...)}
}

func TestActivation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e, by := loadWorld(t, db)
		e.SetMail(reconcile.MailConfig{PublicURL: "https://id.example/"})

		p, err := e.Apply(ctx, scimCreate(by, "ann"))
		if err != nil {
			t.Fatal(err)
		}
		if p.User.Status != store.StatusPending {
			t.Fatalf("a notified create without active: status %s, want pending", p.User.Status)
		}
		ms := outbox(t, db, by.TenantID)
		if len(ms) != 1 || ms[0].Recipient != "ann@example.com" || ms[0].Kind != store.MessageActivation || ms[0].State != store.MessagePending {
			t.Fatalf("outbox after one create: %+v", ms)
		}
		tok := token(t, ms[0])
		if u, err := e.CheckActivation(ctx, tok); err != nil || u.ID != p.User.ID {
			t.Fatalf("CheckActivation: %v %v", u.ID, err)
		}
		if u, _ := db.User(ctx, by.TenantID, 0, p.User.ID); u.Status != store.StatusPending {
			t.Fatalf("CheckActivation wrote: status %s", u.Status)
		}
		var ae *reconcile.ActivationError
		if _, err := e.Activate(ctx, tok[:len(tok)-1]+"x"); !errors.As(err, &ae) || ae.Reason != "unknown" {
			t.Fatalf("a wrong token: %v", err)
		}
		u, err := e.Activate(ctx, tok)
		if err != nil || u.Status != store.StatusActive {
			t.Fatalf("Activate: %s %v", u.Status, err)
		}
		if u, _ := db.User(ctx, by.TenantID, 0, p.User.ID); u.Status != store.StatusActive || !u.ActiveAt(time.Now()) {
			t.Fatalf("after Activate: status %s", u.Status)
		}
		if _, err := e.Activate(ctx, tok); !errors.As(err, &ae) || ae.Reason != "used" {
			t.Fatalf("a second use: %v", err)
		}
		events, err := db.AuditEvents(ctx, by.TenantID, p.User.ID)
		if err != nil || events[len(events)-1].Action != "activate" || events[len(events)-1].Source != string(reconcile.SourceActivation) {
			t.Fatalf("audit: %+v %v", events, err)
		}
		if _, err := e.ResendActivation(ctx, by, p.User.ID); !isState(err) {
			t.Fatalf("resend to an active user: %v", err)
		}

		// An IdP that states active, or a source that asks for no message,
		// sends none; the user is as the source says.
		for _, in := range []reconcile.Input{scimCreate(by, "bob", "active", true), func() reconcile.Input {
			in := scimCreate(by, "cid")
			in.Notify = false
			return in
		}()} {
			p, err := e.Apply(ctx, in)
			if err != nil || p.User.Status != store.StatusActive {
				t.Fatalf("%s: %v %v", p.User.UserName, p.User.Status, err)
			}
		}
		if n := len(outbox(t, db, by.TenantID)); n != 1 {
			t.Fatalf("%d messages, want the first one only", n)
		}
	})
}

func isState(err error) bool {
	var se *reconcile.StateError
	return errors.As(err, &se)
}

func TestResendActivation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e, by := loadWorld(t, db)
		e.SetMail(reconcile.MailConfig{PublicURL: "https://id.example"})
		p, err := e.Apply(ctx, scimCreate(by, "ann"))
		if err != nil {
			t.Fatal(err)
		}
		first := token(t, outbox(t, db, by.TenantID)[0])
		if _, err := e.ResendActivation(ctx, by, p.User.ID); err != nil {
			t.Fatal(err)
		}
		ms := outbox(t, db, by.TenantID)
		if len(ms) != 2 {
			t.Fatalf("%d messages after a resend", len(ms))
		}
		second := token(t, ms[1])
		var ae *reconcile.ActivationError
		if _, err := e.Activate(ctx, first); !errors.As(err, &ae) || ae.Reason != "used" {
			t.Fatalf("the first link after a resend: %v", err)
		}
		if u, err := e.Activate(ctx, second); err != nil || u.Status != store.StatusActive {
			t.Fatalf("the resent link: %v", err)
		}
		// Erased, the person leaves no message naming them.
		if err := e.EraseUser(ctx, store.Principal{TenantID: by.TenantID, TenantName: by.TenantName}, p.User.ID); err != nil {
			t.Fatal(err)
		}
		if ms := outbox(t, db, by.TenantID); len(ms) != 0 {
			t.Fatalf("%d messages after the erasure", len(ms))
		}
	})
}

func TestActivationExpires(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e, by := loadWorld(t, db)
		e.SetMail(reconcile.MailConfig{PublicURL: "https://id.example", ActivationTTL: time.Millisecond})
		if _, err := e.Apply(ctx, scimCreate(by, "ann")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		var ae *reconcile.ActivationError
		if _, err := e.Activate(ctx, token(t, outbox(t, db, by.TenantID)[0])); !errors.As(err, &ae) || ae.Reason != "expired" {
			t.Fatalf("an expired link: %v", err)
		}
	})
}

func TestLoadNotifies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e, by := loadWorld(t, db)
		e.SetMail(reconcile.MailConfig{PublicURL: "https://id.example"})
		notified := func(line int, userName string, notify bool) reconcile.LoadRow {
			r := csvRow(line, userName)
			r.In.Notify = notify
			return r
		}
		// A load that fails (a bad row) rolls back its messages with it.
		bad := notified(3, "bob", true)
		bad.Err = errors.New("bad cell")
		res, err := e.Load(ctx, by, seq(notified(2, "ann", true), bad), reconcile.LoadOptions{SummaryTo: "admin@example.com"})
		if err != nil || res.Committed {
			t.Fatalf("bad load: %+v %v", res, err)
		}
		if ms := outbox(t, db, by.TenantID); len(ms) != 0 {
			t.Fatalf("a rolled-back load left %d messages", len(ms))
		}

		var rows []reconcile.LoadRow
		for i, name := range []string{"ann", "bob", "cid"} {
			rows = append(rows, notified(i+2, name, name != "bob"))
		}
		res, err = e.Load(ctx, by, seq(rows...), reconcile.LoadOptions{SummaryTo: "admin@example.com"})
		if err != nil || !res.Committed || res.Added != 3 {
			t.Fatalf("load: %+v %v", res, err)
		}
		ms := outbox(t, db, by.TenantID)
		var to []string
		for _, m := range ms {
			to = append(to, m.Kind+":"+m.Recipient)
		}
		want := "activation:ann@example.com activation:cid@example.com import_summary:admin@example.com"
		if strings.Join(to, " ") != want {
			t.Fatalf("outbox: %v, want %s", to, want)
		}
		if s := ms[2].Body; !strings.Contains(s, "3 users added") || !strings.Contains(s, "bob\tbob@example.com") {
			t.Fatalf("summary: %q", s)
		}
		for _, c := range res.Created {
			u, _ := db.User(ctx, by.TenantID, 0, c.ID)
			if want := map[bool]string{true: store.StatusPending, false: store.StatusActive}[c.UserName != "bob"]; u.Status != want {
				t.Errorf("%s: status %s, want %s", c.UserName, u.Status, want)
			}
		}
		if _, err := e.Activate(ctx, token(t, ms[0])); err != nil {
			t.Fatal(err)
		}
		// Loaded again, nobody is created: no message.
		if res, err := e.Load(ctx, by, seq(rows...), reconcile.LoadOptions{}); err != nil || res.Added != 0 {
			t.Fatalf("second load: %+v %v", res, err)
		}
		if n := len(outbox(t, db, by.TenantID)); n != 3 {
			t.Fatalf("%d messages after a load that created nobody", n)
		}
	})
}
