package devkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func init() { register("firebase", startFirebase) }

// Firebase environment variables (see package firebase).
const (
	firebaseHostEnv    = "FIREBASE_AUTH_EMULATOR_HOST"
	firebaseProjectEnv = "AUTHPORT_TEST_FIREBASE_PROJECT"
)

// startFirebase uses the Firebase Auth Emulator (npm firebase-tools), the
// reference for Firebase's user and session flows, which
// `scripts/services.sh up firebase` starts and names in
// FIREBASE_AUTH_EMULATOR_HOST. It must be in the process environment:
// the Admin SDK reads it nowhere else. The emulator serves one project
// (AUTHPORT_TEST_FIREBASE_PROJECT, default demo-authport) and may be
// shared by several processes, so seeded accounts get a unique address
// (demo+<random>@example.com) and are deleted on Close. Roles become the
// custom claim "roles".
func startFirebase(ctx context.Context, o EmulatorOptions, e *Emulator) error {
	host := strings.TrimSpace(os.Getenv(firebaseHostEnv))
	if host == "" {
		return errors.New(firebaseHostEnv + " is not set: start the Firebase Auth Emulator with `scripts/services.sh up firebase` and export .env.services")
	}
	project := strings.TrimSpace(os.Getenv(firebaseProjectEnv))
	if project == "" {
		project = "demo-authport"
	}
	base := "http://" + host
	admin := base + "/identitytoolkit.googleapis.com/v1/projects/" + project
	hc := &http.Client{Timeout: 10 * time.Second}
	call := func(path string, body any, out any) error {
		b, _ := json.Marshal(body)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, admin+path, bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer owner") // the emulator's admin credential
		resp, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("firebase auth emulator at %s: %w", host, err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("firebase auth emulator: %s answered %d", path, resp.StatusCode)
		}
		if out != nil {
			return json.Unmarshal(data, out)
		}
		return nil
	}
	var created []string
	e.close = func() {
		if len(created) > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			b, _ := json.Marshal(map[string]any{"localIds": created, "force": true})
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, admin+"/accounts:batchDelete", bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer owner")
			if resp, err := hc.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}
	e.URL = base
	e.Env = map[string]string{
		"AUTH_PROVIDER":       "firebase",
		"FIREBASE_PROJECT_ID": project,
		"FIREBASE_API_KEY":    "demo-api-key", // the emulator accepts any key
		firebaseHostEnv:       host,
	}
	e.SignIn = "the app's password form (Identity Toolkit's signInWithPassword on the Firebase Auth Emulator)"
	tag := strings.ToLower(NewPassword()[:8])
	for i, a := range o.Accounts {
		local, domain, ok := strings.Cut(a.Email, "@")
		if !ok {
			return fmt.Errorf("malformed account email %q", a.Email)
		}
		a.Email = local + "+" + tag + "@" + domain
		e.Accounts[i].Email = a.Email
		var u struct {
			LocalID string `json:"localId"`
		}
		if err := call("/accounts", map[string]any{"email": a.Email, "password": a.Password, "emailVerified": true}, &u); err != nil {
			return err
		}
		created = append(created, u.LocalID)
		if len(a.Roles) > 0 {
			claims, _ := json.Marshal(map[string]any{"roles": a.Roles})
			if err := call("/accounts:update", map[string]any{"localId": u.LocalID, "customAttributes": string(claims)}, nil); err != nil {
				return err
			}
		}
	}
	return nil
}
