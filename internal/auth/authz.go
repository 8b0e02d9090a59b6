package auth

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// AuthzFile maps mTLS identities to scopes and groups. It is a YAML file:
//
//	callers:
//	  "spiffe://example.org/ns/a/sa/b": {scopes: [forecast.read, forecast.write], groups: [planning]}
//	  "dev-client": {scopes: [forecast.read]}
//
// The file is strict: keys other than callers, scopes and groups, scopes
// other than the API's, duplicate identities and more than one document are
// errors naming the line. It is re-read lazily by Lookup (at most every 2s,
// when its identity, size or modification time changed); a changed file that
// does not parse keeps the previous rules and is logged at warn. No
// goroutine is started. An AuthzFile is safe for concurrent use.
type AuthzFile struct {
	r *reloader[authzRules]
}

type authzRules struct {
	callers map[string]authzEntry
}

type authzEntry struct {
	scopes, groups []string
}

// LoadAuthzFile reads and checks the authz file at path. logger (default
// slog.Default()) receives reloads and refused new versions.
func LoadAuthzFile(path string, logger *slog.Logger) (*AuthzFile, error) {
	return loadAuthzFile(path, logger, time.Now, defaultFileCheckInterval)
}

func loadAuthzFile(path string, logger *slog.Logger, now func() time.Time, interval time.Duration) (*AuthzFile, error) {
	if path == "" {
		return nil, errors.New("auth: authz file: no path")
	}
	if logger == nil {
		logger = slog.Default()
	}
	a := &AuthzFile{r: &reloader[authzRules]{
		path:     path,
		what:     "authz file",
		interval: interval,
		now:      now,
		logger:   logger,
		parse:    parseAuthz,
		loaded:   func(r *authzRules) []any { return []any{"callers", len(r.callers)} },
	}}
	if err := a.r.load(); err != nil {
		return nil, err
	}
	return a, nil
}

// Lookup returns the scopes and groups granted to identity (sorted, new
// slices), and whether the identity is listed at all. Identities are
// matched exactly.
func (a *AuthzFile) Lookup(identity string) (scopes, groups []string, ok bool) {
	e, ok := a.r.get().callers[identity]
	if !ok || identity == "" {
		return nil, nil, false
	}
	return slices.Clone(e.scopes), slices.Clone(e.groups), true
}

// CallerFromTLS returns the mTLS caller of a connection whose client
// certificate the TLS stack verified (tls.Config.ClientAuth
// VerifyClientCertIfGiven or RequireAndVerifyClientCert). It returns
// ErrNoCredentials when the client sent no certificate, and a
// *CredentialError when the certificate was not verified against the
// configured CAs or none of its identities (see CertIdentities) is in the
// file. For gRPC pass &credentials.TLSInfo.State; for HTTP, r.TLS.
func (a *AuthzFile) CallerFromTLS(cs *tls.ConnectionState) (*Caller, error) {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return nil, ErrNoCredentials
	}
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return nil, credErr("client certificate not verified", errors.New("no verified chain: the TLS config must verify client certificates"))
	}
	ids := CertIdentities(cs.VerifiedChains[0][0])
	if len(ids) == 0 {
		return nil, credErr("no identity in client certificate", nil)
	}
	for _, id := range ids {
		if scopes, groups, ok := a.Lookup(id); ok {
			return &Caller{ID: "mtls:" + id, Kind: KindMTLS, Subject: id, Scopes: scopes, Groups: groups}, nil
		}
	}
	return nil, credErr("unknown client identity", fmt.Errorf("no rule for %q", ids))
}

// CertIdentities returns the identities of a client certificate, in the
// order they are tried: its SPIFFE ID alone if it has one (a URI SAN with
// scheme spiffe; a certificate with several is refused: an X.509-SVID has
// exactly one); otherwise its DNS names; otherwise, when it has no DNS or
// URI SAN, its subject CN.
func CertIdentities(cert *x509.Certificate) []string {
	if cert == nil {
		return nil
	}
	var spiffe []string
	for _, u := range cert.URIs {
		if strings.EqualFold(u.Scheme, "spiffe") {
			spiffe = append(spiffe, u.String())
		}
	}
	switch {
	case len(spiffe) == 1:
		return spiffe
	case len(spiffe) > 1:
		return nil
	case len(cert.DNSNames) > 0:
		var ids []string
		for _, n := range cert.DNSNames {
			if n != "" {
				ids = append(ids, n)
			}
		}
		return ids
	case len(cert.URIs) == 0 && cert.Subject.CommonName != "":
		return []string{cert.Subject.CommonName}
	}
	return nil
}

// parseAuthz parses the YAML of an authz file, walking its nodes so every
// error names its line.
func parseAuthz(data []byte) (*authzRules, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty file")
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		line := extra.Line
		if len(extra.Content) > 0 {
			line = extra.Content[0].Line
		}
		return nil, fmt.Errorf("line %d: only one YAML document is allowed", line)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, errors.New("empty file")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: expected a mapping with the key callers", root.Line)
	}
	rules := &authzRules{callers: map[string]authzEntry{}}
	var sawCallers bool
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if key, err := scalarString(k); err != nil || key != "callers" {
			return nil, fmt.Errorf("line %d: unknown key %s (allowed: callers)", k.Line, quoteNode(k))
		}
		if sawCallers {
			return nil, fmt.Errorf("line %d: callers given twice", k.Line)
		}
		sawCallers = true
		if v.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("line %d: callers must be a mapping of identity to {scopes, groups} (use {} for none)", v.Line)
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			idNode, entryNode := v.Content[j], v.Content[j+1]
			id, err := scalarString(idNode)
			if err != nil {
				return nil, fmt.Errorf("line %d: identity: %w", idNode.Line, err)
			}
			if id == "" || strings.TrimSpace(id) != id || !validName(id) {
				return nil, fmt.Errorf("line %d: identity %q is empty, has surrounding spaces or control characters", idNode.Line, id)
			}
			if _, dup := rules.callers[id]; dup {
				return nil, fmt.Errorf("line %d: identity %q given twice", idNode.Line, id)
			}
			e, err := parseAuthzEntry(entryNode)
			if err != nil {
				return nil, err
			}
			rules.callers[id] = e
		}
	}
	if !sawCallers {
		return nil, fmt.Errorf("line %d: no callers key", root.Line)
	}
	return rules, nil
}

func parseAuthzEntry(n *yaml.Node) (authzEntry, error) {
	var e authzEntry
	if n.Kind != yaml.MappingNode {
		return e, fmt.Errorf("line %d: expected {scopes: [...], groups: [...]}", n.Line)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key, err := scalarString(k)
		if err != nil || key != "scopes" && key != "groups" {
			return e, fmt.Errorf("line %d: unknown key %s (allowed: scopes, groups)", k.Line, quoteNode(k))
		}
		if seen[key] {
			return e, fmt.Errorf("line %d: %s given twice", k.Line, key)
		}
		seen[key] = true
		if v.Kind != yaml.SequenceNode {
			return e, fmt.Errorf("line %d: %s must be a list", v.Line, key)
		}
		var list []string
		for _, item := range v.Content {
			s, err := scalarString(item)
			if err != nil {
				return e, fmt.Errorf("line %d: %s: %w", item.Line, key, err)
			}
			switch {
			case key == "scopes" && !slices.Contains(knownScopes, s):
				return e, fmt.Errorf("line %d: unknown scope %q (known: %s)", item.Line, s, strings.Join(knownScopes, ", "))
			case key == "groups" && !validName(s):
				return e, fmt.Errorf("line %d: group %q is empty or has control characters", item.Line, s)
			}
			list = append(list, s)
		}
		if key == "scopes" {
			e.scopes = sortedSet(list)
		} else {
			e.groups = sortedSet(list)
		}
	}
	return e, nil
}

// scalarString returns the value of a string scalar (plain or quoted).
func scalarString(n *yaml.Node) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return "", errors.New("expected a string")
	}
	return n.Value, nil
}

func quoteNode(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return fmt.Sprintf("%q", n.Value)
	}
	return "(not a string)"
}
