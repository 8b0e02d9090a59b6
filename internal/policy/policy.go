package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// maxPolicySize bounds what Parse (and File) will read: a policy file is a
// few kilobytes, and a runaway file must not cost the gateway its memory.
const maxPolicySize = 1 << 20

// Principal is who asks: the caller id and groups the transport
// authenticated. The policy matches them exactly against callers and groups.
type Principal struct {
	ID     string
	Groups []string
}

// Kind of resource a create uses. Each kind has its own list in a grant and
// its own matching rule, so a grant for a role never allows a KMS key that
// happens to share its text.
type Kind int

// The kinds of resource a create can hand the gateway's AWS identity. The
// zero Kind is no kind and is never allowed.
const (
	KindRole   Kind = iota + 1 // an IAM role ARN Forecast will assume (role_arns)
	KindS3Path                 // an s3:// path Forecast will read or write (s3_prefixes)
	KindKMSKey                 // a KMS key or alias ARN Forecast will use (kms_key_arns)
)

// String names the kind as it appears in denials.
func (k Kind) String() string {
	switch k {
	case KindRole:
		return "IAM role"
	case KindS3Path:
		return "S3 path"
	case KindKMSKey:
		return "KMS key"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Use is one resource a request uses, with the request field that names it
// (snake_case path such as "destination.s3_config.role_arn"), so that a
// denial can point the caller at the exact field to fix.
type Use struct {
	Field string
	Kind  Kind
	Value string
}

// Policy is a parsed file. Its zero value / nil allows nothing, so a
// gateway that failed to get a policy fails closed. A Policy is immutable
// and safe for concurrent use.
type Policy struct {
	grants []grant
}

type grant struct {
	name    string
	callers map[string]struct{}
	groups  map[string]struct{}
	roles   []arnPattern
	s3      []string // normalised prefixes, each "s3://bucket/" or "s3://bucket/key/"
	kms     []arnPattern
}

// arnPattern is one role_arns or kms_key_arns entry.
type arnPattern struct {
	any    bool   // bare "*"
	prefix bool   // s is what precedes a trailing "*"
	s      string // the exact ARN, or the prefix
}

func (a arnPattern) match(v string) bool {
	switch {
	case a.any:
		return true
	case a.prefix:
		return strings.HasPrefix(v, a.s)
	}
	return v == a.s
}

func (g *grant) matches(who Principal) bool {
	if who.ID != "" {
		if _, ok := g.callers[who.ID]; ok {
			return true
		}
	}
	for _, grp := range who.Groups {
		if _, ok := g.groups[grp]; ok {
			return true
		}
	}
	return false
}

func (g *grant) allows(u Use) bool {
	switch u.Kind {
	case KindRole:
		return matchARN(g.roles, u.Value)
	case KindKMSKey:
		return matchARN(g.kms, u.Value)
	case KindS3Path:
		v, ok := normS3Value(u.Value)
		if !ok {
			return false
		}
		for _, p := range g.s3 {
			if strings.HasPrefix(v, p) {
				return true
			}
		}
	}
	return false
}

func matchARN(ps []arnPattern, v string) bool {
	for _, p := range ps {
		if p.match(v) {
			return true
		}
	}
	return false
}

// normS3Value checks a requested S3 path and returns it in the form the
// prefixes are compared with: a bare "s3://bucket" gains its "/" so that a
// whole-bucket grant allows it. Paths without a bucket, and paths whose key
// holds "." or ".." segments, are refused.
func normS3Value(v string) (string, bool) {
	rest, ok := strings.CutPrefix(v, "s3://")
	if !ok {
		return "", false
	}
	bucket, key, hasSlash := strings.Cut(rest, "/")
	if bucket == "" || bucket == "." || bucket == ".." {
		return "", false
	}
	if !hasSlash {
		return v + "/", true
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "." || seg == ".." {
			return "", false
		}
	}
	return v, true
}

// Check returns nil when every use is allowed for who under p, else a
// *Denial for the first use not allowed (in the order given), so the caller
// learns which request field to fix. A use is allowed when any grant who
// matches allows it; a nil or zero Policy allows nothing.
func (p *Policy) Check(who Principal, uses ...Use) error {
	if len(uses) == 0 {
		return nil
	}
	var buf [8]*grant
	matched := buf[:0]
	if p != nil {
		for i := range p.grants {
			if p.grants[i].matches(who) {
				matched = append(matched, &p.grants[i])
			}
		}
	}
	for _, u := range uses {
		ok := false
		if u.Value != "" {
			for _, g := range matched {
				if g.allows(u) {
					ok = true
					break
				}
			}
		}
		if !ok {
			return &Denial{Field: u.Field, Kind: u.Kind, Value: u.Value, Caller: who.ID}
		}
	}
	return nil
}

// Denial says which field named what the caller may not use. The server
// turns it into PERMISSION_DENIED; errors.As finds it.
type Denial struct {
	Field  string // request field, e.g. "destination.s3_config.role_arn"
	Kind   Kind
	Value  string // the refused role ARN, S3 path or KMS key
	Caller string // Principal.ID of the caller
}

// Error reads, for example:
//
//	destination.s3_config.role_arn: caller "jwt:https://idp.example.com|alice" may not use IAM role "arn:aws:iam::123456789012:role/Admin" (not granted by the policy file)
func (d *Denial) Error() string {
	var b strings.Builder
	if d.Field != "" {
		b.WriteString(d.Field)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "caller %q may not use %s %q (not granted by the policy file)", d.Caller, d.Kind, d.Value)
	return b.String()
}

// rawFile and rawGrant are the file as yaml.v3 decodes it.
type rawFile struct {
	Version int        `yaml:"version"`
	Grants  []rawGrant `yaml:"grants"`
}

type rawGrant struct {
	Name       string   `yaml:"name"`
	Callers    []string `yaml:"callers"`
	Groups     []string `yaml:"groups"`
	RoleARNs   []string `yaml:"role_arns"`
	S3Prefixes []string `yaml:"s3_prefixes"`
	KMSKeyARNs []string `yaml:"kms_key_arns"`
}

var (
	topKeys   = []string{"version", "grants"}
	grantKeys = []string{"name", "callers", "groups", "role_arns", "s3_prefixes", "kms_key_arns"}
)

// Parse reads a policy file (see the package documentation for its format
// and rules). It refuses the whole file on any error, naming the grant and
// key at fault, because a policy applied in part could allow what its author
// did not mean to.
func Parse(data []byte) (p *Policy, err error) {
	// A policy reload must never take the gateway down, whatever the
	// YAML library does with a hostile file.
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("policy: YAML decoder failed: %v", r)
		}
	}()
	if len(data) > maxPolicySize {
		return nil, fmt.Errorf("policy: file is %d bytes; the limit is %d", len(data), maxPolicySize)
	}
	root, err := parseRoot(data)
	if err != nil {
		return nil, err
	}
	// Walk the tree first: it gives errors that name the grant and key.
	if err := checkTop(root); err != nil {
		return nil, err
	}
	// Then decode strictly; after the walk this only fails on what the walk
	// does not look at, and it is what the policy is built from.
	var rf rawFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if rf.Version != 1 {
		return nil, fmt.Errorf("policy: version: unsupported value %d; must be 1", rf.Version)
	}
	pol := &Policy{grants: make([]grant, 0, len(rf.Grants))}
	names := map[string]int{}
	for i, rg := range rf.Grants {
		label := grantLabel(i, rg.Name)
		if rg.Name != "" {
			if j, dup := names[rg.Name]; dup {
				return nil, fmt.Errorf("policy: %s: name: also used by grants[%d]; grant names must be unique", label, j)
			}
			names[rg.Name] = i
		}
		g, err := buildGrant(rg)
		if err != nil {
			return nil, fmt.Errorf("policy: %s: %w", label, err)
		}
		pol.grants = append(pol.grants, g)
	}
	return pol, nil
}

func grantLabel(i int, name string) string {
	if name == "" {
		return fmt.Sprintf("grants[%d]", i)
	}
	return fmt.Sprintf("grants[%d] (%q)", i, name)
}

func parseRoot(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("policy: file is empty; version is required and must be 1")
		}
		return nil, fmt.Errorf("policy: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		return nil, fmt.Errorf("policy: line %d: a second YAML document; the file must hold exactly one", extra.Line)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, errors.New("policy: not a YAML document")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("policy: line %d: the top level must be a mapping with version and grants", root.Line)
	}
	return root, nil
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

// mappingKeys checks a mapping's keys against allowed and returns its values
// by key. where prefixes errors ("" at the top level).
func mappingKeys(m *yaml.Node, allowed []string, where string) (map[string]*yaml.Node, error) {
	vals := map[string]*yaml.Node{}
	lines := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("policy: %sline %d: keys must be plain strings", where, k.Line)
		}
		key := k.Value
		if key == "<<" && k.Tag == "!!merge" {
			return nil, fmt.Errorf("policy: %sline %d: YAML merge keys (<<) are not supported", where, k.Line)
		}
		if !contains(allowed, key) {
			return nil, fmt.Errorf("policy: %sunknown key %q (line %d); allowed keys: %s", where, key, k.Line, strings.Join(allowed, ", "))
		}
		if l, dup := lines[key]; dup {
			return nil, fmt.Errorf("policy: %s%s: key repeated (lines %d and %d)", where, key, l, k.Line)
		}
		lines[key] = k.Line
		vals[key] = resolve(m.Content[i+1])
	}
	return vals, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func checkTop(root *yaml.Node) error {
	vals, err := mappingKeys(root, topKeys, "")
	if err != nil {
		return err
	}
	v, ok := vals["version"]
	if !ok || isNull(v) {
		return errors.New("policy: version: missing; version is required and must be 1")
	}
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" {
		return fmt.Errorf("policy: version: unsupported value %q (line %d); must be 1", v.Value, v.Line)
	}
	if n, err := strconv.ParseInt(v.Value, 0, 64); err != nil || n != 1 {
		return fmt.Errorf("policy: version: unsupported value %q (line %d); must be 1", v.Value, v.Line)
	}
	gs, ok := vals["grants"]
	if !ok || isNull(gs) {
		return nil
	}
	if gs.Kind != yaml.SequenceNode {
		return fmt.Errorf("policy: grants: must be a list of grants (line %d)", gs.Line)
	}
	for i, item := range gs.Content {
		if err := checkGrant(i, resolve(item)); err != nil {
			return err
		}
	}
	return nil
}

func checkGrant(i int, g *yaml.Node) error {
	if g == nil || g.Kind != yaml.MappingNode {
		line := 0
		if g != nil {
			line = g.Line
		}
		return fmt.Errorf("policy: grants[%d]: must be a mapping (line %d)", i, line)
	}
	// Find the name first so every later error can carry it.
	name := ""
	for j := 0; j+1 < len(g.Content); j += 2 {
		if k := g.Content[j]; k.Kind == yaml.ScalarNode && k.Value == "name" {
			if v := resolve(g.Content[j+1]); v != nil && v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" {
				name = v.Value
			}
		}
	}
	label := grantLabel(i, name)
	vals, err := mappingKeys(g, grantKeys, label+": ")
	if err != nil {
		return err
	}
	if v, ok := vals["name"]; ok && !isNull(v) && (v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str") {
		return fmt.Errorf("policy: %s: name: must be a string (line %d)", label, v.Line)
	}
	for _, key := range grantKeys[1:] {
		v, ok := vals[key]
		if !ok || isNull(v) {
			continue
		}
		if v.Kind != yaml.SequenceNode {
			return fmt.Errorf("policy: %s: %s: must be a list of strings (line %d)", label, key, v.Line)
		}
		for j, e := range v.Content {
			if e = resolve(e); e == nil || e.Kind != yaml.ScalarNode || isNull(e) {
				return fmt.Errorf("policy: %s: %s[%d]: must be a non-empty string (line %d)", label, key, j, v.Line)
			}
		}
	}
	return nil
}

func buildGrant(rg rawGrant) (grant, error) {
	g := grant{
		name:    rg.Name,
		callers: map[string]struct{}{},
		groups:  map[string]struct{}{},
	}
	if len(rg.Callers) == 0 && len(rg.Groups) == 0 {
		return g, errors.New("callers, groups: both empty; a grant must name at least one caller or group")
	}
	for _, l := range []struct {
		key  string
		list []string
		set  map[string]struct{}
	}{{"callers", rg.Callers, g.callers}, {"groups", rg.Groups, g.groups}} {
		for j, s := range l.list {
			if err := checkName(s); err != nil {
				return g, fmt.Errorf("%s[%d] %q: %w", l.key, j, s, err)
			}
			l.set[s] = struct{}{}
		}
	}
	var err error
	if g.roles, err = arnPatterns("role_arns", rg.RoleARNs); err != nil {
		return g, err
	}
	if g.kms, err = arnPatterns("kms_key_arns", rg.KMSKeyARNs); err != nil {
		return g, err
	}
	for j, s := range rg.S3Prefixes {
		p, err := parseS3Prefix(s)
		if err != nil {
			return g, fmt.Errorf("s3_prefixes[%d] %q: %w", j, s, err)
		}
		g.s3 = append(g.s3, p)
	}
	return g, nil
}

func checkName(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case strings.TrimSpace(s) != s:
		return errors.New("leading or trailing white space")
	case strings.ContainsFunc(s, unicode.IsControl):
		return errors.New("control character")
	case s == "*":
		return errors.New("wildcards are not supported; list the ids, or use groups")
	}
	return nil
}

func hasSpaceOrControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

func arnPatterns(key string, list []string) ([]arnPattern, error) {
	var out []arnPattern
	for j, s := range list {
		p, err := parseARNPattern(s)
		if err != nil {
			return nil, fmt.Errorf("%s[%d] %q: %w", key, j, s, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parseARNPattern(s string) (arnPattern, error) {
	switch {
	case s == "":
		return arnPattern{}, errors.New("empty")
	case hasSpaceOrControl(s):
		return arnPattern{}, errors.New("white space or control character")
	case s == "*":
		return arnPattern{any: true}, nil
	}
	if i := strings.IndexByte(s, '*'); i >= 0 && i != len(s)-1 {
		return arnPattern{}, errors.New(`"*" is only allowed once, as the last character (or alone, meaning any)`)
	}
	if !strings.HasPrefix(s, "arn:") {
		return arnPattern{}, errors.New(`must be an ARN (start with "arn:") or "*"`)
	}
	if p, ok := strings.CutSuffix(s, "*"); ok {
		return arnPattern{prefix: true, s: p}, nil
	}
	return arnPattern{s: s}, nil
}

// parseS3Prefix validates an s3_prefixes entry and normalises it to
// "s3://bucket/" (whole bucket) or "s3://bucket/key/".
func parseS3Prefix(s string) (string, error) {
	if hasSpaceOrControl(s) {
		return "", errors.New("white space or control character")
	}
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return "", errors.New(`must start with "s3://"`)
	}
	if strings.Contains(s, "*") {
		return "", errors.New(`wildcards are not supported; a bucket, or a prefix ending in "/", allows everything under it`)
	}
	bucket, key, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return "", errors.New("names no bucket")
	}
	if bucket == "." || bucket == ".." {
		return "", errors.New("invalid bucket name")
	}
	if key == "" {
		return "s3://" + bucket + "/", nil
	}
	if !strings.HasSuffix(key, "/") {
		return "", fmt.Errorf(`must end with "/": "s3://%s/%s" would also allow "s3://%s/%s-other/"; write "%s/"`, bucket, key, bucket, key, s)
	}
	for seg := range strings.SplitSeq(strings.TrimSuffix(key, "/"), "/") {
		switch seg {
		case "":
			return "", errors.New(`empty path segment ("//")`)
		case ".", "..":
			return "", fmt.Errorf("%q path segment", seg)
		}
	}
	return s, nil
}
