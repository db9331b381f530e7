package supabase_test

import (
	"encoding/base64"

	"github.com/google/uuid"
)

func jsonB64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func mustParse(t interface {
	Helper()
	Fatal(...any)
}, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
