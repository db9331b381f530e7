package emulator

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
)

// The emulator signs tokens with its own few lines of crypto rather than
// with internal/jwtcore, so that it is an independent oracle for the
// verification core and not a mirror of it: a bug in how jwtcore encodes
// would otherwise cancel out in every test.

// SignCompact signs headerJSON and payloadJSON exactly as given and returns
// the compact serialization b64(header).b64(payload).b64(signature). The
// header is not inspected, so it may claim any alg or kid: that is how the
// attack catalogue's forged tokens are built.
//
// alg selects the algorithm and key's type: "none" (key ignored, empty
// signature), HS256/384/512 ([]byte), RS256/384/512 and PS256/384/512
// (*rsa.PrivateKey), ES256/384/512 (*ecdsa.PrivateKey, fixed-width R‖S) and
// EdDSA (ed25519.PrivateKey).
func SignCompact(alg string, key any, headerJSON, payloadJSON []byte) (string, error) {
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(headerJSON) + "." + enc.EncodeToString(payloadJSON)
	sig, err := signInput(alg, key, []byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + enc.EncodeToString(sig), nil
}

// SignJWT marshals header and claims and signs them with SignCompact. The
// header's "alg" is set to alg; every other header field is kept as given.
func SignJWT(alg string, key any, header map[string]any, claims any) (string, error) {
	h := make(map[string]any, len(header)+1)
	for k, v := range header {
		h[k] = v
	}
	h["alg"] = alg
	hj, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("emulator: header: %w", err)
	}
	pj, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("emulator: claims: %w", err)
	}
	return SignCompact(alg, key, hj, pj)
}

func hashFor(alg string) (crypto.Hash, func() hash.Hash, error) {
	if len(alg) != 5 {
		return 0, nil, fmt.Errorf("emulator: unsupported alg %q", alg)
	}
	switch alg[2:] {
	case "256":
		return crypto.SHA256, sha256.New, nil
	case "384":
		return crypto.SHA384, sha512.New384, nil
	case "512":
		return crypto.SHA512, sha512.New, nil
	}
	return 0, nil, fmt.Errorf("emulator: unsupported alg %q", alg)
}

func signInput(alg string, key any, input []byte) ([]byte, error) {
	if alg == "none" {
		return nil, nil
	}
	if alg == "EdDSA" || alg == "Ed25519" {
		k, ok := key.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("emulator: %s needs an ed25519.PrivateKey, not %T", alg, key)
		}
		return ed25519.Sign(k, input), nil
	}
	h, newHash, err := hashFor(alg)
	if err != nil {
		return nil, err
	}
	switch alg[:2] {
	case "HS":
		k, ok := key.([]byte)
		if !ok {
			return nil, fmt.Errorf("emulator: %s needs a []byte secret, not %T", alg, key)
		}
		m := hmac.New(newHash, k)
		m.Write(input)
		return m.Sum(nil), nil
	case "RS", "PS":
		k, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("emulator: %s needs an *rsa.PrivateKey, not %T", alg, key)
		}
		d := newHash()
		d.Write(input)
		if alg[0] == 'R' {
			return rsa.SignPKCS1v15(rand.Reader, k, h, d.Sum(nil))
		}
		return rsa.SignPSS(rand.Reader, k, h, d.Sum(nil), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "ES":
		k, ok := key.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("emulator: %s needs an *ecdsa.PrivateKey, not %T", alg, key)
		}
		d := newHash()
		d.Write(input)
		r, s, err := ecdsa.Sign(rand.Reader, k, d.Sum(nil))
		if err != nil {
			return nil, err
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		sig := make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
		return sig, nil
	}
	return nil, fmt.Errorf("emulator: unsupported alg %q", alg)
}
