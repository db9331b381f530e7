package httpclient

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestTimeout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		base    *http.Client
		timeout time.Duration
		want    time.Duration
	}{
		{"nil", nil, 0, DefaultTimeout},
		{"base without timeout", &http.Client{}, 0, DefaultTimeout},
		{"base timeout kept", &http.Client{Timeout: time.Second}, 0, time.Second},
		{"explicit wins", &http.Client{Timeout: time.Second}, 2 * time.Second, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range []*http.Client{New(tc.base, tc.timeout), NoRedirect(tc.base, tc.timeout)} {
				if c.Timeout != tc.want {
					t.Errorf("Timeout = %v, want %v", c.Timeout, tc.want)
				}
				if c == tc.base {
					t.Error("the caller's client was returned, not a copy")
				}
			}
			if tc.base != nil && tc.base.CheckRedirect != nil {
				t.Error("the caller's client was modified")
			}
		})
	}
}

func TestRedirects(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("other")) }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/off":
			http.Redirect(w, r, other.URL+"/x", http.StatusFound)
		default:
			w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		path       string
		wantErr    bool
		noRedirect int
	}{
		{"/same", false, http.StatusFound},
		{"/loop", true, http.StatusFound},
		{"/off", true, http.StatusFound},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, err := New(nil, 0).Get(srv.URL + tc.path)
			if tc.wantErr {
				if err == nil || !errors.Is(err, ErrOffHostRedirect) {
					t.Fatalf("err = %v, want ErrOffHostRedirect", err)
				}
			} else if err != nil || res.StatusCode != 200 {
				t.Fatalf("err = %v", err)
			}
			res, err = NoRedirect(nil, 0).Get(srv.URL + tc.path)
			if err != nil || res.StatusCode != tc.noRedirect {
				t.Fatalf("NoRedirect: %v %v", res, err)
			}
		})
	}
}

func TestReadBody(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    string
		limit   int64
		wantErr bool
	}{
		{"under", "abc", 4, false},
		{"exact", "abcd", 4, false},
		{"over", "abcde", 4, true},
		{"default limit", strings.Repeat("x", MaxBody), 0, false},
		{"default limit over", strings.Repeat("x", MaxBody+1), 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := ReadBody(strings.NewReader(tc.body), tc.limit)
			if tc.wantErr {
				if !errors.Is(err, ErrBodyTooLarge) {
					t.Fatalf("err = %v, want ErrBodyTooLarge", err)
				}
				return
			}
			if err != nil || string(b) != tc.body {
				t.Fatalf("got %d bytes, %v", len(b), err)
			}
		})
	}
}
