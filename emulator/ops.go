package emulator

import (
	"strings"
	"time"

	"github.com/forecastgw/forecast-gateway/internal/awsrules"
)

// The five operations. Each decodes its input, validates it with the shared
// awsrules (so gateway and emulator agree) and answers from the store.

func (s *Server) opCreate(body []byte) (any, *apiError) {
	var in createIn
	if e := decodeBody(body, &in); e != nil {
		return nil, e
	}
	if e := validateCreate(&in); e != nil {
		return nil, e
	}
	c := in.Destination.S3Config
	// Documented AWS behaviour: a role in another account is rejected.
	if acct := strings.Split(*c.RoleArn, ":")[4]; acct != s.opts.Account {
		return nil, newErr(ErrInvalidInput, "Passing a role across accounts is not allowed: the role %s is not in account %s.", *c.RoleArn, s.opts.Account)
	}
	format := "CSV"
	if in.Format != nil && *in.Format != "" {
		format = *in.Format
	}
	now := s.opts.Clock.Now().Truncate(time.Second)
	j := &job{
		kind: BacktestExportJob, name: *in.PredictorBacktestExportJobName, parent: *in.PredictorArn,
		created: now, cs: now.Unix(), dynamic: true,
		pending: s.opts.PendingDuration, running: s.opts.InProgressDuration,
		s3Path: *c.Path, roleArn: *c.RoleArn, format: format,
	}
	if c.KMSKeyArn != nil {
		j.kmsKeyArn = *c.KMSKeyArn
	}
	for _, t := range in.Tags {
		j.tags = append(j.tags, tagPair{*t.Key, *t.Value})
	}
	if e := s.create(j, now); e != nil {
		return nil, e
	}
	return createOut{PredictorBacktestExportJobArn: j.arn}, nil
}

func (s *Server) create(j *job, now time.Time) *apiError {
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	p := st.parents[j.parent]
	if p == nil || p.kind != j.kind {
		return newErr(ErrResourceNotFound, "No %s found with ARN %s.", kinds[j.kind].parentType, j.parent)
	}
	if p.status != "ACTIVE" {
		return newErr(ErrResourceInUse, "The %s %s is in status %s; it must be ACTIVE.", kinds[j.kind].parentType, p.arn, p.status)
	}
	j.arn = s.arn(kinds[j.kind].jobType, p.name+"/"+j.name)
	if _, dup := st.byArn[j.arn]; dup {
		return newErr(ErrResourceAlreadyExists, "A %s named %s already exists for %s: %s.", kinds[j.kind].jobType, j.name, p.arn, j.arn)
	}
	t := st.tables[j.kind]
	if max := s.opts.MaxInProgressJobs; max > 0 && t.inProgress(now) >= max {
		return newErr(ErrLimitExceeded, "You have reached the limit of %d %s jobs in progress.", max, kinds[j.kind].jobType)
	}
	st.byArn[j.arn] = j
	t.insert(j)
	return nil
}

func (s *Server) opDescribe(body []byte) (any, *apiError) {
	var in describeIn
	if e := decodeBody(body, &in); e != nil {
		return nil, e
	}
	if e := validateDescribe(&in); e != nil {
		return nil, e
	}
	now := s.opts.Clock.Now()
	s.store.settle(now)
	j, ok := s.store.get(*in.PredictorBacktestExportJobArn, now)
	if !ok || j.Kind != BacktestExportJob {
		return nil, newErr(ErrResourceNotFound, "No predictor backtest export job found with ARN %s.", *in.PredictorBacktestExportJobArn)
	}
	return describeOut{
		PredictorBacktestExportJobArn:  j.Arn,
		PredictorBacktestExportJobName: j.Name,
		PredictorArn:                   j.ParentArn,
		Destination:                    location(&j),
		Status:                         j.Status,
		Message:                        j.Message,
		CreationTime:                   epoch{j.CreationTime},
		LastModificationTime:           epoch{j.LastModificationTime},
		Format:                         j.Format,
	}, nil
}

// listPage runs a List request for kind k: validation, token, one page.
func (s *Server) listPage(k JobKind, body []byte) ([]JobInfo, string, *apiError) {
	var in listIn
	if e := decodeBody(body, &in); e != nil {
		return nil, "", e
	}
	fs, e := validateList(k, &in)
	if e != nil {
		return nil, "", e
	}
	op := kinds[k].listOp
	now := s.opts.Clock.Now()
	q := query{kind: k, filters: fs, limit: awsrules.MaxResultsMax}
	if in.MaxResults != nil {
		q.limit = int(*in.MaxResults)
	}
	if in.NextToken != nil {
		if q.after, e = s.decodeToken(*in.NextToken, op, fs, now); e != nil {
			return nil, "", e
		}
	}
	s.store.settle(now)
	page, more := s.store.list(q, now)
	var next string
	if more {
		next = s.encodeToken(op, fs, &page[len(page)-1], now)
	}
	return page, next, nil
}

func (s *Server) opListBacktest(body []byte) (any, *apiError) {
	page, next, e := s.listPage(BacktestExportJob, body)
	if e != nil {
		return nil, e
	}
	out := listBacktestOut{PredictorBacktestExportJobs: make([]backtestSummary, len(page)), NextToken: next}
	for i := range page {
		j := &page[i]
		out.PredictorBacktestExportJobs[i] = backtestSummary{
			PredictorBacktestExportJobArn: j.Arn, PredictorBacktestExportJobName: j.Name,
			Destination: location(j), Status: j.Status, Message: j.Message,
			CreationTime: epoch{j.CreationTime}, LastModificationTime: epoch{j.LastModificationTime},
		}
	}
	return out, nil
}

func (s *Server) opListExport(body []byte) (any, *apiError) {
	page, next, e := s.listPage(ForecastExportJob, body)
	if e != nil {
		return nil, e
	}
	out := listExportOut{ForecastExportJobs: make([]exportSummary, len(page)), NextToken: next}
	for i := range page {
		j := &page[i]
		out.ForecastExportJobs[i] = exportSummary{
			ForecastExportJobArn: j.Arn, ForecastExportJobName: j.Name,
			Destination: location(j), Status: j.Status, Message: j.Message,
			CreationTime: epoch{j.CreationTime}, LastModificationTime: epoch{j.LastModificationTime},
		}
	}
	return out, nil
}

func (s *Server) opListImport(body []byte) (any, *apiError) {
	page, next, e := s.listPage(DatasetImportJob, body)
	if e != nil {
		return nil, e
	}
	out := listImportOut{DatasetImportJobs: make([]importSummary, len(page)), NextToken: next}
	for i := range page {
		j := &page[i]
		out.DatasetImportJobs[i] = importSummary{
			DatasetImportJobArn: j.Arn, DatasetImportJobName: j.Name,
			DataSource: location(j), Status: j.Status, Message: j.Message,
			CreationTime: epoch{j.CreationTime}, LastModificationTime: epoch{j.LastModificationTime},
			ImportMode: j.ImportMode,
		}
	}
	return out, nil
}
