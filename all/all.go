package all

import (
	_ "github.com/authport/authport/auth0"
	_ "github.com/authport/authport/authjs"
	_ "github.com/authport/authport/authjs/authjspg"
	_ "github.com/authport/authport/betterauth"
	_ "github.com/authport/authport/betterauth/pgdb"
	_ "github.com/authport/authport/clerk"
	_ "github.com/authport/authport/diy"
	_ "github.com/authport/authport/firebase"
	_ "github.com/authport/authport/oidc"
	_ "github.com/authport/authport/supabase"
	_ "github.com/authport/authport/workos"
)
