package betterauth

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/authport/authport"
)

// Dialect is the SQL dialect of Config.DB.
type Dialect string

// The dialects.
const (
	// DialectPostgres: $1 placeholders, "double-quoted" identifiers.
	DialectPostgres Dialect = "postgres"
	// DialectSQLite: ? placeholders; dates as the library's SQLite adapter
	// writes them (ISO text or epoch milliseconds).
	DialectSQLite Dialect = "sqlite"
)

// Schema names the library's tables and columns. Every name defaults to the
// library's own (session, user, member; camelCase columns). Field maps are
// keyed by the library's field name, as in its fields options:
// SessionFields{"userId": "user_id"}.
type Schema struct {
	SessionTable, UserTable, MemberTable    string
	SessionFields, UserFields, MemberFields map[string]string
}

func (s Schema) table(name, def string) string {
	if name == "" {
		return def
	}
	return name
}

func field(m map[string]string, name string) string {
	if v := m[name]; v != "" {
		return v
	}
	return name
}

// store looks sessions up in the application's database.
type store struct {
	db      *sql.DB
	dialect Dialect
	schema  Schema

	mu       sync.Mutex
	query    string // built once the schema was probed
	userQ    string
	hasAdmin bool
	hasOrg   bool
}

func newStore(db *sql.DB, d Dialect, s Schema) (*store, error) {
	for _, n := range []string{s.SessionTable, s.UserTable, s.MemberTable} {
		if n != "" && !validIdent(n) {
			return nil, misconfigured("a table name in the schema is not a plain identifier")
		}
	}
	for _, m := range []map[string]string{s.SessionFields, s.UserFields, s.MemberFields} {
		for _, v := range m {
			if !validIdent(v) {
				return nil, misconfigured("a column name in the schema is not a plain identifier")
			}
		}
	}
	return &store{db: db, dialect: d, schema: s}, nil
}

func validIdent(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || i > 0 && b >= '0' && b <= '9') {
			return false
		}
	}
	return true
}

func q(id string) string { return `"` + id + `"` }

func (s *store) ph(n int) string {
	if s.dialect == DialectSQLite {
		return "?"
	}
	return "$" + strconv.Itoa(n)
}

// prepare probes which plugin columns exist (admin: user.role, banned,
// banExpires; organization: session.activeOrganizationId and the member
// table) and builds the one lookup query.
func (s *store) prepare(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.query != "" {
		return s.query, nil
	}
	sc := s.schema
	sess, user, member := sc.table(sc.SessionTable, "session"), sc.table(sc.UserTable, "user"), sc.table(sc.MemberTable, "member")
	sf := func(n string) string { return "s." + q(field(sc.SessionFields, n)) }
	uf := func(n string) string { return "u." + q(field(sc.UserFields, n)) }
	mf := func(n string) string { return field(sc.MemberFields, n) }
	ucols, err := s.columns(ctx, user)
	if err != nil {
		return "", err
	}
	scols, err := s.columns(ctx, sess)
	if err != nil {
		return "", err
	}
	s.hasAdmin = ucols[field(sc.UserFields, "role")] && ucols[field(sc.UserFields, "banned")]
	s.hasOrg = scols[field(sc.SessionFields, "activeOrganizationId")]
	hasMember := false
	if s.hasOrg {
		if mcols, err := s.columns(ctx, member); err == nil && mcols[mf("role")] && mcols[mf("organizationId")] && mcols[mf("userId")] {
			hasMember = true
		}
	}
	cols := []string{sf("id"), sf("expiresAt"), sf("createdAt"), uf("id"), uf("email"), uf("emailVerified"), uf("name")}
	if s.hasAdmin {
		cols = append(cols, uf("role"), uf("banned"), uf("banExpires"))
	} else {
		cols = append(cols, "NULL", "NULL", "NULL")
	}
	from := q(sess) + " s JOIN " + q(user) + " u ON u." + q(field(sc.UserFields, "id")) + " = " + sf("userId")
	switch {
	case hasMember:
		cols = append(cols, sf("activeOrganizationId"), "m."+q(mf("role")))
		from += " LEFT JOIN " + q(member) + " m ON m." + q(mf("organizationId")) + " = " + sf("activeOrganizationId") +
			" AND m." + q(mf("userId")) + " = u." + q(field(sc.UserFields, "id"))
	case s.hasOrg:
		cols = append(cols, sf("activeOrganizationId"), "NULL")
	default:
		cols = append(cols, "NULL", "NULL")
	}
	s.query = "SELECT " + strings.Join(cols, ", ") + " FROM " + from + " WHERE " + sf("token") + " = " + s.ph(1)
	ucolsSel := []string{"u." + q(field(sc.UserFields, "id"))}
	if s.hasAdmin {
		ucolsSel = append(ucolsSel, uf("banned"), uf("banExpires"))
	} else {
		ucolsSel = append(ucolsSel, "NULL", "NULL")
	}
	s.userQ = "SELECT " + strings.Join(ucolsSel, ", ") + " FROM " + q(user) + " u WHERE " + uf("id") + " = " + s.ph(1)
	return s.query, nil
}

// columns returns the column names of table (a query returning no rows).
func (s *store) columns(ctx context.Context, table string) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT * FROM "+q(table)+" WHERE 1 = 0")
	if err != nil {
		return nil, dbError(ctx, err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, dbError(ctx, err)
	}
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m, nil
}

// Record is a session row joined to its user, as the library stores them;
// reach it with Session.As.
type Record struct {
	SessionID            string
	ExpiresAt, CreatedAt time.Time
	UserID, Email, Name  string
	EmailVerified        bool
	// Role is the admin plugin's role field (comma-separated), if any.
	Role string
	// Banned and BanExpires are the admin plugin's ban.
	Banned     bool
	BanExpires time.Time
	// ActiveOrganizationID and MemberRole come from the organization
	// plugin: the session's active organisation and the user's role in it.
	ActiveOrganizationID, MemberRole string
}

func (s *store) session(ctx context.Context, a *Authenticator, token string) (*authport.Session, error) {
	query, err := s.prepare(ctx)
	if err != nil {
		return nil, err
	}
	var sid, uid, email, name, expires, created, verified, role, banned, banExp, org, mrole any
	err = s.db.QueryRowContext(ctx, query, token).Scan(&sid, &expires, &created, &uid, &email, &verified, &name, &role, &banned, &banExp, &org, &mrole)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, authport.NewError(authport.ErrRevoked, Name, authport.OpVerify, "no such session (signed out, revoked or never issued)")
	}
	if err != nil {
		return nil, dbError(ctx, err)
	}
	r := &Record{
		SessionID: str(sid), UserID: str(uid), Email: str(email), Name: str(name),
		EmailVerified: boolean(verified), Role: str(role), Banned: boolean(banned),
		ActiveOrganizationID: str(org), MemberRole: str(mrole),
	}
	var ok bool
	if r.ExpiresAt, ok = timeOf(expires); !ok {
		return nil, authport.NewError(authport.ErrProviderUnavailable, Name, authport.OpVerify, "session expiry is not a date")
	}
	r.CreatedAt, _ = timeOf(created)
	r.BanExpires, _ = timeOf(banExp)
	now := a.cfg.Clock()
	if !r.ExpiresAt.After(now) {
		return nil, authport.NewError(authport.ErrExpired, Name, authport.OpVerify, "session expired")
	}
	if err := a.checkBan(r.Banned, r.BanExpires); err != nil {
		return nil, err
	}
	return a.recordSession(r), nil
}

// checkUser refuses a deleted or banned user (strict JWT verification).
func (s *store) checkUser(ctx context.Context, a *Authenticator, userID string) error {
	if _, err := s.prepare(ctx); err != nil {
		return err
	}
	var id, banned, banExp any
	err := s.db.QueryRowContext(ctx, s.userQ, userID).Scan(&id, &banned, &banExp)
	if errors.Is(err, sql.ErrNoRows) {
		return authport.NewError(authport.ErrRevoked, Name, authport.OpVerify, "the user no longer exists")
	}
	if err != nil {
		return dbError(ctx, err)
	}
	exp, _ := timeOf(banExp)
	return a.checkBan(boolean(banned), exp)
}

func (a *Authenticator) checkBan(banned bool, until time.Time) error {
	if !banned || a.cfg.AllowBanned {
		return nil
	}
	if !until.IsZero() && !until.After(a.cfg.Clock()) {
		return nil // the ban has lapsed; the library lifts it on sign-in
	}
	return authport.NewError(authport.ErrRevoked, Name, authport.OpVerify, "the user is banned")
}

// mintSkew allows for a JWT plugin token's whole-second iat and a little
// clock difference between the database and the JavaScript server when
// matching the token to the sessions that existed when it was minted.
const mintSkew = 5 * time.Second

// liveSessionAt reports whether the user has an unexpired session created
// no later than issued (plus mintSkew): one that could have minted a JWT
// plugin token issued then.
func (s *store) liveSessionAt(ctx context.Context, a *Authenticator, userID string, issued time.Time) (bool, error) {
	sc := s.schema
	query := "SELECT 1 FROM " + q(sc.table(sc.SessionTable, "session")) + " WHERE " + q(field(sc.SessionFields, "userId")) + " = " + s.ph(1) +
		" AND " + q(field(sc.SessionFields, "createdAt")) + " <= " + s.ph(2) + " AND " + q(field(sc.SessionFields, "expiresAt")) + " > " + s.ph(3) + " LIMIT 1"
	var one any
	err := s.db.QueryRowContext(ctx, query, userID, s.timeArg(issued.Add(mintSkew)), s.timeArg(a.cfg.Clock())).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, dbError(ctx, err)
	}
	return true, nil
}

// deleteSessionsAt deletes the user's sessions created no later than
// issued (plus mintSkew).
func (s *store) deleteSessionsAt(ctx context.Context, userID string, issued time.Time) error {
	sc := s.schema
	query := "DELETE FROM " + q(sc.table(sc.SessionTable, "session")) + " WHERE " + q(field(sc.SessionFields, "userId")) + " = " + s.ph(1) +
		" AND " + q(field(sc.SessionFields, "createdAt")) + " <= " + s.ph(2)
	if _, err := s.db.ExecContext(ctx, query, userID, s.timeArg(issued.Add(mintSkew))); err != nil {
		return dbError(ctx, err)
	}
	return nil
}

// timeArg is a date as the dialect compares it: a time.Time for
// PostgreSQL, ISO 8601 text (what the library's SQLite adapter writes) for
// SQLite.
func (s *store) timeArg(t time.Time) any {
	if s.dialect == DialectSQLite {
		return t.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return t
}

// deleteSession removes the session row, as the library's sign-out does.
func (s *store) deleteSession(ctx context.Context, sessionID string) error {
	sc := s.schema
	query := "DELETE FROM " + q(sc.table(sc.SessionTable, "session")) + " WHERE " + q(field(sc.SessionFields, "id")) + " = " + s.ph(1)
	if _, err := s.db.ExecContext(ctx, query, sessionID); err != nil {
		return dbError(ctx, err)
	}
	return nil
}

func dbError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: Name, Op: authport.OpVerify, Reason: "database query canceled", Err: ctx.Err()}
	}
	// The driver's text may quote the query, never the token (it is a
	// bound parameter); keep only the class of failure.
	return authport.NewError(authport.ErrProviderUnavailable, Name, authport.OpVerify, "database unavailable")
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return ""
}

func boolean(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int64:
		return x != 0
	case string:
		return x == "1" || x == "true" || x == "t"
	case []byte:
		s := string(x)
		return s == "1" || s == "true" || s == "t"
	}
	return false
}

// timeOf reads a date as PostgreSQL (timestamptz) or the library's SQLite
// adapter (ISO text, or epoch seconds or milliseconds) stores it.
func timeOf(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case int64:
		if x > 1e11 || x < -1e11 {
			return time.UnixMilli(x), true
		}
		return time.Unix(x, 0), true
	case float64:
		return timeOf(int64(x))
	case []byte:
		return timeOf(string(x))
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
			if t, err := time.Parse(layout, x); err == nil {
				return t, true
			}
		}
		if n, err := strconv.ParseInt(x, 10, 64); err == nil {
			return timeOf(n)
		}
	}
	return time.Time{}, false
}
