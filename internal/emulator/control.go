package emulator

import (
	"errors"
	"io"
	"net/http"
	"time"
)

// ControlPrefix is the path prefix of the control API.
const ControlPrefix = "/__authport/"

// controlRoutes documents the control API (served at GET /__authport/).
var controlRoutes = map[string]string{
	"POST /__authport/users":        `create a user: {"email","password","id","email_verified","name","roles","permissions","org_id","metadata"} → 201 user`,
	"DELETE /__authport/users/{id}": `delete a user for good (email freed, sessions revoked, refresh tokens dropped) → 204`,
	"POST /__authport/sign-in":      `{"email","password"} → the tokens the provider's own sign-in returns`,
	"POST /__authport/mint":         `{"user_id"|"email","session_id","new_session","claims","header","expires_in","expired","not_yet_valid","foreign","alg","secret"} → {"token","kid","session_id"}; a null claim or header field is removed ({"claims":{"sid":null,"jti":null}})`,
	"POST /__authport/rotate":       `{"drop_old"} → {"kid","previous","published"}`,
	"POST /__authport/fault":        `{"route","down","hangup","delay_ms","garbage","huge","status","count"} or {"route","clear":true}; route "" with clear clears all`,
	"POST /__authport/ratelimit":    `{"requests","window_ms","routes"} puts a request budget in force (the provider's own 429 past it) or {"clear":true} lifts it`,
	"GET /__authport/stats":         `→ {"hits","fetches","users","sessions","kid","faults"}`,
	"POST /__authport/revoke":       `{"session_id"} or {"user_id"} → {"revoked"}`,
	"POST /__authport/disable":      `{"user_id"} → 204 (the user's sessions are revoked)`,
	"POST /__authport/clock":        `{"advance_seconds"} or {"set": RFC 3339} → {"now"}`,
}

func (s *Server) registerControl() {
	m := s.Mux
	m.HandleFunc("GET "+ControlPrefix+"{$}", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]any{"name": s.opts.Name, "routes": controlRoutes})
	})
	m.HandleFunc("POST "+ControlPrefix+"users", s.ctlCreateUser)
	m.HandleFunc("DELETE "+ControlPrefix+"users/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Store.DeleteUser(r.PathValue("id")); err != nil {
			ctlError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST "+ControlPrefix+"sign-in", s.ctlSignIn)
	m.HandleFunc("POST "+ControlPrefix+"mint", s.ctlMint)
	m.HandleFunc("POST "+ControlPrefix+"rotate", s.ctlRotate)
	m.HandleFunc("POST "+ControlPrefix+"fault", s.ctlFault)
	m.HandleFunc("POST "+ControlPrefix+"ratelimit", s.ctlRateLimit)
	m.HandleFunc("GET "+ControlPrefix+"stats", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, s.Stats())
	})
	m.HandleFunc("POST "+ControlPrefix+"revoke", s.ctlRevoke)
	m.HandleFunc("POST "+ControlPrefix+"disable", s.ctlDisable)
	m.HandleFunc("POST "+ControlPrefix+"clock", s.ctlClock)
}

// ctlError writes the control API's error body.
func ctlError(w http.ResponseWriter, err error) {
	WriteJSON(w, errorStatus(err), map[string]string{"error": "control_error", "error_description": err.Error()})
}

// readOptional decodes a body that may be empty.
func readOptional(r *http.Request, v any) error {
	err := ReadJSON(r, v)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

func (s *Server) ctlCreateUser(w http.ResponseWriter, r *http.Request) {
	var n NewUser
	if err := ReadJSON(r, &n); err != nil {
		ctlError(w, err)
		return
	}
	u, err := s.Store.CreateUser(n)
	if err != nil {
		ctlError(w, err)
		return
	}
	WriteJSON(w, http.StatusCreated, u)
}

func (s *Server) ctlSignIn(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := ReadJSON(r, &in); err != nil {
		ctlError(w, err)
		return
	}
	u, err := s.Store.CheckPassword(in.Email, in.Password)
	if err != nil {
		ctlError(w, err)
		return
	}
	var out any
	if s.opts.SignIn != nil {
		out, err = s.opts.SignIn(r, u)
	} else {
		var ss *Session
		if ss, err = s.Store.CreateSession(NewSession{UserID: u.ID}); err == nil {
			out, err = s.IssueTokens(ss.ID)
		}
	}
	if err != nil {
		ctlError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, out)
}

type mintJSON struct {
	UserID      string         `json:"user_id"`
	Email       string         `json:"email"`
	SessionID   string         `json:"session_id"`
	NewSession  bool           `json:"new_session"`
	Claims      map[string]any `json:"claims"`
	Header      map[string]any `json:"header"`
	ExpiresIn   int64          `json:"expires_in"`
	Expired     bool           `json:"expired"`
	NotYetValid bool           `json:"not_yet_valid"`
	Foreign     bool           `json:"foreign"`
	Alg         string         `json:"alg"`
	Secret      string         `json:"secret"`
}

func (s *Server) ctlMint(w http.ResponseWriter, r *http.Request) {
	var in mintJSON
	if err := readOptional(r, &in); err != nil {
		ctlError(w, err)
		return
	}
	if in.Email != "" {
		u, err := s.Store.UserByEmail(in.Email)
		if err != nil {
			ctlError(w, err)
			return
		}
		in.UserID = u.ID
	}
	if in.NewSession {
		ss, err := s.Store.CreateSession(NewSession{UserID: in.UserID})
		if err != nil {
			ctlError(w, err)
			return
		}
		in.SessionID = ss.ID
	}
	req := MintRequest{
		UserID: in.UserID, SessionID: in.SessionID, Claims: in.Claims, Header: in.Header,
		ExpiresIn: time.Duration(in.ExpiresIn) * time.Second, Expired: in.Expired,
		NotYetValid: in.NotYetValid, Foreign: in.Foreign, Alg: in.Alg,
	}
	if in.Secret != "" {
		req.Secret = []byte(in.Secret)
	}
	tok, err := s.Mint(req)
	if err != nil {
		ctlError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]string{"token": tok, "kid": s.Keys.KID(), "session_id": in.SessionID})
}

func (s *Server) ctlRotate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		DropOld bool `json:"drop_old"`
	}
	if err := readOptional(r, &in); err != nil {
		ctlError(w, err)
		return
	}
	prev := s.Keys.KID()
	k := s.Keys.Rotate()
	if in.DropOld {
		s.Keys.DropRetired()
	}
	var pub []string
	for _, p := range s.Keys.Published() {
		pub = append(pub, p.ID)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"kid": k.ID, "previous": prev, "published": pub})
}

func (s *Server) ctlFault(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Route   string  `json:"route"`
		Clear   bool    `json:"clear"`
		Down    bool    `json:"down"`
		Hangup  bool    `json:"hangup"`
		DelayMS int64   `json:"delay_ms"`
		Garbage Garbage `json:"garbage"`
		Huge    bool    `json:"huge"`
		Status  int     `json:"status"`
		Count   int     `json:"count"`
	}
	if err := ReadJSON(r, &in); err != nil {
		ctlError(w, err)
		return
	}
	switch {
	case in.Clear && in.Route == "":
		s.ClearFaults()
	case in.Clear:
		s.ClearFault(in.Route)
	case in.Route == "":
		ctlError(w, errors.New("emulator: route required"))
		return
	default:
		s.SetFault(in.Route, Fault{Down: in.Down, Hangup: in.Hangup, Delay: time.Duration(in.DelayMS) * time.Millisecond,
			Garbage: in.Garbage, Huge: in.Huge, Status: in.Status, Count: in.Count})
	}
	w.WriteHeader(http.StatusNoContent)
}

// ctlRateLimit sets ({"requests":N,"window_ms":M,"routes":[…]}) or lifts
// ({"clear":true}) the request budget (SetRateLimit).
func (s *Server) ctlRateLimit(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Clear    bool     `json:"clear"`
		Requests int      `json:"requests"`
		WindowMS int64    `json:"window_ms"`
		Routes   []string `json:"routes"`
	}
	if err := ReadJSON(r, &in); err != nil {
		ctlError(w, err)
		return
	}
	switch {
	case in.Clear:
		s.ClearRateLimit()
	case in.Requests < 0:
		ctlError(w, errors.New("emulator: requests must not be negative"))
		return
	default:
		s.SetRateLimit(RateLimit{Requests: in.Requests, Window: time.Duration(in.WindowMS) * time.Millisecond, Routes: in.Routes})
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) ctlRevoke(w http.ResponseWriter, r *http.Request) {
	var in struct {
		SessionID string `json:"session_id"`
		UserID    string `json:"user_id"`
	}
	if err := ReadJSON(r, &in); err != nil {
		ctlError(w, err)
		return
	}
	n := 0
	switch {
	case in.SessionID != "":
		if err := s.Store.RevokeSession(in.SessionID); err != nil {
			ctlError(w, err)
			return
		}
		n = 1
	case in.UserID != "":
		n = s.Store.RevokeUserSessions(in.UserID)
	default:
		ctlError(w, ErrInvalid)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]int{"revoked": n})
}

func (s *Server) ctlDisable(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID string `json:"user_id"`
	}
	if err := ReadJSON(r, &in); err != nil {
		ctlError(w, err)
		return
	}
	if err := s.Store.DisableUser(in.UserID); err != nil {
		ctlError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) ctlClock(w http.ResponseWriter, r *http.Request) {
	var in struct {
		AdvanceSeconds int64     `json:"advance_seconds"`
		Set            time.Time `json:"set"`
	}
	if err := ReadJSON(r, &in); err != nil {
		ctlError(w, err)
		return
	}
	if !in.Set.IsZero() {
		s.Clock.Set(in.Set)
	}
	s.Clock.Advance(time.Duration(in.AdvanceSeconds) * time.Second)
	WriteJSON(w, http.StatusOK, map[string]any{"now": s.Clock.Now().UTC().Format(time.RFC3339Nano)})
}
