package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exampleFile is the example from the package documentation.
const exampleFile = `# version is required and must be 1.
version: 1
grants:
  - name: team-a
    callers: ["jwt:https://idp.example.com|alice", "mtls:spiffe://example.org/ns/a/sa/etl"]
    groups: ["forecast-team-a"]
    role_arns:
      - arn:aws:iam::123456789012:role/ForecastTeamA
      - arn:aws:iam::123456789012:role/team-a/*
    s3_prefixes:
      - s3://team-a-forecast/exports/
      - s3://shared-bucket/team-a/
    kms_key_arns:
      - arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
      - arn:aws:kms:us-east-1:123456789012:alias/team-a

  - name: analysts
    groups: ["forecast-analysts"]
    s3_prefixes: ["s3://shared-bucket/reports/"]
`

// parseFile writes src to a real file and parses what it reads back, the
// way the gateway does.
func parseFile(t *testing.T, src string) (*Policy, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Parse(data)
}

func mustParse(t *testing.T, src string) *Policy {
	t.Helper()
	p, err := parseFile(t, src)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func TestParseValid(t *testing.T) {
	p := mustParse(t, exampleFile)
	if len(p.grants) != 2 {
		t.Fatalf("grants = %d, want 2", len(p.grants))
	}
	if p.grants[0].name != "team-a" || p.grants[1].name != "analysts" {
		t.Fatalf("names = %q, %q", p.grants[0].name, p.grants[1].name)
	}
	for _, src := range []string{
		"version: 1\n",                                // no grants: valid, allows nothing
		"version: 1\ngrants: []\n",                    // same
		"version: 1\ngrants:\n",                       // null grants
		"---\nversion: 1\ngrants: []\n",               // explicit document start
		"version: 1\ngrants:\n  - callers: [alice]\n", // grant with no resources
		"version: 1\ngrants:\n  - groups: [g]\n    role_arns: &r ['*']\n  - groups: [h]\n    role_arns: *r\n", // aliases of values
	} {
		if _, err := parseFile(t, src); err != nil {
			t.Errorf("Parse(%q): %v", src, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	const head = "version: 1\ngrants:\n"
	tests := []struct {
		name string
		src  string
		want []string // substrings of the error
	}{
		{"empty file", "", []string{"empty", "version"}},
		{"comments only", "# nothing\n", []string{"empty"}},
		{"not a mapping", "- a\n", []string{"top level must be a mapping"}},
		{"syntax", "version: [1\n", []string{"policy:"}},
		{"two documents", "version: 1\n---\nversion: 1\n", []string{"second YAML document"}},
		{"missing version", "grants: []\n", []string{"version", "missing"}},
		{"null version", "version:\ngrants: []\n", []string{"version", "missing"}},
		{"version 2", "version: 2\n", []string{"version", `"2"`, "must be 1"}},
		{"version string", "version: \"1\"\n", []string{"version", "must be 1"}},
		{"version float", "version: 1.0\n", []string{"version", "must be 1"}},
		{"unknown top key", "version: 1\ngrant: []\n", []string{`unknown key "grant"`, "line 2"}},
		{"duplicate top key", "version: 1\nversion: 1\n", []string{"version", "repeated"}},
		{"grants not a list", "version: 1\ngrants: {a: 1}\n", []string{"grants", "list"}},
		{"grant not a mapping", head + "  - alice\n", []string{"grants[0]", "mapping"}},
		{"unknown grant key", head + "  - name: team-a\n    callers: [a]\n    rolearns: [x]\n",
			[]string{`grants[0] ("team-a")`, `unknown key "rolearns"`, "line 5"}},
		{"unknown key names index", head + "  - callers: [a]\n  - callers: [b]\n    s3_prefix: [x]\n",
			[]string{"grants[1]", `unknown key "s3_prefix"`}},
		{"merge key", head + "  - <<: {callers: [a]}\n", []string{"grants[0]", "merge"}},
		{"duplicate grant key", head + "  - callers: [a]\n    callers: [b]\n", []string{"grants[0]", "callers", "repeated"}},
		{"no callers or groups", head + "  - name: team-a\n    role_arns: ['*']\n",
			[]string{`grants[0] ("team-a")`, "callers", "groups", "empty"}},
		{"empty callers and groups", head + "  - callers: []\n    groups: []\n", []string{"grants[0]", "callers", "groups"}},
		{"callers scalar", head + "  - callers: alice\n", []string{"grants[0]", "callers", "list"}},
		{"name not string", head + "  - name: [x]\n    callers: [a]\n", []string{"grants[0]", "name", "string"}},
		{"null caller", head + "  - callers: [~]\n", []string{"grants[0]", "callers[0]"}},
		{"empty caller", head + "  - name: n\n    callers: ['']\n", []string{`grants[0] ("n")`, "callers[0]", "empty"}},
		{"blank group", head + "  - groups: [' g']\n", []string{"grants[0]", "groups[0]", "white space"}},
		{"wildcard caller", head + "  - callers: ['*']\n", []string{"grants[0]", "callers[0]", "wildcards"}},
		{"duplicate names", head + "  - name: a\n    callers: [x]\n  - name: a\n    callers: [y]\n",
			[]string{`grants[1] ("a")`, "name", "grants[0]"}},
		{"role star in middle", head + "  - name: t\n    callers: [a]\n    role_arns: ['arn:aws:iam::*:role/x']\n",
			[]string{`grants[0] ("t")`, "role_arns[0]", `"*"`}},
		{"role double star", head + "  - callers: [a]\n    role_arns: ['arn:aws:iam::1:role/**']\n",
			[]string{"grants[0]", "role_arns[0]", `"*"`}},
		{"role not an ARN", head + "  - callers: [a]\n    role_arns: [ForecastTeamA]\n",
			[]string{"grants[0]", "role_arns[0]", "ARN"}},
		{"role empty", head + "  - callers: [a]\n    role_arns: ['']\n", []string{"grants[0]", "role_arns[0]", "empty"}},
		{"role space", head + "  - callers: [a]\n    role_arns: ['arn:aws:iam::1:role/a ']\n", []string{"role_arns[0]", "white space"}},
		{"kms star in middle", head + "  - callers: [a]\n    kms_key_arns: ['arn:aws:kms:*:1:key/x']\n",
			[]string{"grants[0]", "kms_key_arns[0]", `"*"`}},
		{"kms second entry", head + "  - callers: [a]\n    kms_key_arns: ['*', 'alias/x']\n",
			[]string{"grants[0]", "kms_key_arns[1]", "ARN"}},
		{"s3 no scheme", head + "  - callers: [a]\n    s3_prefixes: ['b/team/']\n", []string{"grants[0]", "s3_prefixes[0]", "s3://"}},
		{"s3 upper scheme", head + "  - callers: [a]\n    s3_prefixes: ['S3://b/']\n", []string{"s3_prefixes[0]", "s3://"}},
		{"s3 no bucket", head + "  - callers: [a]\n    s3_prefixes: ['s3://']\n", []string{"s3_prefixes[0]", "bucket"}},
		{"s3 no bucket slash", head + "  - callers: [a]\n    s3_prefixes: ['s3:///x/']\n", []string{"s3_prefixes[0]", "bucket"}},
		{"s3 no trailing slash", head + "  - name: t\n    callers: [a]\n    s3_prefixes: ['s3://b/', 's3://b/team']\n",
			[]string{`grants[0] ("t")`, "s3_prefixes[1]", `must end with "/"`, "team-other"}},
		{"s3 wildcard", head + "  - callers: [a]\n    s3_prefixes: ['s3://b/*']\n", []string{"s3_prefixes[0]", "wildcards"}},
		{"s3 bare star", head + "  - callers: [a]\n    s3_prefixes: ['*']\n", []string{"s3_prefixes[0]"}},
		{"s3 dotdot", head + "  - callers: [a]\n    s3_prefixes: ['s3://b/a/../']\n", []string{"s3_prefixes[0]", `".."`}},
		{"s3 empty segment", head + "  - callers: [a]\n    s3_prefixes: ['s3://b/a//']\n", []string{"s3_prefixes[0]", "empty path segment"}},
		{"too big", "version: 1\n#" + strings.Repeat("x", maxPolicySize) + "\n", []string{"limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseFile(t, tt.src)
			if err == nil {
				t.Fatalf("Parse succeeded (%d grants), want error", len(p.grants))
			}
			if p != nil {
				t.Errorf("Parse returned a policy with its error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindRole: "IAM role", KindS3Path: "S3 path", KindKMSKey: "KMS key", 0: "Kind(0)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

const checkFile = `version: 1
grants:
  - name: team-a
    callers: ["jwt:https://idp.example.com|alice"]
    groups: ["forecast-team-a"]
    role_arns:
      - arn:aws:iam::123456789012:role/ForecastTeamA
      - arn:aws:iam::123456789012:role/team-a/*
    s3_prefixes:
      - s3://team-a-forecast/exports/
      - s3://shared-bucket/team/
      - s3://bucket/
    kms_key_arns:
      - arn:aws:kms:us-east-1:123456789012:alias/team-a
  - name: team-a-keys
    groups: ["forecast-team-a-keys"]
    kms_key_arns:
      - arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
  - name: whole-bucket-no-slash
    callers: ["bob"]
    s3_prefixes: ["s3://bob-bucket"]
  - name: admin
    callers: ["root"]
    role_arns: ["*"]
    kms_key_arns: ["*"]
`

func TestCheck(t *testing.T) {
	p := mustParse(t, checkFile)
	alice := Principal{ID: "jwt:https://idp.example.com|alice"}
	teamA := Principal{ID: "carol", Groups: []string{"other", "forecast-team-a"}}
	both := Principal{ID: "dave", Groups: []string{"forecast-team-a", "forecast-team-a-keys"}}
	keysOnly := Principal{ID: "erin", Groups: []string{"forecast-team-a-keys"}}
	bob := Principal{ID: "bob"}
	root := Principal{ID: "root"}
	stranger := Principal{ID: "mallory", Groups: []string{"Forecast-Team-A"}}

	const (
		roleA     = "arn:aws:iam::123456789012:role/ForecastTeamA"
		keyARN    = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
		aliasTeam = "arn:aws:kms:us-east-1:123456789012:alias/team-a"
	)
	role := func(v string) Use { return Use{Field: "role_arn", Kind: KindRole, Value: v} }
	s3 := func(v string) Use { return Use{Field: "s3_config.path", Kind: KindS3Path, Value: v} }
	kms := func(v string) Use { return Use{Field: "kms_key_arn", Kind: KindKMSKey, Value: v} }

	tests := []struct {
		name  string
		who   Principal
		use   Use
		allow bool
	}{
		{"exact role by id", alice, role(roleA), true},
		{"exact role differs in case", alice, role("arn:aws:iam::123456789012:role/forecastteama"), false},
		{"exact role is not a prefix", alice, role(roleA + "2"), false},
		{"other role", alice, role("arn:aws:iam::123456789012:role/Admin"), false},
		{"wildcard role", alice, role("arn:aws:iam::123456789012:role/team-a/etl"), true},
		{"wildcard role deeper", alice, role("arn:aws:iam::123456789012:role/team-a/x/y"), true},
		{"wildcard role boundary", alice, role("arn:aws:iam::123456789012:role/team-ab"), false},
		{"wildcard role other account", alice, role("arn:aws:iam::999999999999:role/team-a/etl"), false},
		{"bare star role", root, role("arn:aws:iam::999999999999:role/Anything"), true},
		{"bare star does not grant s3", root, s3("s3://bucket/x"), false},
		{"group match", teamA, role(roleA), true},
		{"group compared exactly", stranger, role(roleA), false},
		{"unknown caller", Principal{ID: "nobody"}, role(roleA), false},
		{"empty principal", Principal{}, role(roleA), false},
		{"prefix path", alice, s3("s3://team-a-forecast/exports/2024/out.csv"), true},
		{"prefix itself", alice, s3("s3://team-a-forecast/exports/"), true},
		{"prefix without slash", alice, s3("s3://team-a-forecast/exports"), false},
		{"prefix boundary team-evil", alice, s3("s3://shared-bucket/team-evil/x"), false},
		{"prefix boundary team", alice, s3("s3://shared-bucket/team/x"), true},
		{"outside prefix", alice, s3("s3://team-a-forecast/imports/x"), false},
		{"whole bucket", alice, s3("s3://bucket/any/where.csv"), true},
		{"whole bucket root", alice, s3("s3://bucket/"), true},
		{"whole bucket no slash", alice, s3("s3://bucket"), true},
		{"bucket-evil", alice, s3("s3://bucket-evil/x"), false},
		{"bucket-evil bare", alice, s3("s3://bucket-evil"), false},
		{"bucket prefix of name", alice, s3("s3://buck/x"), false},
		{"bucket case", alice, s3("s3://Bucket/x"), false},
		{"scheme case", alice, s3("S3://bucket/x"), false},
		{"no scheme", alice, s3("bucket/x"), false},
		{"https url", alice, s3("https://bucket.s3.amazonaws.com/x"), false},
		{"dotdot escape", alice, s3("s3://team-a-forecast/exports/../secret/"), false},
		{"dot segment", alice, s3("s3://bucket/./x"), false},
		{"dotted name is fine", alice, s3("s3://bucket/.hidden/x"), true},
		{"grant without slash is whole bucket", bob, s3("s3://bob-bucket/x"), true},
		{"grant without slash boundary", bob, s3("s3://bob-bucket-evil/x"), false},
		{"kms alias granted", alice, kms(aliasTeam), true},
		{"kms key behind alias not granted", alice, kms(keyARN), false},
		{"kms key granted", keysOnly, kms(keyARN), true},
		{"kms alias not granted by key", keysOnly, kms(aliasTeam), false},
		{"union: alias from one grant", both, kms(aliasTeam), true},
		{"union: key from the other", both, kms(keyARN), true},
		{"union: role from the first", both, role(roleA), true},
		{"kms grant does not give roles", keysOnly, role(roleA), false},
		{"role pattern does not give kms", alice, kms(roleA), false},
		{"empty value", root, role(""), false},
		{"unknown kind", root, Use{Field: "x", Kind: 0, Value: roleA}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Check(tt.who, tt.use)
			if tt.allow && err != nil {
				t.Fatalf("Check(%+v, %+v) = %v, want allowed", tt.who, tt.use, err)
			}
			if !tt.allow {
				var d *Denial
				if !errors.As(err, &d) {
					t.Fatalf("Check(%+v, %+v) = %v, want *Denial", tt.who, tt.use, err)
				}
				want := Denial{Field: tt.use.Field, Kind: tt.use.Kind, Value: tt.use.Value, Caller: tt.who.ID}
				if *d != want {
					t.Fatalf("denial = %+v, want %+v", *d, want)
				}
			}
		})
	}
}

func TestCheckNilAndZeroPolicy(t *testing.T) {
	u := Use{Field: "role_arn", Kind: KindRole, Value: "arn:aws:iam::1:role/x"}
	who := Principal{ID: "root", Groups: []string{"admins"}}
	for name, p := range map[string]*Policy{"nil": nil, "zero": {}} {
		if err := p.Check(who, u); err == nil {
			t.Errorf("%s policy allowed %+v", name, u)
		}
		if err := p.Check(who); err != nil {
			t.Errorf("%s policy with no uses = %v, want nil", name, err)
		}
	}
	var f *File
	if err := f.Check(who, u); err == nil {
		t.Error("nil File allowed a use")
	}
}

func TestCheckFirstFailingUse(t *testing.T) {
	p := mustParse(t, checkFile)
	alice := Principal{ID: "jwt:https://idp.example.com|alice", Groups: []string{"g"}}
	uses := []Use{
		{Field: "role_arn", Kind: KindRole, Value: "arn:aws:iam::123456789012:role/ForecastTeamA"},
		{Field: "destination.s3_config.path", Kind: KindS3Path, Value: "s3://team-a-forecast/exports/x/"},
		{Field: "destination.s3_config.kms_key_arn", Kind: KindKMSKey, Value: "arn:aws:kms:us-east-1:123456789012:key/other"},
		{Field: "destination.s3_config.role_arn", Kind: KindRole, Value: "arn:aws:iam::123456789012:role/Admin"},
	}
	if err := p.Check(alice, uses[:2]...); err != nil {
		t.Fatalf("allowed uses: %v", err)
	}
	err := p.Check(alice, uses...)
	var d *Denial
	if !errors.As(err, &d) {
		t.Fatalf("Check = %v, want *Denial", err)
	}
	want := Denial{Field: "destination.s3_config.kms_key_arn", Kind: KindKMSKey, Value: "arn:aws:kms:us-east-1:123456789012:key/other", Caller: alice.ID}
	if *d != want {
		t.Fatalf("denial = %+v, want %+v (the first failing use)", *d, want)
	}
	// Order matters: reversed, the role is reported.
	err = p.Check(alice, uses[3], uses[2])
	if !errors.As(err, &d) || d.Field != "destination.s3_config.role_arn" {
		t.Fatalf("reversed: Check = %v, want the role denial", err)
	}
}

func TestDenialError(t *testing.T) {
	tests := []struct {
		d    Denial
		want string
	}{
		{
			Denial{Field: "destination.s3_config.role_arn", Kind: KindRole, Value: "arn:aws:iam::123456789012:role/Admin", Caller: "jwt:https://idp.example.com|alice"},
			`destination.s3_config.role_arn: caller "jwt:https://idp.example.com|alice" may not use IAM role "arn:aws:iam::123456789012:role/Admin" (not granted by the policy file)`,
		},
		{
			Denial{Field: "data_source.s3_config.path", Kind: KindS3Path, Value: "s3://b/x", Caller: "bob"},
			`data_source.s3_config.path: caller "bob" may not use S3 path "s3://b/x" (not granted by the policy file)`,
		},
		{
			Denial{Kind: KindKMSKey, Value: "k", Caller: ""},
			`caller "" may not use KMS key "k" (not granted by the policy file)`,
		},
	}
	for _, tt := range tests {
		if got := tt.d.Error(); got != tt.want {
			t.Errorf("Error() =\n%s\nwant\n%s", got, tt.want)
		}
	}
}
