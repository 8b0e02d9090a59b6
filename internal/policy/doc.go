// Package policy holds the confused-deputy rules for job creation.
//
// The gateway creates Forecast jobs with its own AWS identity. Without a
// check, any caller allowed to write could hand it any IAM role for Forecast
// to assume, any S3 location to read from or write to, and any KMS key to
// encrypt with, and so use the gateway's authority over resources the caller
// has no business touching. A policy file says, per caller or group, which
// IAM role ARNs, S3 path prefixes and KMS keys its creates may use. The
// server passes every resource a Create request names (with the request
// field that names it) to [Policy.Check] or [File.Check] and refuses the
// request on a [*Denial].
//
// # File format
//
// The file is YAML and is given to the gateway with --policy-file:
//
//	# version is required and must be 1.
//	version: 1
//	grants:
//	  - name: team-a                     # optional, shown in logs and errors; unique when set
//	    # A caller matches the grant when its id is listed here ...
//	    callers: ["jwt:https://idp.example.com|alice", "mtls:spiffe://example.org/ns/a/sa/etl"]
//	    # ... or when any of its groups is listed here. At least one of
//	    # callers and groups must be non-empty.
//	    groups: ["forecast-team-a"]
//	    # Exact ARNs, or a prefix ending in a single "*"; a bare "*" allows any role.
//	    role_arns:
//	      - arn:aws:iam::123456789012:role/ForecastTeamA
//	      - arn:aws:iam::123456789012:role/team-a/*
//	    # A bucket ("s3://bucket" or "s3://bucket/") allows the whole bucket;
//	    # anything longer is a prefix and must end with "/".
//	    s3_prefixes:
//	      - s3://team-a-forecast/exports/
//	      - s3://shared-bucket/team-a/
//	    # Compared like role_arns; an alias ARN and its key's ARN are different values.
//	    kms_key_arns:
//	      - arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
//	      - arn:aws:kms:us-east-1:123456789012:alias/team-a
//
//	  - name: analysts
//	    groups: ["forecast-analysts"]
//	    s3_prefixes: ["s3://shared-bucket/reports/"]
//
// A caller's allowance is the union of every grant it matches; a caller that
// matches no grant may use nothing. Caller ids and groups are compared
// exactly (case-sensitively) with [Principal.ID] and [Principal.Groups] as
// the transport reports them; there are no wildcards for them.
//
// # Matching, strictly
//
// role_arns and kms_key_arns: a value is allowed when it equals a pattern,
// or when the pattern ends in "*" and the value starts with everything
// before the "*" (so "arn:aws:iam::123456789012:role/team-a/*" allows every
// role under the /team-a/ path, and "...:role/team-a*" would also allow
// "...:role/team-ab"; end a prefix with "/" unless that is meant). Only a
// single trailing "*" is allowed; a bare "*" allows any value. Every other
// pattern must be an ARN (start with "arn:"). Comparison is byte-exact: a
// value that differs only in case is not allowed. KMS aliases
// ("arn:aws:kms:...:alias/x") are ARNs like any other: granting an alias
// does not grant the key behind it, nor the other way round.
//
// s3_prefixes: a prefix starts with "s3://" and names a bucket. A prefix that
// is only a bucket ("s3://b" or "s3://b/") allows every path in that bucket
// (and "s3://b" itself). Any longer prefix must end with "/" (otherwise
// "s3://b/team" would also allow "s3://b/team-evil/") and allows exactly
// the paths that start with it. Buckets compare case-sensitively, and a
// bucket's name always ends at its "/", so "s3://bucket-evil/x" never matches
// "s3://bucket/". Prefixes take no wildcards and may not hold empty, "." or
// ".." segments. A requested path must itself start with "s3://" and name a
// bucket, and is refused outright when its key holds a "." or ".." segment,
// so that nothing downstream that normalises paths can walk it out of its
// prefix.
//
// A use with an empty value or an unknown [Kind] is never allowed: the
// server passes only the resources a request actually sets.
//
// # Load errors
//
// [Parse] refuses, with a message naming the grant (its index in grants and
// its name) and the key: unknown keys anywhere (the file is decoded with
// yaml.v3's KnownFields), a missing or wrong version, a grant with neither
// callers nor groups, empty or blank entries, and any invalid pattern. It
// also refuses more than one YAML document, YAML merge keys, duplicate keys
// and duplicate grant names. A policy that fails to parse is never used in
// part.
//
// # Reloading
//
// [File] keeps a policy file current: it loads the file in [NewFile] and
// then polls it every [FileOptions.Interval]. A file whose modification
// time, size or content hash changed is parsed once it reads the same on two
// polls in a row, so a file caught half-written is not installed (a
// truncated prefix such as "s3://bucket/" could grant more than the full
// one). Replacing the file atomically (write a temporary file, then rename it
// over the old one) is still the safe way to edit it. A reload that fails
// keeps the last good policy and logs the error with the path.
package policy
