package server

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/forecastgw/forecast-gateway/internal/apierr"
	"github.com/forecastgw/forecast-gateway/internal/callinfo"
)

// ForecastAPI is the seam to AWS: exactly the operations the gateway fronts,
// with the aws-sdk-go-v2 signatures, so *forecast.Client satisfies it and
// tests can hand in anything that speaks these calls. Each job type's file
// declares the part it uses.
type ForecastAPI interface {
	datasetImportJobAPI
	forecastExportJobAPI
	predictorBacktestExportJobAPI
	explainabilityExportAPI
	whatIfForecastExportAPI
	tagsAPI
	StopResource(ctx context.Context, in *forecast.StopResourceInput, optFns ...func(*forecast.Options)) (*forecast.StopResourceOutput, error)
}

var _ ForecastAPI = (*forecast.Client)(nil)

// upstreamError translates an SDK error of op into the gateway's status,
// passing nil through. A failure the client cannot act on (INTERNAL,
// UNAVAILABLE) is logged at error with the request id the client got, and
// the cause, which the client does not get.
func (s *ForecastJobServer) upstreamError(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	st := status.Convert(apierr.FromUpstream(op, err))
	if c := st.Code(); c == codes.Internal || c == codes.Unavailable {
		s.log.ErrorContext(ctx, "upstream call failed", "request_id", callinfo.RequestID(ctx), "operation", op,
			"code", c.String(), "cause", err.Error())
	}
	return st.Err()
}
