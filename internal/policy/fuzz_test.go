package policy

import (
	"errors"
	"testing"
)

// FuzzParse: Parse never panics, and a policy it accepts never panics in
// Check. It also holds the one property true of every policy: a principal
// with no id and no groups matches no grant, so is refused everything.
func FuzzParse(f *testing.F) {
	f.Add([]byte(exampleFile), "jwt:https://idp.example.com|alice", "forecast-team-a", "s3://team-a-forecast/exports/x")
	f.Add([]byte(checkFile), "root", "forecast-team-a-keys", "arn:aws:iam::123456789012:role/team-a/x")
	f.Add([]byte("version: 1\ngrants:\n  - groups: [g]\n    role_arns: ['*']\n    s3_prefixes: ['s3://b']\n"), "", "g", "s3://b")
	f.Add([]byte("version: 1\ngrants:\n  - &a {callers: [x]}\n  - *a\n"), "x", "", "")
	f.Add([]byte("version: 1\ngrants: [{<<: {callers: [x]}}]\n"), "x", "", "")
	f.Add([]byte("a: &a [*a]\n"), "", "", "")
	f.Add([]byte("version: 0x1\n---\n"), "", "", "s3://b/../x")
	f.Fuzz(func(t *testing.T, data []byte, id, group, value string) {
		p, err := Parse(data)
		if err != nil {
			if p != nil {
				t.Fatal("Parse returned a policy with an error")
			}
			return
		}
		who := Principal{ID: id, Groups: []string{group, ""}}
		uses := []Use{
			{Field: "role_arn", Kind: KindRole, Value: value},
			{Field: "path", Kind: KindS3Path, Value: value},
			{Field: "kms_key_arn", Kind: KindKMSKey, Value: value},
			{Field: "x", Kind: Kind(7), Value: value},
		}
		for _, u := range uses {
			_ = p.Check(who, u)
			var d *Denial
			if err := p.Check(Principal{}, u); !errors.As(err, &d) || d.Value != value || d.Kind != u.Kind {
				t.Fatalf("empty principal: Check(%+v) = %v, want a denial", u, err)
			}
			if err := p.Check(who, u); u.Kind == Kind(7) && err == nil {
				t.Fatal("unknown kind allowed")
			}
		}
		if err := p.Check(who, uses...); err == nil {
			t.Fatal("a use of an unknown kind was allowed")
		}
	})
}
