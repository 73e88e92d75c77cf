package security

import (
	"fmt"
	"time"

	"cel.dev/cel-go/cel"
)

// DefaultCELCostLimit bounds the work of one policy evaluation, in cel-go cost units.
const DefaultCELCostLimit = 10_000

// MaxPolicyBytes bounds the length of one policy expression.
const MaxPolicyBytes = 4096

func newPolicyEnv() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("data", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("principal", cel.StringType),
		cel.Variable("verified", cel.BoolType),
		cel.Variable("scopes", cel.ListType(cel.StringType)),
		cel.Variable("origin", cel.StringType),
		cel.Variable("credentials", cel.ListType(cel.MapType(cel.StringType, cel.DynType))),
		cel.Variable("from", cel.StringType),
		cel.Variable("to", cel.StringType),
		cel.Variable("action", cel.StringType),
		cel.CrossTypeNumericComparisons(true),
		cel.ParserExpressionSizeLimit(MaxPolicyBytes),
		cel.ParserRecursionLimit(64),
	)
}

type compiledPolicy struct {
	Policy
	prg cel.Program
}

func compilePolicy(env *cel.Env, b *Boundary, p Policy, cost uint64) (*compiledPolicy, error) {
	if len(p.Expr) > MaxPolicyBytes {
		return nil, &ConfigError{Boundary: b.name(), Field: "policy " + p.Name, Reason: fmt.Sprintf("expression longer than %d bytes", MaxPolicyBytes)}
	}
	ast, iss := env.Compile(p.Expr)
	if iss != nil && iss.Err() != nil {
		return nil, &ConfigError{Boundary: b.name(), Field: "policy " + p.Name, Reason: iss.Err().Error()}
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, &ConfigError{Boundary: b.name(), Field: "policy " + p.Name, Reason: fmt.Sprintf("must be a bool, is %s", ast.OutputType())}
	}
	prg, err := env.Program(ast, cel.CostLimit(cost), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, &ConfigError{Boundary: b.name(), Field: "policy " + p.Name, Reason: err.Error()}
	}
	return &compiledPolicy{Policy: p, prg: prg}, nil
}

// policyVars builds the variables policies see.
func policyVars(sc *Context, now time.Time, from, to Protocol, action string, data map[string]any) map[string]any {
	vars := map[string]any{
		"data": data, "principal": "", "verified": false, "scopes": []string{}, "origin": "",
		"credentials": []map[string]any{}, "from": string(from), "to": string(to), "action": action,
	}
	if sc != nil {
		creds := make([]map[string]any, len(sc.Credentials))
		for i, c := range sc.Credentials {
			claims := c.Claims
			if claims == nil {
				claims = map[string]any{}
			}
			types := c.Types
			if types == nil {
				types = []string{}
			}
			creds[i] = map[string]any{"id": c.ID, "types": types, "issuer": c.Issuer, "subject": c.Subject,
				"claims": claims, "valid": c.ValidAt(now)}
		}
		scopes := sc.Scopes
		if scopes == nil {
			scopes = []string{}
		}
		vars["principal"], vars["verified"], vars["scopes"], vars["origin"], vars["credentials"] =
			sc.Principal, sc.IdentityVerified(now), scopes, sc.Origin, creds
	}
	return vars
}

// eval reports whether the policy allows; an error denies.
func (p *compiledPolicy) eval(vars map[string]any) (bool, error) {
	out, _, err := p.prg.Eval(vars)
	if err != nil {
		return false, err
	}
	ok, isBool := out.Value().(bool)
	if !isBool {
		return false, fmt.Errorf("result is %s, not a bool", out.Type().TypeName())
	}
	return ok, nil
}
