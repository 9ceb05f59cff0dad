package mailertest

import (
	"bytes"
	"io"
	"net"
	"net/mail"
	"regexp"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// Message is a message the server received.
type Message struct {
	From string
	To   []string
	// Header and Body are the message parsed (net/mail).
	Header mail.Header
	Body   string
}

// Server is an SMTP server for one test.
type Server struct {
	// Addr is host:port, the same across Stop and Start.
	Addr string

	t    testing.TB
	mu   sync.Mutex
	got  []Message
	srv  *smtp.Server
	ln   net.Listener
	wait chan struct{} // closed at each message
}

// Start starts a server; the test's end stops it.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, wait: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) serve(ln net.Listener) {
	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	go srv.Serve(ln)
}

// Stop stops the server: connections to Addr are refused.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		// The listener too: Close misses one Serve has not taken yet.
		ln.Close()
		srv.Close()
	}
}

// Restart serves on Addr again.
func (s *Server) Restart() {
	s.t.Helper()
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.serve(ln)
}

// Messages returns the messages received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.got...)
}

// Received returns a channel closed when the next message arrives.
func (s *Server) Received() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wait
}

var linkPattern = regexp.MustCompile(`https?://\S+`)

// Link is the first URL in m's body.
func (m Message) Link() string { return linkPattern.FindString(m.Body) }

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *Server
	from string
	to   []string
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }
func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	body, err := io.ReadAll(m.Body)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	x.s.got = append(x.s.got, Message{From: x.from, To: x.to, Header: m.Header, Body: string(bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n")))})
	close(x.s.wait)
	x.s.wait = make(chan struct{})
	return nil
}
