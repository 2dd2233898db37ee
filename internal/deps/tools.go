//go:build tools

// Package deps pins modules that stages under construction use, so that
// go.mod stays stable while they land. It is never built.
package deps

import (
	_ "cel.dev/cel-go/cel"
	_ "github.com/Shopify/toxiproxy/v2"
	_ "github.com/corazawaf/coraza-coreruleset/v4"
	_ "github.com/corazawaf/coraza/v3"
	_ "github.com/coreos/go-oidc/v3/oidc"
	_ "github.com/coreruleset/go-ftw/v2/config"
	_ "github.com/coreruleset/go-ftw/v2/output"
	_ "github.com/coreruleset/go-ftw/v2/runner"
	_ "github.com/coreruleset/go-ftw/v2/test"
	_ "github.com/go-jose/go-jose/v4"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/nyaruka/phonenumbers"
	_ "github.com/redis/go-redis/v9"
)
