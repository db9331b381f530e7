package auth0_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	"github.com/auth0/go-jwt-middleware/v2/validator"

	"github.com/authport/authport"
	"github.com/authport/authport/auth0"
	"github.com/authport/authport/auth0/auth0test"
)

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// handler is application code written for go-jwt-middleware: it reads the
// validated claims from the request context.
func handler(w http.ResponseWriter, r *http.Request) {
	vc, ok := r.Context().Value(jwtmiddleware.ContextKey{}).(*validator.ValidatedClaims)
	if !ok {
		http.Error(w, "no claims", http.StatusInternalServerError)
		return
	}
	io.WriteString(w, vc.RegisteredClaims.Subject)
}

func serve(h http.Handler, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/api", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestJWTMiddlewareSwitch proves the one-line migration: the same
// jwtmiddleware, error handler and application handler, with the SDK's
// validator and with the adapter's ValidateToken, answer alike.
func TestJWTMiddlewareSwitch(t *testing.T) {
	emu, a := newEmu(t)
	u, _ := emu.CreateUser(auth0test.NewUser{Email: "mw@example.com", Password: pw})
	good, _ := emu.Mint(auth0test.MintRequest{UserID: u.ID})
	expired, _ := emu.Mint(auth0test.MintRequest{UserID: u.ID, Expired: true})
	forged, _ := emu.Mint(auth0test.MintRequest{UserID: u.ID, Foreign: true})

	sdk := oracle(t, emu, 0)
	before := jwtmiddleware.New(sdk.ValidateToken).CheckJWT(http.HandlerFunc(handler))
	after := jwtmiddleware.New(a.ValidateToken).CheckJWT(http.HandlerFunc(handler)) // the one line

	for _, c := range []struct {
		name, token string
		status      int
		body        string
	}{
		{"valid", good, 200, u.ID},
		{"missing", "", 400, `{"message":"JWT is missing."}`},
		{"expired", expired, 401, `{"message":"JWT is invalid."}`},
		{"forged", forged, 401, `{"message":"JWT is invalid."}`},
		{"garbage", "a.b.c", 401, `{"message":"JWT is invalid."}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			for name, h := range map[string]http.Handler{"sdk": before, "authport": after} {
				rec := serve(h, c.token)
				if rec.Code != c.status || strings.TrimSpace(rec.Body.String()) != c.body {
					t.Fatalf("%s: %d %q, want %d %q", name, rec.Code, rec.Body, c.status, c.body)
				}
			}
		})
	}

	t.Run("claims shape", func(t *testing.T) {
		out, err := a.ValidateToken(context.Background(), good)
		if err != nil {
			t.Fatal(err)
		}
		vc := out.(*validator.ValidatedClaims)
		c, ok := vc.CustomClaims.(*auth0.Claims)
		if !ok || vc.RegisteredClaims.Subject != u.ID || vc.RegisteredClaims.Issuer != emu.Issuer() || !c.HasScope("openid") {
			t.Fatalf("%+v %+v", vc.RegisteredClaims, vc.CustomClaims)
		}
		if err := c.Validate(context.Background()); err != nil {
			t.Fatal(err)
		}
		_, err = a.ValidateToken(context.Background(), expired)
		if !errors.Is(err, authport.ErrExpired) {
			t.Fatalf("expired: %v", err)
		}
	})
}

// scopedClaims is an application's custom claims type, as documented by
// go-jwt-middleware: it requires a scope.
type scopedClaims struct {
	Scope string `json:"scope"`
	Team  string `json:"https://example.com/team"`
}

func (c *scopedClaims) Validate(context.Context) error {
	if !slices.Contains(strings.Fields(c.Scope), "read:reports") {
		return errors.New("missing scope read:reports")
	}
	return nil
}

func TestCustomClaims(t *testing.T) {
	ctx := context.Background()
	emu := auth0test.New(t)
	cfg := emu.Config()
	cfg.CustomClaims = func() validator.CustomClaims { return &scopedClaims{} }
	a, err := auth0.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := emu.CreateUser(auth0test.NewUser{Email: "cc@example.com", Password: pw})
	with, _ := emu.Mint(auth0test.MintRequest{UserID: u.ID, Claims: map[string]any{"scope": "openid read:reports", "https://example.com/team": "blue"}})
	without, _ := emu.Mint(auth0test.MintRequest{UserID: u.ID, Claims: map[string]any{"scope": "openid"}})
	wrongType, _ := emu.Mint(auth0test.MintRequest{UserID: u.ID, Claims: map[string]any{"scope": 42}})

	out, err := a.ValidateToken(ctx, with)
	if err != nil {
		t.Fatal(err)
	}
	sc, ok := out.(*validator.ValidatedClaims).CustomClaims.(*scopedClaims)
	if !ok || sc.Team != "blue" {
		t.Fatalf("custom claims %#v", out.(*validator.ValidatedClaims).CustomClaims)
	}
	for _, tok := range []string{without, without /* cached: validated again */, wrongType} {
		_, err := a.Verify(ctx, authport.Credential{Token: tok})
		if !errors.Is(err, authport.ErrInvalidCredential) {
			t.Fatalf("%v, want ErrInvalidCredential", err)
		}
	}
	h := jwtmiddleware.New(a.ValidateToken).CheckJWT(http.HandlerFunc(handler))
	if rec := serve(h, without); rec.Code != 401 {
		t.Fatalf("without scope: %d", rec.Code)
	}
	if rec := serve(h, with); rec.Code != 200 {
		t.Fatalf("with scope: %d", rec.Code)
	}
}
