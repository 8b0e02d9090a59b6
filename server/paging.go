package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"

	"github.com/forecastgw/forecast-gateway/internal/apierr"
	"github.com/forecastgw/forecast-gateway/internal/filter"
	"github.com/forecastgw/forecast-gateway/internal/pagetoken"
)

// listRequest is what every generated List*Request has in common.
type listRequest interface {
	GetPageSize() int32
	GetPageToken() string
	GetFilter() string
}

// listQuery is a validated list request, ready for the upstream.
type listQuery struct {
	pageSize int
	filters  []types.Filter
	canon    string  // canonical filter, bound into page tokens
	upstream *string // AWS NextToken to resume from; nil on the first page
}

// fetchFunc calls one AWS List page: at most maxResults items, resuming from
// token. It returns the items and AWS's NextToken (nil at the end). The
// error is the SDK's, untranslated.
type fetchFunc[T any] func(ctx context.Context, filters []types.Filter, maxResults int32, token *string) ([]T, *string, error)

// parseListRequest validates page_size, filter and page_token together, so a
// client learns every problem at once, and before any upstream call.
func (s *ForecastJobServer) parseListRequest(ctx context.Context, method string, fields []filter.Field, r listRequest) (listQuery, error) {
	var q listQuery
	var vs []apierr.FieldViolation
	size, sizeVs := effectivePageSize(r.GetPageSize())
	q.pageSize = size
	vs = append(vs, sizeVs...)

	f, err := filter.Parse(r.GetFilter(), fields)
	if err != nil {
		vs = append(vs, apierr.FieldViolation{Field: "filter", Description: filterProblem(err)})
	} else {
		q.canon = f.Canonical()
		q.filters = awsFilters(f)
	}

	tokenBad := false
	if tok := r.GetPageToken(); tok != "" {
		upstream, terr := s.tokens.Open(tok, method, q.canon, callerID(ctx))
		// With an unparsable filter there is nothing to bind the token to,
		// so only its other faults (malformed, foreign, expired...) count.
		if terr != nil && (err == nil || !errors.Is(terr, pagetoken.ErrWrongFilter)) {
			tokenBad = true
			vs = append(vs, apierr.FieldViolation{Field: "page_token", Description: pageTokenProblem(terr)})
		} else if terr == nil {
			q.upstream = aws.String(upstream)
		}
	}
	if len(vs) > 0 {
		reason := apierr.ReasonInvalidArgument
		if tokenBad && len(vs) == 1 {
			reason = apierr.ReasonInvalidPageToken
		}
		return q, apierr.InvalidArgument(reason, vs...)
	}
	return q, nil
}

// pageTokenProblem says what is wrong with a page token in words a client can
// act on (the codec's messages carry the advice and never the upstream token
// or key bytes), plus the rule that broke.
func pageTokenProblem(err error) string {
	msg := err.Error()
	var pe *pagetoken.Error
	if errors.As(err, &pe) {
		msg = pe.Msg
	}
	rule := "malformed"
	switch {
	case errors.Is(err, pagetoken.ErrExpired):
		rule = "expired"
	case errors.Is(err, pagetoken.ErrWrongFilter):
		rule = "filter_mismatch"
	case errors.Is(err, pagetoken.ErrWrongMethod):
		rule = "method_mismatch"
	case errors.Is(err, pagetoken.ErrWrongCaller):
		rule = "caller_mismatch"
	case errors.Is(err, pagetoken.ErrUnknownKey):
		rule = "foreign"
	case errors.Is(err, pagetoken.ErrTampered):
		rule = "tampered"
	}
	return msg + " (rule: " + rule + ")"
}

// filterProblem is the parser's message with its position and rule,
// without the package prefix (the field name already says it is the
// filter).
func filterProblem(err error) string {
	var fe *filter.Error
	if errors.As(err, &fe) {
		return fmt.Sprintf("position %d: %s (rule: %s)", fe.Pos, fe.Msg, fe.Rule)
	}
	return err.Error()
}

func awsFilters(f filter.Filter) []types.Filter {
	if len(f.Terms) == 0 {
		return nil
	}
	out := make([]types.Filter, len(f.Terms))
	for i, t := range f.Terms {
		cond := types.FilterConditionStringIs
		if t.Negated {
			cond = types.FilterConditionStringIsNot
		}
		out[i] = types.Filter{Key: aws.String(t.AWSKey), Value: aws.String(t.Value), Condition: cond}
	}
	return out
}

// collectPage fills one client page from AWS. It asks AWS for exactly what
// the page still needs (at most 100 a call), so a page costs at most
// ceil(page_size/100) upstream calls and no AWS page is ever fetched twice:
// the AWS NextToken after the last item returned is what the client's
// next_page_token carries. AWS may return short pages; the call budget still
// holds, and the client page is then shorter (AIP-158 allows that).
func collectPage[T any](ctx context.Context, s *ForecastJobServer, method string, q listQuery, fetch fetchFunc[T]) ([]T, string, error) {
	budget := (q.pageSize + awsMaxResults - 1) / awsMaxResults
	items := make([]T, 0, min(q.pageSize, awsMaxResults))
	token := q.upstream
	for call := 0; call < budget && len(items) < q.pageSize; call++ {
		want := min(q.pageSize-len(items), awsMaxResults)
		got, next, err := fetch(ctx, q.filters, int32(want), token)
		if err != nil {
			return nil, "", s.upstreamError(ctx, method, err)
		}
		items = append(items, got...)
		token = next
		if token == nil || *token == "" {
			return items, "", nil
		}
	}
	next, err := s.tokens.Seal(method, q.canon, callerID(ctx), *token)
	if err != nil {
		s.log.Error("sealing page token failed", "method", method, "error", err)
		return nil, "", apierr.Internal()
	}
	return items, next, nil
}
