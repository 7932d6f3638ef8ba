// Package smtptest runs a small SMTP server on the loopback interface for
// tests: EHLO, STARTTLS with a certificate of its own, AUTH PLAIN, and one
// message per transaction, each recorded as it arrived.
package smtptest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync"
	"time"
)

// Message is one accepted message.
type Message struct {
	From string
	To   []string
	Data string
	// TLS and User say how the message came: encrypted, and logged in as whom.
	TLS  bool
	User string
}

// Options shape the server's behaviour.
type Options struct {
	// Username and Password, when set, are required before MAIL.
	Username, Password string
	// NoStartTLS hides STARTTLS from EHLO.
	NoStartTLS bool
	// Reject answers RCPT for these addresses with 550.
	Reject map[string]bool
}

// Server is a running test SMTP server.
type Server struct {
	Addr string
	// ClientTLS trusts the server's certificate; give it to the sender.
	ClientTLS *tls.Config

	opts      Options
	busy      bool // answer every transaction with 451
	ln        net.Listener
	serverTLS *tls.Config
	mu        sync.Mutex
	messages  []Message
	wg        sync.WaitGroup
}

// Start listens on 127.0.0.1 and serves until Close.
func Start(opts Options) (*Server, error) {
	cert, pool, err := SelfSigned()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: ln.Addr().String(), ln: ln, opts: opts,
		serverTLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ClientTLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Messages returns what was accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Close stops the server and waits for its connections to end.
func (s *Server) Close() {
	_ = s.ln.Close()
	s.wg.Wait()
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.session(c)
		}()
	}
}

// SetBusy makes the server answer 451 (try later) until it is cleared.
func (s *Server) SetBusy(busy bool) {
	s.mu.Lock()
	s.busy = busy
	s.mu.Unlock()
}

func (s *Server) isBusy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.busy
}

func (s *Server) session(conn net.Conn) {
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	r, w := bufio.NewReader(conn), bufio.NewWriter(conn)
	reply := func(format string, args ...any) {
		fmt.Fprintf(w, format+"\r\n", args...)
		_ = w.Flush()
	}
	user, pass, noTLS, reject := s.opts.Username, s.opts.Password, s.opts.NoStartTLS, s.opts.Reject
	var msg Message
	var authed string
	encrypted := false
	reply("220 smtptest ready")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			exts := []string{"250-smtptest", "250-8BITMIME"}
			if !noTLS && !encrypted {
				exts = append(exts, "250-STARTTLS")
			}
			exts = append(exts, "250 AUTH PLAIN")
			reply("%s", strings.Join(exts, "\r\n"))
		case "STARTTLS":
			if noTLS || encrypted {
				reply("502 not now")
				continue
			}
			reply("220 go ahead")
			tc := tls.Server(conn, s.serverTLS)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, encrypted = tc, true
			r, w = bufio.NewReader(conn), bufio.NewWriter(conn)
		case "AUTH":
			mech, initial, _ := strings.Cut(arg, " ")
			if strings.ToUpper(mech) != "PLAIN" {
				reply("504 only PLAIN")
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(initial)
			parts := strings.Split(string(raw), "\x00")
			if err != nil || len(parts) != 3 || parts[1] != user || parts[2] != pass {
				reply("535 5.7.8 authentication failed")
				continue
			}
			authed = parts[1]
			reply("235 2.7.0 accepted")
		case "MAIL":
			if s.isBusy() {
				reply("451 4.3.0 try again later")
				continue
			}
			if user != "" && authed == "" {
				reply("530 5.7.0 authentication required")
				continue
			}
			msg = Message{From: addr(arg), TLS: encrypted, User: authed}
			reply("250 ok")
		case "RCPT":
			to := addr(arg)
			if reject[to] {
				reply("550 5.1.1 no such user %s", to)
				continue
			}
			msg.To = append(msg.To, to)
			reply("250 ok")
		case "DATA":
			reply("354 end with .")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, ".")) // dot-unstuffing
			}
			msg.Data = b.String()
			s.mu.Lock()
			s.messages = append(s.messages, msg)
			s.mu.Unlock()
			reply("250 queued")
		case "RSET":
			msg = Message{}
			reply("250 ok")
		case "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("500 unknown command")
		}
	}
}

// addr takes the address out of "FROM:<a@b>" or "TO:<a@b>".
func addr(arg string) string {
	_, v, _ := strings.Cut(arg, ":")
	v = strings.TrimSpace(v)
	if i := strings.Index(v, ">"); i >= 0 {
		v = v[:i]
	}
	return strings.TrimPrefix(v, "<")
}

// SelfSigned makes a certificate for 127.0.0.1, valid for a day, and a pool
// that trusts it: for this server, and for the real ones tests start (Mailpit).
func SelfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtptest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool, nil
}
