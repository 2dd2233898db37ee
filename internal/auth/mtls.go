package auth

import (
	"crypto/x509"
	"errors"
	"net/http"

	"github.com/rampart-gw/rampart/internal/record"
)

// errNoCertIdentity: the verified certificate lacks the configured
// identity.
var errNoCertIdentity = errors.New("client certificate has no identity of the configured kind")

// certIdentity maps a verified client certificate to a principal: spiffe
// (the spiffe:// URI SAN), dns (the first DNS SAN) or subject (the CN).
type certIdentity string

// verifiedLeaf returns the client certificate the listener verified, or
// nil. A certificate the listener did not verify against its client CAs
// (client_auth request without a CA) never counts.
func verifiedLeaf(r *http.Request) *x509.Certificate {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil
	}
	return r.TLS.VerifiedChains[0][0]
}

// principal returns the principal of cert.
func (m certIdentity) principal(cert *x509.Certificate) (*record.Principal, error) {
	var id string
	switch m {
	case "dns":
		if len(cert.DNSNames) > 0 {
			id = cert.DNSNames[0]
		}
	case "subject":
		id = cert.Subject.CommonName
	default:
		for _, u := range cert.URIs {
			if u.Scheme == "spiffe" && u.Host != "" {
				id = u.String()
				break
			}
		}
	}
	if id == "" {
		return nil, errNoCertIdentity
	}
	return &record.Principal{Kind: kindMTLS, ID: id, Name: id}, nil
}
