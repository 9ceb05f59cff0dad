// Package mailer delivers the outbox: the messages (activation links,
// import summaries) that reconcile writes in the transaction of the
// change that causes them.
//
// A [Worker] claims the pending messages that are due ([store.DB.ClaimMessages]:
// FOR UPDATE SKIP LOCKED on PostgreSQL, so that replicas share the work;
// SQLite has one writer), at most a second's worth of each tenant's per
// claim, sends each over SMTP (net/smtp) within its tenant's rate limit
// (golang.org/x/time/rate) and marks it sent. A failed send is due again
// after an exponential back-off, and after MaxAttempts it is failed, its
// last error kept.
//
// Delivery is at least once: a claim makes the message due again after a
// lease, so a worker that dies after the SMTP server took a message and
// before marking it sent sends it once more (its Message-ID header is the
// same, for receivers that deduplicate); no message is ever lost.
package mailer
