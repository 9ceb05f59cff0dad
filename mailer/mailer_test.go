package mailer_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/scimd/scimd/mailer"
	"github.com/scimd/scimd/mailer/mailertest"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// queue writes n messages for tenant, as reconcile does, and returns the
// tenant's id.
func queue(t *testing.T, db *store.DB, tenant string, n int) int64 {
	t.Helper()
	var id int64
	err := db.RunInTx(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		te, _, err := tx.EnsureConnector(ctx, tenant, "csv")
		if err != nil {
			return err
		}
		id = te.ID
		msgs := make([]store.Message, n)
		for i := range msgs {
			msgs[i] = store.Message{TenantID: te.ID, Kind: store.MessageActivation, Recipient: fmt.Sprintf("u%d@%s.example", i, tenant),
				Subject: "Activate your account", Body: "Hello,\n.\nhttp://x.example/activate/abc\n"}
		}
		return tx.Enqueue(ctx, nil, msgs)
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func messages(t *testing.T, db *store.DB, tenant int64) []store.Message {
	t.Helper()
	ms, err := db.Messages(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestDeliversOnceAfterTheServerComesBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		smtp := mailertest.Start(t)
		tenant := queue(t, db, "acme", 1)
		w := mailer.New(mailer.Config{Addr: smtp.Addr, From: "scimd@acme.example", Backoff: 200 * time.Millisecond, Poll: 10 * time.Millisecond}, db)

		smtp.Stop()
		if n, err := w.RunOnce(ctx); n != 1 || err != nil {
			t.Fatalf("RunOnce with the server down: %d claimed, %v", n, err)
		}
		m := messages(t, db, tenant)[0]
		if m.State != store.MessagePending || m.Attempts != 1 || m.LastError == "" {
			t.Fatalf("after a failed send: %+v", m)
		}
		if !m.NextAttemptAt.After(time.Now().Add(100 * time.Millisecond)) {
			t.Errorf("due again at %v: no back-off", m.NextAttemptAt)
		}
		if n, _ := w.RunOnce(ctx); n != 0 {
			t.Fatalf("claimed %d during the back-off", n)
		}
		smtp.Stop()
		time.Sleep(250 * time.Millisecond)
		if n, _ := w.RunOnce(ctx); n != 1 {
			t.Fatalf("claimed %d after the back-off", n)
		}
		if m := messages(t, db, tenant)[0]; m.Attempts != 2 || time.Until(m.NextAttemptAt) < 300*time.Millisecond {
			t.Fatalf("second failure: attempts %d, due in %v; want 2 and a doubled back-off", m.Attempts, time.Until(m.NextAttemptAt))
		}

		smtp.Restart()
		run, stop := context.WithCancel(ctx)
		done := make(chan error)
		go func() { done <- w.Run(run) }()
		select {
		case <-smtp.Received():
		case <-time.After(10 * time.Second):
			t.Fatal("not delivered after the server came back")
		}
		time.Sleep(100 * time.Millisecond) // a duplicate would arrive now
		stop()
		<-done
		if got := smtp.Messages(); len(got) != 1 || got[0].To[0] != "u0@acme.example" || got[0].Header.Get("Subject") != "Activate your account" ||
			got[0].Body != "Hello,\n.\nhttp://x.example/activate/abc\n" {
			t.Fatalf("received %+v", got)
		}
		m = messages(t, db, tenant)[0]
		if m.State != store.MessageSent || m.SentAt == nil || m.Body != "" || m.LastError != "" {
			t.Fatalf("after delivery: %+v", m)
		}
	})
}

func TestFailsAfterMaxAttempts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		smtp := mailertest.Start(t)
		smtp.Stop()
		tenant := queue(t, db, "acme", 1)
		w := mailer.New(mailer.Config{Addr: smtp.Addr, MaxAttempts: 2, Backoff: time.Millisecond}, db)
		for range 3 {
			w.RunOnce(context.Background())
			time.Sleep(5 * time.Millisecond)
		}
		if m := messages(t, db, tenant)[0]; m.State != store.MessageFailed || m.Attempts != 2 || m.LastError == "" {
			t.Fatalf("after 3 runs of 2 attempts: %+v", m)
		}
	})
}

func TestRateLimitPerTenant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		smtp := mailertest.Start(t)
		big := queue(t, db, "big", 200)
		small := queue(t, db, "small", 1)
		w := mailer.New(mailer.Config{Addr: smtp.Addr, Rate: 50, Poll: 10 * time.Millisecond}, db)
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan error)
		start := time.Now()
		go func() { done <- w.Run(ctx) }()
		var smallAt time.Duration
		for deadline := time.Now().Add(30 * time.Second); len(smtp.Messages()) < 201; {
			if time.Now().After(deadline) {
				t.Fatalf("%d of 201 delivered in 30 s", len(smtp.Messages()))
			}
			if smallAt == 0 && messages(t, db, small)[0].State == store.MessageSent {
				smallAt = time.Since(start)
			}
			time.Sleep(20 * time.Millisecond)
		}
		took := time.Since(start)
		stop()
		<-done
		// 50 at once (the burst), then 150 at 50 a second.
		if took < 2900*time.Millisecond {
			t.Errorf("200 messages at 50/s took %v, want ≥ 3 s", took)
		}
		if smallAt == 0 || smallAt > time.Second {
			t.Errorf("the other tenant's message went after %v: one tenant's import held it up", smallAt)
		}
		for _, m := range messages(t, db, big) {
			if m.State != store.MessageSent || m.Attempts != 1 {
				t.Fatalf("message %d: %s after %d attempts", m.ID, m.State, m.Attempts)
			}
		}
		t.Logf("200 messages at 50/s: %v; the other tenant's after %v", took, smallAt)
	})
}

func TestNoServerKeepsMessagesQueued(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		tenant := queue(t, db, "acme", 2)
		ctx, stop := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer stop()
		if err := mailer.New(mailer.Config{Poll: time.Millisecond}, db).Run(ctx); err != nil {
			t.Fatal(err)
		}
		for _, m := range messages(t, db, tenant) {
			if m.State != store.MessagePending || m.Attempts != 0 {
				t.Fatalf("without a server: %+v", m)
			}
		}
	})
}
