package workos

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"strconv"

	"github.com/workos/workos-go/v4/pkg/workos_errors"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/retryafter"
	"github.com/authport/authport/internal/safetext"
)

// actionFor maps WorkOS's authentication error codes to authport actions.
var actionFor = map[string]authport.Action{
	workos_errors.EmailVerificationRequiredCode:                 authport.ActionVerifyEmail,
	workos_errors.MFAEnrollmentCode:                             authport.ActionMFA,
	workos_errors.MFAChallengeCode:                              authport.ActionMFA,
	workos_errors.OrganizationSelectionRequiredCode:             authport.ActionSelectOrganization,
	workos_errors.SSORequiredCode:                               authport.ActionSSO,
	workos_errors.OrganizationAuthenticationMethodsRequiredCode: ActionOrgAuthMethods,
}

// credentialCodes are WorkOS error codes that mean "this credential, code
// or token is not good" on an authenticate call.
var credentialCodes = map[string]bool{
	"invalid_credentials":                  true,
	"invalid_grant":                        true,
	"invalid_one_time_code":                true,
	"one_time_code_expired":                true,
	"invalid_code":                         true,
	"expired_code":                         true,
	"invalid_pending_authentication_token": true,
	"organization_membership_not_found":    true,
	"user_already_exists":                  true,
	"email_not_available":                  true,
}

// actionError turns WorkOS's typed authentication errors (and their
// untyped fallbacks, which the SDK returns when a body lacks the user) into
// an *authport.ActionError, or returns nil.
func actionError(err error) *authport.ActionError {
	ae := func(a authport.Action, pending string) *authport.ActionError {
		return &authport.ActionError{Action: a, Provider: Name, PendingToken: pending}
	}
	var (
		ev  *workos_errors.EmailVerificationRequiredError
		me  *workos_errors.MFAEnrollmentError
		mc  *workos_errors.MFAChallengeError
		osr *workos_errors.OrganizationSelectionRequiredError
		sso *workos_errors.SSORequiredError
		am  *workos_errors.OrganizationAuthenticationMethodsRequiredError
	)
	switch {
	case errors.As(err, &ev):
		return ae(authport.ActionVerifyEmail, ev.PendingAuthenticationToken)
	case errors.As(err, &me):
		return ae(authport.ActionMFA, me.PendingAuthenticationToken)
	case errors.As(err, &mc):
		return ae(authport.ActionMFA, mc.PendingAuthenticationToken)
	case errors.As(err, &osr):
		e := ae(authport.ActionSelectOrganization, osr.PendingAuthenticationToken)
		addOrganizations(e, osr.Organizations)
		return e
	case errors.As(err, &sso):
		return ae(authport.ActionSSO, sso.PendingAuthenticationToken)
	case errors.As(err, &am):
		return ae(ActionOrgAuthMethods, am.PendingAuthenticationToken)
	}
	if he, ok := httpError(err); ok {
		if a, ok := actionFor[he.ErrorCode]; ok {
			e := ae(a, he.PendingAuthenticationToken)
			addOrganizations(e, he.Organizations)
			return e
		}
	}
	return nil
}

// addOrganizations lists the organisations WorkOS offers on e, with their
// names.
func addOrganizations(e *authport.ActionError, orgs []workos_errors.PendingAuthenticationOrganizationInfo) {
	for _, o := range orgs {
		if o.ID == "" {
			continue
		}
		e.Organizations = append(e.Organizations, o.ID)
		if o.Name != "" {
			if e.OrganizationNames == nil {
				e.OrganizationNames = map[string]string{}
			}
			e.OrganizationNames[o.ID] = o.Name
		}
	}
}

func httpError(err error) (workos_errors.HTTPError, bool) {
	var v workos_errors.HTTPError
	if errors.As(err, &v) {
		return v, true
	}
	var p *workos_errors.HTTPError
	if errors.As(err, &p) && p != nil {
		return *p, true
	}
	return workos_errors.HTTPError{}, false
}

// mapError turns an error from workos-go into one of authport's kinds. The
// SDK's own error text can carry the pending authentication token, the
// code or the email address, so it is never wrapped: only the status and a
// sanitised WorkOS error code are kept.
func mapError(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if ae := actionError(err); ae != nil {
		return ae
	}
	if he, ok := httpError(err); ok {
		code := safetext.Code(he.ErrorCode)
		reason := "WorkOS answered " + strconv.Itoa(he.Code)
		if code != "" {
			reason += " " + code
		}
		k := statusKind(op, he.Code, code)
		if k == authport.ErrRateLimited {
			return authport.NewRateLimitError(Name, op, reason, retryafter.Wait(ctx))
		}
		return authport.NewError(k, Name, op, reason)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return authport.WrapError(authport.ErrProviderUnavailable, Name, op, err)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// The URL is WorkOS's endpoint, never a secret, but it is dropped
		// anyway: the cause (dial error, timeout) is what matters.
		return &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: Name, Op: op, Reason: "WorkOS cannot be reached", Err: ue.Err}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: Name, Op: op, Reason: "WorkOS cannot be reached", Err: ne}
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) {
		return authport.NewError(authport.ErrProviderUnavailable, Name, op, "WorkOS answered with an unreadable body")
	}
	return authport.NewError(authport.ErrProviderUnavailable, Name, op, "WorkOS call failed")
}

func statusKind(op string, status int, code string) *authport.Kind {
	switch {
	case status == 429:
		return authport.ErrRateLimited
	case status >= 500 || status < 400:
		return authport.ErrProviderUnavailable
	case code == "invalid_client" || code == "unauthorized" || status == 401:
		// The API key or client id is wrong: the application's fault,
		// not the user's.
		return authport.ErrMisconfigured
	case credentialCodes[code]:
		return authport.ErrInvalidCredential
	case code == "invalid_request" || code == "invalid_request_body" || status == 422:
		return authport.ErrInvalidInput
	case status == 409:
		return authport.ErrInvalidCredential
	}
	switch op {
	case authport.OpSignIn, authport.OpRefresh:
		// Any other refusal of a sign-in, code or refresh token.
		return authport.ErrInvalidCredential
	case authport.OpSignUp:
		return authport.ErrInvalidInput
	}
	if status == 403 {
		return authport.ErrForbidden
	}
	return authport.ErrInvalidInput
}
