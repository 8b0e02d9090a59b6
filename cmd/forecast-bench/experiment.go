package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// The grpc-go options experiment (--grpc-options): Describe only, every
// uncached path describing unfinished jobs (one per worker, so every call
// is an upstream call):
//
//	direct, REST via the gateway, the no-op floor;
//	"gateway dial=D": the gateway's gRPC Describe, the bench client dialled
//	    with dial variant D (the gateway's server options are its own);
//	"pass srv=S": the pass-through anchor on a server with variant S;
//	"svc srv=S": the gateway's service (no transport chain) on that server;
//	"... srv=window dial=window": fixed windows on both sides (no BDP
//	    estimation anywhere on the connection);
//	"pass-dochan srv=default": the anchor with its SDK call behind
//	    singleflight.DoChan, as the gateway's Describe coalescing runs it.
//
// Families compare with their own default ("pass srv=default", "svc
// srv=default", "gateway dial=default").

// Path name prefixes of the experiment.
const (
	expGateway = "gateway dial="
	expPass    = "pass srv="
	expSvc     = "svc srv="
	expDoChan  = "pass-dochan srv=default"
)

func (c *clients) experimentPaths(cfg config) ([]*benchPath, error) {
	var ps []*benchPath
	add := func(path, label string, fn callFunc, up string) {
		ps = append(ps, &benchPath{path: path, op: opDescribe, label: label, fn: fn, upstreamOp: up})
	}
	add(pathDirect, pathLabels[pathDirect], c.sdkDescribe(c.arnOf), upDescribe)
	add(pathREST, pathLabels[pathREST], c.restDescribe(c.arnOf), upDescribe)
	add(pathNoop, pathLabels[pathNoop], noopCall(c.noop), "")
	for _, d := range cfg.dialVariants {
		cc, err := c.conn(c.st.gw.GRPC, d)
		if err != nil {
			return nil, err
		}
		add(expGateway+d, "gateway gRPC, client dial "+d, gwDescribe(gatewayv1.NewForecastJobServiceClient(cc), c.arnOf), upDescribe)
	}
	variant := func(srv, dial, suffix string) error {
		addr := c.st.gw.Variants[srv]
		if addr == "" {
			return fmt.Errorf("the gateway role started no server variant %q", srv)
		}
		cc, err := c.conn(addr, dial)
		if err != nil {
			return err
		}
		add(expPass+srv+suffix, "pass-through on server "+srv+suffix, passCall(cc, passDescribe, c.arnOf), upDescribe)
		add(expSvc+srv+suffix, "gateway service (no chain) on server "+srv+suffix, gwDescribe(gatewayv1.NewForecastJobServiceClient(cc), c.arnOf), upDescribe)
		return nil
	}
	for _, v := range cfg.serverVariants {
		if err := variant(v, "default", ""); err != nil {
			return nil, err
		}
	}
	if slices.Contains(cfg.serverVariants, "window") && slices.Contains(cfg.dialVariants, "window") {
		if err := variant("window", "window", " dial=window"); err != nil {
			return nil, err
		}
	}
	if addr := c.st.gw.Variants["default"]; addr != "" {
		cc, err := c.conn(addr, "default")
		if err != nil {
			return nil, err
		}
		add(expDoChan, "pass-through, SDK call behind singleflight.DoChan", passCall(cc, passDescribeDoChan, c.arnOf), upDescribe)
	}
	return ps, nil
}

// familyDefault is the path a path of the experiment compares with.
func familyDefault(path string) string {
	switch {
	case strings.HasPrefix(path, expGateway):
		return expGateway + "default"
	case strings.HasPrefix(path, expPass), path == expDoChan:
		return expPass + "default"
	case strings.HasPrefix(path, expSvc):
		return expSvc + "default"
	}
	return ""
}

func printExperiment(w io.Writer, res *results, cfg config) {
	high := slices.Max(cfg.conc)
	fmt.Fprintf(w, "\nforecast-bench --grpc-options  %s  nproc=%d  GOMAXPROCS=%d  %s  %s\n", res.Started.Format(time.RFC3339), res.Machine.NProc, runtime.GOMAXPROCS(0), res.Machine.CPU, res.Machine.Go)
	fmt.Fprintf(w, "Describe; c=1: %s per path over %d interleaved rounds; c=%d: %s per path; processes: %d; every uncached call is an upstream call (see upstream/call)\n",
		cfg.duration, cfg.rounds, high, cfg.highDuration, cfg.procs)
	byPath := map[string]*pathResult{}
	for _, r := range res.Paths {
		byPath[r.Path] = r
	}
	direct := byPath[pathDirect]
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "path\tp50 µs\tp99 µs\tcalls/s c=1\tcalls/s c=%d\tp50 / family default\tc=%d / family default\tp50 / direct\tc=%d / direct\tupstream/call\terrors\t\n", high, high, high)
	for _, r := range res.Paths {
		fam, famP50, famRPS := byPath[familyDefault(r.Path)], "-", "-"
		if fam != nil && fam != r {
			famP50, famRPS = fmt.Sprintf("%.2f", ratio(r.P50us, fam.P50us)), fmt.Sprintf("%.2f", ratio(r.RPS[high], fam.RPS[high]))
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t%.0f\t%s\t%s\t%.2f\t%.2f\t%.2f\t%d\t\n", r.Path, r.P50us, r.P99us, r.RPS[1], r.RPS[high],
			famP50, famRPS, ratio(r.P50us, direct.P50us), ratio(r.RPS[high], direct.RPS[high]), r.UpstreamPerCall, r.Errors)
	}
	_ = tw.Flush()
	if g, p := byPath[expGateway+"default"], byPath[expPass+"default"]; g != nil && p != nil {
		fmt.Fprintf(w, "gateway gRPC p50 / pass-through p50: %.2f; REST / pass-through: %.2f\n", ratio(g.P50us, p.P50us), ratio(byPath[pathREST].P50us, p.P50us))
	}
	fmt.Fprintf(w, "errors: %d\n", res.Errors)
}
