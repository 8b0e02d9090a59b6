package emulator

import (
	"slices"
	"time"

	"github.com/forecastgw/forecast-gateway/internal/awsrules"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

// The operations. Every per-type operation is one generic function fed the
// type's kind row; inputs are validated with the shared awsrules (so the
// gateway and the emulator agree) and answered from the store.

// opFunc serves one operation: the request body in, the response body out.
// now is the emulator clock at the start of the request, after every due
// transition was applied.
type opFunc func(body []byte, now time.Time) ([]byte, *apiError)

func (s *Server) registerOps() {
	s.ops = map[string]opFunc{
		OpStopResource:        s.opStop,
		OpTagResource:         s.opTagResource,
		OpUntagResource:       s.opUntagResource,
		OpListTagsForResource: s.opListTags,
	}
	for _, k := range kinds {
		s.ops[k.t.CreateOp()] = func(b []byte, now time.Time) ([]byte, *apiError) { return s.opCreate(k, b, now) }
		s.ops[k.t.DescribeOp()] = func(b []byte, now time.Time) ([]byte, *apiError) { return s.opDescribe(k, b, now) }
		s.ops[k.t.ListOp()] = func(b []byte, now time.Time) ([]byte, *apiError) { return s.opList(k, b, now) }
		s.ops[k.t.DeleteOp()] = func(b []byte, now time.Time) ([]byte, *apiError) { return s.opDelete(k, b, now) }
	}
}

var emptyObject = []byte("{}")

// resourceTitles names the parent resource types in messages.
var resourceTitles = map[string]string{
	"dataset": "dataset", "forecast": "forecast", "predictor": "predictor",
	"explainability": "Explainability", jobtype.WhatIfForecastArnType: "what-if forecast",
}

func notFound(title, arn string) *apiError {
	return newErr(ErrResourceNotFound, "No %s found with ARN %s.", title, arn)
}

// opCreate serves Create<Noun>: validation of every member, the role's
// account, the parent(s), the name, the in-progress limit; then the job
// starts CREATE_PENDING on the clock.
func (s *Server) opCreate(k *kind, body []byte, now time.Time) ([]byte, *apiError) {
	m, e := decodeMembers(body)
	if e != nil {
		return nil, e
	}
	t := k.t
	j := &job{k: k, hidx: -1}
	var v validation
	name, e := m.str(t.NameMember)
	if e != nil {
		return nil, e
	}
	v.rule(lowerCamel(t.NameMember), name, true, awsrules.CheckName)
	if t.Parent.Member != "" {
		p, e := m.str(t.Parent.Member)
		if e != nil {
			return nil, e
		}
		v.rule(lowerCamel(t.Parent.Member), p, true, awsrules.CheckForecastArn)
		j.parent = deref(p)
	}
	if k.decode != nil {
		if e := k.decode(m, &v, j); e != nil {
			return nil, e
		}
	}
	loc, e := m.object(k.loc)
	if e != nil {
		return nil, e
	}
	c, e := v.s3Config(lowerCamel(k.loc), loc)
	if e != nil {
		return nil, e
	}
	format, e := m.str("Format")
	if e != nil {
		return nil, e
	}
	v.rule("format", format, false, awsrules.CheckFormat)
	tagList, _, e := m.tags("Tags")
	if e != nil {
		return nil, e
	}
	tags := v.tags("tags", tagList)
	if e := v.err(); e != nil {
		return nil, e
	}
	if k.check != nil {
		if e := k.check(j); e != nil {
			return nil, e
		}
	}
	// Documented AWS behaviour: a role in another account is rejected.
	if acct := awsrules.ArnAccount(c.role); acct != s.opts.Account {
		return nil, newErr(ErrInvalidInput, "Passing a role across accounts is not allowed: the role %s is not in account %s.", c.role, s.opts.Account)
	}
	j.name, j.s3Path, j.roleArn, j.kmsKeyArn = *name, c.path, c.role, c.kms
	if j.format = deref(format); j.format == "" {
		j.format = awsrules.Formats[0]
	}
	if e := s.create(j, tags, now); e != nil {
		return nil, e
	}
	var w jsonWriter
	w.begin()
	w.str(t.ArnMember, j.arn)
	return w.end(), nil
}

func (s *Server) create(j *job, tags []tagPair, now time.Time) *apiError {
	st, k := s.store, j.k
	st.mu.Lock()
	defer st.mu.Unlock()
	var pname string
	for _, ref := range j.refs() {
		p := st.parents[ref]
		if p == nil || p.arnType != k.refType {
			return notFound(resourceTitles[k.refType], ref)
		}
		if p.status != statusActive {
			return newErr(ErrResourceInUse, "The %s %s is in status %s; it must be ACTIVE.", resourceTitles[k.refType], ref, p.status)
		}
		pname = p.name
	}
	path := j.name
	if k.t.Parent.ArnType != "" {
		path = pname + "/" + j.name
	}
	j.arn = s.arn(k.t.ArnType, path)
	if st.byArn[j.arn] != nil {
		if j.parent != "" {
			return newErr(ErrResourceAlreadyExists, "A %s named %s already exists for the %s %s: %s.", k.t.Title, j.name, resourceTitles[k.refType], j.parent, j.arn)
		}
		return newErr(ErrResourceAlreadyExists, "A %s named %s already exists: %s.", k.t.Title, j.name, j.arn)
	}
	if max := s.opts.MaxInProgressJobs; max > 0 && st.tables[k.idx].inFlight >= max {
		return newErr(ErrLimitExceeded, "You have reached the limit of %d %ss in CREATE_PENDING or CREATE_IN_PROGRESS.", max, k.t.Title)
	}
	created := now.Truncate(time.Second)
	j.created, j.cs, j.entered = created, created.Unix(), created
	j.status, j.apiCreated = statusPending, true
	st.insert(j)
	st.scheduleAt(j, created.Add(st.dur.pending))
	j.activeAt = j.due.Add(st.dur.inProgress)
	if len(tags) > 0 {
		st.tags[j.arn] = tags
	}
	return nil
}

// jobArnIn reads and validates the job ARN member of Describe and Delete.
func jobArnIn(k *kind, body []byte) (string, *apiError) {
	m, e := decodeMembers(body)
	if e != nil {
		return "", e
	}
	arn, e := m.str(k.t.ArnMember)
	if e != nil {
		return "", e
	}
	var v validation
	v.rule(lowerCamel(k.t.ArnMember), arn, true, k.arnCheck)
	if e := v.err(); e != nil {
		return "", e
	}
	return *arn, nil
}

func (s *Server) opDescribe(k *kind, body []byte, now time.Time) ([]byte, *apiError) {
	arn, e := jobArnIn(k, body)
	if e != nil {
		return nil, e
	}
	st := s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	j := st.byArn[arn]
	if j == nil || j.k != k {
		return nil, notFound(k.t.Title, arn)
	}
	return k.writeDescribe(j, now), nil
}

// opList serves List<Plural>: validation, token, one page.
func (s *Server) opList(k *kind, body []byte, now time.Time) ([]byte, *apiError) {
	in, e := decodeList(body)
	if e != nil {
		return nil, e
	}
	fs, e := validateList(k.t, in)
	if e != nil {
		return nil, e
	}
	op := k.t.ListOp()
	q := query{filters: fs, limit: awsrules.MaxResultsMax}
	if in.MaxResults != nil {
		q.limit = int(*in.MaxResults)
	}
	if in.NextToken != nil {
		if q.after, e = s.decodeToken(*in.NextToken, op, fs, now); e != nil {
			return nil, e
		}
	}
	w := jsonWriter{b: make([]byte, 0, 64+600*q.limit)}
	w.begin()
	w.array(k.t.Plural)
	// A job's ARN and CreationTime never change, so last may be read after
	// the store's lock is released.
	var last *job
	more := s.store.list(k, q, func(j *job) {
		k.writeSummary(&w, j, now)
		last = j
	})
	w.closeArray()
	if more {
		w.str("NextToken", s.encodeToken(op, fs, last.cs, last.arn, now))
	}
	return w.end(), nil
}

// opDelete serves Delete<Noun>: only ACTIVE and CREATE_FAILED jobs can be
// deleted; they go DELETE_PENDING at once, DELETE_IN_PROGRESS after half
// of DeleteDuration and are gone (or DELETE_FAILED) after the other half.
func (s *Server) opDelete(k *kind, body []byte, now time.Time) ([]byte, *apiError) {
	arn, e := jobArnIn(k, body)
	if e != nil {
		return nil, e
	}
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	j := st.byArn[arn]
	if j == nil || j.k != k {
		return nil, notFound(k.t.Title, arn)
	}
	if j.status != statusActive && j.status != statusCreateFailed {
		return nil, newErr(ErrResourceInUse, "The %s %s is in status %s and cannot be deleted; only a %s in ACTIVE or CREATE_FAILED can be deleted.", k.t.Title, arn, j.status, k.t.Title)
	}
	st.unschedule(j)
	st.setStatus(j, statusDeletePending, now)
	st.scheduleAt(j, j.entered.Add(st.dur.delete1))
	return emptyObject, nil
}

// resourceArnIn reads the ResourceArn member of the resource operations.
func resourceArnIn(m members, v *validation) (string, *apiError) {
	arn, e := m.str("ResourceArn")
	if e != nil {
		return "", e
	}
	v.rule("resourceArn", arn, true, awsrules.CheckForecastArn)
	return deref(arn), nil
}

// stoppableParents are the parent types StopResource accepts.
var stoppableParents = map[string]bool{"predictor": true, "forecast": true, "explainability": true}

func notStoppable(title, arn, status string) *apiError {
	return newErr(ErrInvalidInput, "The %s %s is in status %s and cannot be stopped; only resources in CREATE_PENDING or CREATE_IN_PROGRESS can be stopped.", title, arn, status)
}

func unsupportedStop(title, arn string) *apiError {
	return newErr(ErrInvalidInput, "StopResource does not support %ss: %s cannot be stopped. It stops dataset import jobs, predictors, predictor backtest export jobs, forecasts, forecast export jobs, Explainabilities and Explainability exports.", title, arn)
}

// opStop serves StopResource. An unknown ARN is ResourceNotFoundException;
// a job CREATE_PENDING or CREATE_IN_PROGRESS goes CREATE_STOPPING at once
// and CREATE_STOPPED after StopDuration; a stoppable parent (set running
// by SetParentStatus) is CREATE_STOPPED at once. Any other status, and the
// types AWS cannot stop (what-if forecast exports, datasets, what-if
// forecasts), are InvalidInputException: the model's only fitting error.
func (s *Server) opStop(body []byte, now time.Time) ([]byte, *apiError) {
	m, e := decodeMembers(body)
	if e != nil {
		return nil, e
	}
	var v validation
	arn, e := resourceArnIn(m, &v)
	if e != nil {
		return nil, e
	}
	if e := v.err(); e != nil {
		return nil, e
	}
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	if j := st.byArn[arn]; j != nil {
		t := j.k.t
		switch {
		case !t.Stoppable:
			return nil, unsupportedStop(t.Title, arn)
		case !running(j.status):
			return nil, notStoppable(t.Title, arn, j.status)
		}
		st.unschedule(j)
		j.activeAt = time.Time{}
		st.setStatus(j, statusStopping, now)
		st.scheduleAt(j, j.entered.Add(st.dur.stop))
		return emptyObject, nil
	}
	if p := st.parents[arn]; p != nil {
		title := resourceTitles[p.arnType]
		switch {
		case !stoppableParents[p.arnType]:
			return nil, unsupportedStop(title, arn)
		case !running(p.status):
			return nil, notStoppable(title, arn, p.status)
		}
		p.status = statusStopped
		return emptyObject, nil
	}
	return nil, resourceNotFound(arn)
}

func resourceNotFound(arn string) *apiError {
	return newErr(ErrResourceNotFound, "No resource found with ARN %s.", arn)
}

// opTagResource adds or replaces tags; a resource holds at most 50.
func (s *Server) opTagResource(body []byte, _ time.Time) ([]byte, *apiError) {
	m, e := decodeMembers(body)
	if e != nil {
		return nil, e
	}
	var v validation
	arn, e := resourceArnIn(m, &v)
	if e != nil {
		return nil, e
	}
	list, present, e := m.tags("Tags")
	if e != nil {
		return nil, e
	}
	if !present {
		v.null("tags")
	}
	tags := v.tags("tags", list)
	if e := v.err(); e != nil {
		return nil, e
	}
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.exists(arn) {
		return nil, resourceNotFound(arn)
	}
	merged := slices.Clone(st.tags[arn])
	for _, t := range tags {
		if i := slices.IndexFunc(merged, func(x tagPair) bool { return x.Key == t.Key }); i >= 0 {
			merged[i].Value = t.Value
		} else {
			merged = append(merged, t)
		}
	}
	if len(merged) > awsrules.MaxTags {
		return nil, newErr(ErrLimitExceeded, "The resource %s would have %d tags; a resource can have at most %d tags.", arn, len(merged), awsrules.MaxTags)
	}
	if len(merged) > 0 {
		st.tags[arn] = merged
	}
	return emptyObject, nil
}

// opUntagResource removes tags by key; absent keys are ignored, aws: keys
// are rejected.
func (s *Server) opUntagResource(body []byte, _ time.Time) ([]byte, *apiError) {
	m, e := decodeMembers(body)
	if e != nil {
		return nil, e
	}
	var v validation
	arn, e := resourceArnIn(m, &v)
	if e != nil {
		return nil, e
	}
	list, present, e := m.strList("TagKeys")
	if e != nil {
		return nil, e
	}
	keys := v.tagKeys("tagKeys", list, present)
	if e := v.err(); e != nil {
		return nil, e
	}
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.exists(arn) {
		return nil, resourceNotFound(arn)
	}
	kept := slices.DeleteFunc(slices.Clone(st.tags[arn]), func(t tagPair) bool { return slices.Contains(keys, t.Key) })
	if len(kept) == 0 {
		delete(st.tags, arn)
	} else {
		st.tags[arn] = kept
	}
	return emptyObject, nil
}

func (s *Server) opListTags(body []byte, _ time.Time) ([]byte, *apiError) {
	m, e := decodeMembers(body)
	if e != nil {
		return nil, e
	}
	var v validation
	arn, e := resourceArnIn(m, &v)
	if e != nil {
		return nil, e
	}
	if e := v.err(); e != nil {
		return nil, e
	}
	st := s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	if !st.exists(arn) {
		return nil, resourceNotFound(arn)
	}
	var w jsonWriter
	w.begin()
	w.array("Tags")
	for _, t := range st.tags[arn] {
		w.element()
		w.str("Key", t.Key)
		w.str("Value", t.Value)
		w.closeObject()
	}
	w.closeArray()
	return w.end(), nil
}
