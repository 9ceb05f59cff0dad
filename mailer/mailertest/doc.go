// Package mailertest runs a real SMTP server (emersion/go-smtp) on
// loopback, in the test's process, keeping the messages it receives. It
// can be stopped and started again on the same address, to be an SMTP
// server that is down for a while.
package mailertest
