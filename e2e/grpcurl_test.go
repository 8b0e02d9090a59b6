package e2e_test

// grpcurl is how people debug the gateway: these tests run the real
// grpcurl binary (the version pinned in tools/protoc/go.mod, which
// `make tools` builds into .bin/) against the real gRPC listener, through
// server reflection only.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

var (
	grpcurlOnce sync.Once
	grpcurlPath string
	grpcurlErr  error
)

// grpcurlBin returns the pinned grpcurl: .bin/grpcurl when `make tools`
// built it, or a fresh build of the same pinned version.
func grpcurlBin(t *testing.T) string {
	t.Helper()
	grpcurlOnce.Do(func() {
		root, err := filepath.Abs("..")
		if err != nil {
			grpcurlErr = err
			return
		}
		if p := filepath.Join(root, ".bin", "grpcurl"); fileExists(p) {
			grpcurlPath = p
			return
		}
		dir, err := os.MkdirTemp("", "grpcurl")
		if err != nil {
			grpcurlErr = err
			return
		}
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
		cmd := exec.Command(goBin, "build", "-modfile="+filepath.Join(root, "tools", "protoc", "go.mod"),
			"-o", filepath.Join(dir, "grpcurl"), "github.com/fullstorydev/grpcurl/cmd/grpcurl")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			grpcurlErr = err
			grpcurlPath = string(out)
			return
		}
		grpcurlPath = filepath.Join(dir, "grpcurl")
	})
	if grpcurlErr != nil {
		t.Fatalf("building grpcurl: %v\n%s", grpcurlErr, grpcurlPath)
	}
	return grpcurlPath
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// grpcurl runs grpcurl against env's gRPC listener; it returns stdout and
// stderr and whether it exited 0.
func grpcurl(t *testing.T, env *testenv.Env, args ...string) (string, string, bool) {
	t.Helper()
	full := append([]string{"-plaintext", "-max-time", "20"}, args...)
	// The address goes before the method (or list/describe's argument).
	for i, a := range full {
		if a == "list" || a == "describe" || strings.HasPrefix(a, "forecast.gateway.v1.") || strings.HasPrefix(a, "grpc.") {
			full = append(full[:i:i], append([]string{env.Gateway.GRPCAddr()}, full[i:]...)...)
			break
		}
	}
	cmd := exec.Command(grpcurlBin(t), full...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err == nil
}

// TestGrpcurl: a newcomer's session: list the RPCs, read a message's
// documentation, then a job's whole life (create, describe, tag, stop,
// delete), all by reflection.
func TestGrpcurl(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	svc := "forecast.gateway.v1.ForecastJobService"

	out, errOut, ok := grpcurl(t, env, "list", svc)
	if !ok {
		t.Fatalf("grpcurl list: %s", errOut)
	}
	if n := len(strings.Fields(out)); n != 29 {
		t.Fatalf("grpcurl list shows %d RPCs, want 29:\n%s", n, out)
	}
	// Reflection serves the descriptors buf built, so describe shows the
	// proto comments: what AWS says about each field.
	if out, errOut, ok = grpcurl(t, env, "describe", "forecast.gateway.v1.CreateDatasetImportJobRequest"); !ok ||
		!strings.Contains(out, "bool use_geolocation_for_time_zone = 5;") ||
		!strings.Contains(out, "// Required. ARN of the dataset to import the data into.") {
		t.Fatalf("grpcurl describe shows no field comments: %s %s", out, errOut)
	}
	if out, errOut, ok = grpcurl(t, env, "describe", svc+".StopDatasetImportJob"); !ok || !strings.Contains(out, "// Stops a dataset import job") {
		t.Fatalf("grpcurl describe of an RPC shows no comment: %s %s", out, errOut)
	}

	call := func(method, body string) (map[string]any, string, bool) {
		t.Helper()
		out, errOut, ok := grpcurl(t, env, "-d", body, svc+"/"+method)
		var m map[string]any
		if ok {
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("%s: %v: %s", method, err, out)
			}
		}
		return m, errOut, ok
	}
	for _, row := range jobRows {
		if !row.t.Stoppable {
			continue
		}
		t.Run(row.t.Noun, func(t *testing.T) {
			created, errOut, ok := call(row.t.CreateOp(), row.createBody(env.Emu, "from_grpcurl", roleArn))
			if !ok {
				t.Fatalf("create: %s", errOut)
			}
			// grpcurl prints JSON with lowerCamelCase names.
			arn, _ := created[lowerCamel(row.t.ArnField)].(string)
			if !strings.Contains(arn, ":"+row.t.ArnType+"/") {
				t.Fatalf("create answered %v", created)
			}
			byArn := `{"` + row.t.ArnField + `": "` + arn + `"}`
			job, errOut, ok := call(row.t.DescribeOp(), byArn)
			if !ok || job["awsStatus"] != "CREATE_PENDING" {
				t.Fatalf("describe: %v %s", job, errOut)
			}
			if _, errOut, ok := call("TagResource", `{"resource_arn": "`+arn+`", "tags": [{"key": "via", "value": "grpcurl"}]}`); !ok {
				t.Fatalf("tag: %s", errOut)
			}
			if _, errOut, ok := call(row.t.StopMethod(), byArn); !ok {
				t.Fatalf("stop: %s", errOut)
			}
			// Deleting a job that is stopping is refused, and grpcurl shows why.
			if _, errOut, ok := call(row.t.DeleteOp(), byArn); ok || !strings.Contains(errOut, "FailedPrecondition") || !strings.Contains(errOut, "RESOURCE_IN_USE") {
				t.Fatalf("delete while stopping: ok=%v %s", ok, errOut)
			}
			if err := env.Emu.AdvanceClock(time.Hour); err != nil {
				t.Fatal(err)
			}
			if job, errOut, ok = call(row.t.DescribeOp(), byArn); !ok || job["awsStatus"] != "CREATE_STOPPED" {
				t.Fatalf("describe after stop: %v %s", job, errOut)
			}
		})
	}
	// A bad request shows the field and the rule, not a stack or a raw
	// library message.
	_, errOut, ok = call(jobtype.DatasetImportJob.CreateOp(), `{"dataset_import_job_name": "9x"}`)
	if ok || !strings.Contains(errOut, "InvalidArgument") || !strings.Contains(errOut, "dataset_import_job_name") || !strings.Contains(errOut, "(rule: pattern)") {
		t.Fatalf("bad create: ok=%v %s", ok, errOut)
	}
}

// lowerCamel is protojson's JSON name of a proto field name.
func lowerCamel(s string) string {
	var b strings.Builder
	up := false
	for _, c := range s {
		switch {
		case c == '_':
			up = true
		case up:
			b.WriteString(strings.ToUpper(string(c)))
			up = false
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}
