package authport

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"time"
)

// Known-device cookies (OWASP "device cookies"). Each successful password
// sign-in gives the browser a sealed cookie naming the account (a hash of
// its email address) and a fresh random device id. When the browser signs
// in to that account again, the device counts only against its own budget
// (Limits.SignInDevice), so strangers guessing the password from anywhere
// cannot lock its owner out. The cookie holds the last few accounts signed
// in from the browser, so shared computers keep working.
const (
	// KnownDeviceLifetime is how long a known-device cookie lasts after the
	// last sign-in that renewed it.
	KnownDeviceLifetime = 180 * 24 * time.Hour
	// maxKnownAccounts is how many accounts one device cookie remembers.
	maxKnownAccounts      = 4
	purposeDevice    byte = 'd'
)

type knownAccount struct {
	account  string // hash of the account's email address (16 bytes)
	device   string // random device id, base64url
	issuedAt int64  // Unix seconds
}

func (w *Web) deviceCookieName() string { return w.cfg.CookieName + "-device" }

func accountHash(acct string) string {
	h := sha256.Sum256([]byte("authport-device\x00" + acct))
	return string(h[:16])
}

// knownAccounts opens r's known-device cookie; a missing, foreign, expired
// or tampered cookie yields nothing.
func (w *Web) knownAccounts(r *http.Request) []knownAccount {
	v, ok := cookieValue(r, w.deviceCookieName())
	if !ok || w.sealer == nil {
		return nil
	}
	p, _, err := w.sealer.openFor(purposeDevice, v, KnownDeviceLifetime)
	if err != nil {
		return nil
	}
	now := w.now().Unix()
	var out []knownAccount
	d := decoder{b: p}
	for len(d.b) > 0 && !d.bad && len(out) < maxKnownAccounts {
		k := knownAccount{account: d.string(), device: d.string(), issuedAt: d.varint()}
		if d.bad || len(k.account) != 16 || k.device == "" {
			return nil
		}
		if age := now - k.issuedAt; age >= 0 && age <= int64(KnownDeviceLifetime/time.Second) {
			out = append(out, k)
		}
	}
	if !d.done() {
		return nil
	}
	return out
}

// knownDevice returns the device id r's cookie holds for acct (a
// normalised email address), or "" when r is not a known device for it.
func (w *Web) knownDevice(r *http.Request, acct string) string {
	h := accountHash(acct)
	for _, k := range w.knownAccounts(r) {
		if k.account == h {
			return k.device
		}
	}
	return ""
}

// rememberDevice renews r's known-device cookie after a successful sign-in
// to acct: a fresh device id for acct first, then the other accounts the
// cookie held. A failure to seal only costs the exemption.
func (w *Web) rememberDevice(rw http.ResponseWriter, r *http.Request, acct string) {
	if w.sealer == nil {
		return
	}
	h := accountHash(acct)
	var id [16]byte
	rand.Read(id[:])
	list := []knownAccount{{account: h, device: base64.RawURLEncoding.EncodeToString(id[:]), issuedAt: w.now().Unix()}}
	for _, k := range w.knownAccounts(r) {
		if k.account != h && len(list) < maxKnownAccounts {
			list = append(list, k)
		}
	}
	var p []byte
	for _, k := range list {
		p = appendString(p, k.account)
		p = appendString(p, k.device)
		p = binary.AppendVarint(p, k.issuedAt)
	}
	v, err := w.sealer.seal(purposeDevice, w.now(), p)
	if err != nil {
		return
	}
	_ = w.setCookie(rw, w.deviceCookieName(), v, KnownDeviceLifetime)
}
