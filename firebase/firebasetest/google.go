package firebasetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// GoogleHosts are the hosts the Firebase Admin SDK and the adapter reach in
// production; GoogleTransport sends their port 443 to an Emulator.
var GoogleHosts = []string{"www.googleapis.com", "identitytoolkit.googleapis.com", "securetoken.googleapis.com"}

func isGoogle(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port != "443" {
		return false
	}
	for _, h := range GoogleHosts {
		if host == h {
			return true
		}
	}
	return false
}

// googleCert is the one TLS certificate every Emulator's Google front
// serves in this process: self-signed, valid for GoogleHosts and loopback,
// and trusted only by the transports this package builds.
var googleCert = sync.OnceValues(func() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "firebasetest Google front", Organization: []string{"authport tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              append(append([]string(nil), GoogleHosts...), "localhost"),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
})

// rootCAs is the system pool plus googleCert.
var rootCAs = sync.OnceValue(func() *x509.CertPool {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if c, err := googleCert(); err == nil {
		pool.AddCert(c.Leaf)
	}
	return pool
})

// baseTransport is http.DefaultTransport as it was before
// InterceptDefaultTransport replaced it.
var baseTransport = sync.OnceValue(func() *http.Transport {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		return t.Clone()
	}
	return &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true, IdleConnTimeout: 90 * time.Second}
})

// newGoogleTransport returns a transport that dials GoogleHosts:443 at the
// address target returns (Google itself when it returns ""), trusts
// googleCert besides the system roots, bypasses proxies for redirected
// hosts and handles every other host as http.DefaultTransport does.
func newGoogleTransport(target func() string) *http.Transport {
	t := baseTransport().Clone()
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if isGoogle(addr) {
			if to := target(); to != "" {
				addr = to
			}
		}
		return d.DialContext(ctx, network, addr)
	}
	proxy := t.Proxy
	t.Proxy = func(r *http.Request) (*url.URL, error) {
		if (isGoogle(hostPort(r)) && target() != "") || proxy == nil {
			return nil, nil
		}
		return proxy(r)
	}
	t.TLSClientConfig = &tls.Config{RootCAs: rootCAs(), MinVersion: tls.VersionTLS12}
	return t
}

func hostPort(r *http.Request) string {
	h := r.URL.Host
	if _, _, err := net.SplitHostPort(h); err != nil {
		port := "80"
		if r.URL.Scheme == "https" {
			port = "443"
		}
		h = net.JoinHostPort(h, port)
	}
	return h
}

// intercepted is the Google front of the Emulator InterceptDefaultTransport
// currently routes to.
var intercepted atomic.Pointer[string]

var interceptOnce sync.Once

// InterceptDefaultTransport replaces http.DefaultTransport, for the rest of
// the process, with a transport that sends connections for GoogleHosts to
// the most recently started Emulator that is still open (to Google itself
// when none is), and handles every other host as before. The Admin SDK
// fetches its signing certificates from a hard-coded Google URL through a
// clone of http.DefaultTransport taken when its client is made, so this is
// the only way to make the SDK's own VerifyIDToken and the
// ...AndCheckRevoked calls behind the adapter's VerifyStrict check tokens
// signed by an Emulator. New calls it; call it yourself from TestMain when
// an Admin SDK client is built before the first New. It is idempotent.
// Never use it outside a test binary.
func InterceptDefaultTransport() {
	interceptOnce.Do(func() {
		_ = baseTransport()
		http.DefaultTransport = newGoogleTransport(func() string {
			if p := intercepted.Load(); p != nil {
				return *p
			}
			return ""
		})
	})
}
