package jwtcore

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// Sign produces a compact JWS over claims with key, for emulators and the
// DIY backend. header may add fields (kid, typ); its alg is set to alg. key
// is *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey or []byte.
func Sign(alg string, key any, header map[string]any, claims any) (string, error) {
	h := make(map[string]any, len(header)+1)
	for k, v := range header {
		h[k] = v
	}
	h["alg"] = alg
	hj, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	pj, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return SignRaw(alg, key, hj, pj)
}

// SignRaw signs exactly the given header and payload bytes (which may be
// malformed on purpose, for attack tests).
func SignRaw(alg string, key any, headerJSON, payloadJSON []byte) (string, error) {
	input := b64enc.EncodeToString(headerJSON) + "." + b64enc.EncodeToString(payloadJSON)
	sig, err := signInput(alg, key, input)
	if err != nil {
		return "", err
	}
	return input + "." + b64enc.EncodeToString(sig), nil
}

func signInput(alg string, key any, input string) ([]byte, error) {
	if len(alg) < 5 && alg != "none" {
		return nil, fmt.Errorf("jwtcore: cannot sign with %q", alg)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		h, _ := hashFor(alg)
		if h == 0 {
			return nil, fmt.Errorf("jwtcore: RSA key cannot sign %q", alg)
		}
		d := digest(h, input)
		if alg[0] == 'P' {
			return rsa.SignPSS(rand.Reader, k, h, d, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		return rsa.SignPKCS1v15(nil, k, h, d)
	case *ecdsa.PrivateKey:
		h, _ := hashFor(alg)
		if h == 0 {
			return nil, fmt.Errorf("jwtcore: EC key cannot sign %q", alg)
		}
		r, s, err := ecdsa.Sign(rand.Reader, k, digest(h, input))
		if err != nil {
			return nil, err
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out, nil
	case ed25519.PrivateKey:
		return ed25519.Sign(k, []byte(input)), nil
	case []byte:
		_, newHash := hashFor(alg)
		if newHash == nil || alg[:2] != "HS" {
			return nil, fmt.Errorf("jwtcore: secret cannot sign %q", alg)
		}
		m := hmac.New(newHash, k)
		m.Write([]byte(input))
		return m.Sum(nil), nil
	case nil:
		if alg == "none" {
			return nil, nil
		}
	}
	return nil, errors.New("jwtcore: unsupported signing key")
}

// Public returns the public half of a signing key ([]byte secrets are
// returned as they are).
func Public(key any) (any, error) {
	switch k := key.(type) {
	case crypto.Signer:
		return k.Public(), nil
	case []byte:
		return k, nil
	}
	return nil, errors.New("jwtcore: unsupported signing key")
}

var b64enc = base64.RawURLEncoding
