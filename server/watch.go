package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/forecastgw/forecast-gateway/internal/apierr"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
	"github.com/forecastgw/forecast-gateway/internal/jobwatch"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// Watching jobs: WatchJob streams a job's changes and WaitJob returns its
// terminal state, both fed by one shared poller per job (internal/jobwatch)
// that reads AWS through the service's own Describe and List, so the
// Describe cache, coalescing and error mapping apply to polls too.

// Reasons of the watch refusals.
const (
	ReasonWatchLimit   = "WATCH_LIMIT"
	ReasonDraining     = "DRAINING"
	ReasonWaitDeadline = "WAIT_DEADLINE"
)

// WatchOptions configure watching. Zero values take the defaults.
type WatchOptions struct {
	// MinInterval and MaxInterval bound the adaptive poll interval
	// (defaults 1s and 30s; see jobwatch.Options).
	MinInterval, MaxInterval time.Duration
	// Heartbeat is how often an idle stream gets a heartbeat (default 15s).
	Heartbeat time.Duration
	// MaxWatches bounds open watches and waits in all, MaxWatchesPerCaller
	// those of one caller (defaults 10,000 and 1,000).
	MaxWatches, MaxWatchesPerCaller int
	// MaxWait bounds a WaitJob whose client set no deadline (default 1h).
	MaxWait time.Duration
}

// watchRow is what watching needs of a job type: its Describe and List
// RPCs (with everything they do) and the Job field its state goes in.
type watchRow struct {
	describe func(s *ForecastJobServer, ctx context.Context, arn string) (proto.Message, error)
	list     func(s *ForecastJobServer, ctx context.Context, filter, token string) (proto.Message, error)
	wrap     func(proto.Message) *gatewayv1.Job
}

var watchRows = map[*jobtype.Type]watchRow{
	jobtype.DatasetImportJob: {
		describe: func(s *ForecastJobServer, ctx context.Context, arn string) (proto.Message, error) {
			return nilIfErr(s.DescribeDatasetImportJob(ctx, &gatewayv1.DescribeDatasetImportJobRequest{DatasetImportJobArn: arn}))
		},
		list: func(s *ForecastJobServer, ctx context.Context, f, tok string) (proto.Message, error) {
			return nilIfErr(s.ListDatasetImportJobs(ctx, &gatewayv1.ListDatasetImportJobsRequest{Filter: f, PageToken: tok, PageSize: jobwatch.ListPageSize}))
		},
		wrap: func(m proto.Message) *gatewayv1.Job {
			return &gatewayv1.Job{Job: &gatewayv1.Job_DatasetImportJob{DatasetImportJob: m.(*gatewayv1.DescribeDatasetImportJobResponse)}}
		},
	},
	jobtype.ForecastExportJob: {
		describe: func(s *ForecastJobServer, ctx context.Context, arn string) (proto.Message, error) {
			return nilIfErr(s.DescribeForecastExportJob(ctx, &gatewayv1.DescribeForecastExportJobRequest{ForecastExportJobArn: arn}))
		},
		list: func(s *ForecastJobServer, ctx context.Context, f, tok string) (proto.Message, error) {
			return nilIfErr(s.ListForecastExportJobs(ctx, &gatewayv1.ListForecastExportJobsRequest{Filter: f, PageToken: tok, PageSize: jobwatch.ListPageSize}))
		},
		wrap: func(m proto.Message) *gatewayv1.Job {
			return &gatewayv1.Job{Job: &gatewayv1.Job_ForecastExportJob{ForecastExportJob: m.(*gatewayv1.DescribeForecastExportJobResponse)}}
		},
	},
	jobtype.PredictorBacktestExportJob: {
		describe: func(s *ForecastJobServer, ctx context.Context, arn string) (proto.Message, error) {
			return nilIfErr(s.DescribePredictorBacktestExportJob(ctx, &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: arn}))
		},
		list: func(s *ForecastJobServer, ctx context.Context, f, tok string) (proto.Message, error) {
			return nilIfErr(s.ListPredictorBacktestExportJobs(ctx, &gatewayv1.ListPredictorBacktestExportJobsRequest{Filter: f, PageToken: tok, PageSize: jobwatch.ListPageSize}))
		},
		wrap: func(m proto.Message) *gatewayv1.Job {
			return &gatewayv1.Job{Job: &gatewayv1.Job_PredictorBacktestExportJob{PredictorBacktestExportJob: m.(*gatewayv1.DescribePredictorBacktestExportJobResponse)}}
		},
	},
	jobtype.ExplainabilityExport: {
		describe: func(s *ForecastJobServer, ctx context.Context, arn string) (proto.Message, error) {
			return nilIfErr(s.DescribeExplainabilityExport(ctx, &gatewayv1.DescribeExplainabilityExportRequest{ExplainabilityExportArn: arn}))
		},
		list: func(s *ForecastJobServer, ctx context.Context, f, tok string) (proto.Message, error) {
			return nilIfErr(s.ListExplainabilityExports(ctx, &gatewayv1.ListExplainabilityExportsRequest{Filter: f, PageToken: tok, PageSize: jobwatch.ListPageSize}))
		},
		wrap: func(m proto.Message) *gatewayv1.Job {
			return &gatewayv1.Job{Job: &gatewayv1.Job_ExplainabilityExport{ExplainabilityExport: m.(*gatewayv1.DescribeExplainabilityExportResponse)}}
		},
	},
	jobtype.WhatIfForecastExport: {
		describe: func(s *ForecastJobServer, ctx context.Context, arn string) (proto.Message, error) {
			return nilIfErr(s.DescribeWhatIfForecastExport(ctx, &gatewayv1.DescribeWhatIfForecastExportRequest{WhatIfForecastExportArn: arn}))
		},
		list: func(s *ForecastJobServer, ctx context.Context, f, tok string) (proto.Message, error) {
			return nilIfErr(s.ListWhatIfForecastExports(ctx, &gatewayv1.ListWhatIfForecastExportsRequest{Filter: f, PageToken: tok, PageSize: jobwatch.ListPageSize}))
		},
		wrap: func(m proto.Message) *gatewayv1.Job {
			return &gatewayv1.Job{Job: &gatewayv1.Job_WhatIfForecastExport{WhatIfForecastExport: m.(*gatewayv1.DescribeWhatIfForecastExportResponse)}}
		},
	},
}

// nilIfErr turns a typed response into a proto.Message that is nil on
// error (a nil *T in an interface is not nil).
func nilIfErr[T proto.Message](m T, err error) (proto.Message, error) {
	if err != nil {
		return nil, err
	}
	return m, nil
}

// unfinishedFilter lists the jobs that may still change by themselves.
var unfinishedFilter = func() string {
	parts := make([]string, len(jobtype.TerminalStatuses))
	for i, st := range jobtype.TerminalStatuses {
		parts[i] = `status != "` + st + `"`
	}
	return strings.Join(parts, " AND ")
}()

// jobSource is the service as jobwatch's upstream.
type jobSource struct{ s *ForecastJobServer }

func (j jobSource) Kind(arn string) string {
	if t := jobtype.OfArn(arn); t != nil {
		return t.Noun
	}
	return ""
}

func (j jobSource) Describe(ctx context.Context, arn string) (jobwatch.Snapshot, error) {
	t := jobtype.OfArn(arn)
	row := watchRows[t]
	m, err := row.describe(j.s, ctx, arn)
	if status.Code(err) == codes.NotFound {
		return jobwatch.Snapshot{ARN: arn, Gone: true, ETag: "gone"}, nil
	}
	if err != nil {
		return jobwatch.Snapshot{}, err
	}
	st, modified := statusOf(m.ProtoReflect())
	job := row.wrap(m)
	return jobwatch.Snapshot{ARN: arn, Status: st, Modified: modified, Terminal: jobtype.Terminal(st), ETag: etagOf(job, st), Value: job}, nil
}

func (j jobSource) ListUnfinished(ctx context.Context, kind, token string) ([]jobwatch.Summary, string, error) {
	var t *jobtype.Type
	for _, tt := range jobtype.All {
		if tt.Noun == kind {
			t = tt
		}
	}
	m, err := watchRows[t].list(j.s, ctx, unfinishedFilter, token)
	if err != nil {
		return nil, "", err
	}
	r := m.ProtoReflect()
	var out []jobwatch.Summary
	var next string
	fields := r.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		switch {
		case f.Name() == "next_page_token":
			next = r.Get(f).String()
		case f.IsList() && f.Kind() == protoreflect.MessageKind:
			items := r.Get(f).List()
			for k := 0; k < items.Len(); k++ {
				item := items.Get(k).Message()
				st, modified := statusOf(item)
				arn := item.Get(item.Descriptor().Fields().ByName(protoreflect.Name(t.ArnField))).String()
				out = append(out, jobwatch.Summary{ARN: arn, Status: st, Modified: modified})
			}
		}
	}
	return out, next, nil
}

// statusOf reads aws_status and last_modification_time, which every job's
// Describe response and summary have. While AWS reports the current time
// as the last modification (see volatileModification), the time returned
// is zero: it says nothing about the job.
func statusOf(m protoreflect.Message) (string, time.Time) {
	fields := m.Descriptor().Fields()
	st := m.Get(fields.ByName("aws_status")).String()
	var modified time.Time
	if f := fields.ByName("last_modification_time"); f != nil && m.Has(f) && !volatileModification(st) {
		modified = m.Get(f).Message().Interface().(*timestamppb.Timestamp).AsTime()
	}
	return st, modified
}

// volatileModification: in these statuses AWS's LastModificationTime is
// "the current timestamp" (the reference of every Describe<Job>), so it
// changes on every call; a watch that counted it as a change would send a
// message per poll and never slow its polling down.
func volatileModification(status string) bool {
	return status == "CREATE_IN_PROGRESS" || status == "CREATE_STOPPING"
}

// etagOf is a hash of a job's state: all of it, except a volatile
// last_modification_time (see volatileModification).
func etagOf(job *gatewayv1.Job, status string) string {
	m := proto.Message(job)
	if volatileModification(status) {
		m = proto.Clone(job)
		r := m.ProtoReflect()
		inner := r.Get(r.WhichOneof(r.Descriptor().Oneofs().Get(0))).Message()
		inner.Clear(inner.Descriptor().Fields().ByName("last_modification_time"))
	}
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// checkWatchArn validates the ARN of a WatchJob or WaitJob request.
func (s *ForecastJobServer) checkWatchArn(arn string) error {
	v := s.newViolations()
	s.anyJobArn(v, "job_arn", arn)
	return v.err()
}

// subscribe starts watching arn for the caller of ctx.
func (s *ForecastJobServer) subscribe(ctx context.Context, arn string) (*jobwatch.Subscription, error) {
	sub, err := s.hub.Subscribe(arn, callerID(ctx))
	switch {
	case errors.Is(err, jobwatch.ErrTooMany):
		return nil, apierr.WithDetails(status.New(codes.ResourceExhausted,
			"too many open watches (in all, or of this caller); close some, or raise --max-watches"),
			&errdetails.ErrorInfo{Reason: ReasonWatchLimit, Domain: apierr.Domain}).Err()
	case errors.Is(err, jobwatch.ErrClosed):
		return nil, draining()
	}
	return sub, err
}

func draining() error {
	return apierr.WithDetails(status.New(codes.Unavailable, "the gateway is draining; reconnect (with last_etag) to another replica"),
		&errdetails.ErrorInfo{Reason: ReasonDraining, Domain: apierr.Domain}).Err()
}

func gone(arn string) error {
	return apierr.WithDetails(status.New(codes.NotFound, arn+" was deleted"),
		&errdetails.ErrorInfo{Reason: apierr.ReasonResourceNotFound, Domain: apierr.Domain}).Err()
}

// WatchJob implements the streaming watch (see the proto).
func (s *ForecastJobServer) WatchJob(r *gatewayv1.WatchJobRequest, stream grpc.ServerStreamingServer[gatewayv1.WatchJobResponse]) error {
	if err := s.checkWatchArn(r.GetJobArn()); err != nil {
		return err
	}
	ctx := stream.Context()
	sub, err := s.subscribe(ctx, r.GetJobArn())
	if err != nil {
		return err
	}
	defer sub.Close()
	last := r.GetLastEtag()
	heartbeat := time.NewTicker(s.watch.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-heartbeat.C:
			if err := stream.Send(&gatewayv1.WatchJobResponse{Etag: last, Event: &gatewayv1.WatchJobResponse_Heartbeat{
				Heartbeat: &gatewayv1.Heartbeat{Time: timestamppb.Now()}}}); err != nil {
				return err
			}
		case snap, ok := <-sub.C:
			if !ok {
				switch err := sub.Err(); {
				case err == nil:
					return nil // the terminal state was the last message
				case errors.Is(err, jobwatch.ErrGone):
					return gone(r.GetJobArn())
				case errors.Is(err, jobwatch.ErrClosed):
					// Draining: a last heartbeat with the etag to resume from.
					_ = stream.Send(&gatewayv1.WatchJobResponse{Etag: last, Event: &gatewayv1.WatchJobResponse_Heartbeat{
						Heartbeat: &gatewayv1.Heartbeat{Time: timestamppb.Now()}}})
					return draining()
				default:
					return apierr.WithDetails(status.New(codes.ResourceExhausted, "the stream fell behind the job's changes; reconnect with last_etag"),
						&errdetails.ErrorInfo{Reason: ReasonWatchLimit, Domain: apierr.Domain}).Err()
				}
			}
			if snap.Gone || snap.ETag == last {
				continue
			}
			last = snap.ETag
			if err := stream.Send(&gatewayv1.WatchJobResponse{Etag: snap.ETag, Event: &gatewayv1.WatchJobResponse_Job{Job: snap.Value.(*gatewayv1.Job)}}); err != nil {
				return err
			}
			heartbeat.Reset(s.watch.Heartbeat)
		}
	}
}

// WaitJob implements the waiting call (see the proto).
func (s *ForecastJobServer) WaitJob(ctx context.Context, r *gatewayv1.WaitJobRequest) (*gatewayv1.WaitJobResponse, error) {
	if err := s.checkWatchArn(r.GetJobArn()); err != nil {
		return nil, err
	}
	// Answer shortly before the client's deadline, so it gets the last
	// state rather than its own timeout.
	wait := s.watch.MaxWait
	if d, ok := ctx.Deadline(); ok {
		left := time.Until(d)
		wait = left - min(time.Second, left/10)
	}
	if wait <= 0 {
		return nil, status.Error(codes.DeadlineExceeded, "the deadline leaves no time to wait")
	}
	sub, err := s.subscribe(ctx, r.GetJobArn())
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var last *gatewayv1.WaitJobResponse
	for {
		select {
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		case <-timer.C:
			st := status.New(codes.DeadlineExceeded, "the job did not reach a terminal state before the deadline; its last state is in the details")
			details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: ReasonWaitDeadline, Domain: apierr.Domain}}
			if last != nil {
				details = append(details, protoadapt.MessageV1Of(last))
			}
			return nil, apierr.WithDetails(st, details...).Err()
		case snap, ok := <-sub.C:
			if !ok {
				switch err := sub.Err(); {
				case err == nil && last != nil:
					return last, nil
				case errors.Is(err, jobwatch.ErrGone):
					return nil, gone(r.GetJobArn())
				default:
					return nil, draining()
				}
			}
			if !snap.Gone {
				last = &gatewayv1.WaitJobResponse{Job: snap.Value.(*gatewayv1.Job), Etag: snap.ETag}
			}
		}
	}
}
