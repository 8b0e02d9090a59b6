package deploy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const (
	dockerfilePath   = "../Dockerfile"
	dockerignorePath = "../.dockerignore"
	finalImage       = "gcr.io/distroless/static-debian12:nonroot"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// stage is one FROM and the instructions after it.
type stage struct {
	from                  instruction
	image, name, platform string
	instrs                []instruction
}

// parseDockerfile is a plain line parser: comments and blank lines dropped,
// lines ending in a backslash joined (comment lines inside a continuation
// are skipped, as Docker does), instructions split into stages at FROM.
func parseDockerfile(t *testing.T) []*stage {
	t.Helper()
	f, err := os.Open(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []*stage
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		in := instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.Join(strings.Fields(args), " ")}
		cur.Reset()
		if in.cmd == "FROM" {
			s := &stage{from: in}
			fields := strings.Fields(in.args)
			for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
				if p, ok := strings.CutPrefix(fields[0], "--platform="); ok {
					s.platform = p
				}
				fields = fields[1:]
			}
			if len(fields) == 0 {
				t.Fatalf("Dockerfile:%d: FROM without an image", in.line)
			}
			s.image = fields[0]
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				s.name = fields[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("Dockerfile:%d: %s before the first FROM", in.line, in.cmd)
			}
			continue
		}
		s := stages[len(stages)-1]
		s.instrs = append(s.instrs, in)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur.Len() > 0 {
		t.Fatal("Dockerfile ends inside a continuation line")
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a builder and a final stage", len(stages))
	}
	return stages
}

func (s *stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instrs {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// goBuild returns the builder's RUN instruction that builds the gateway.
func goBuild(stages []*stage) (*stage, instruction, error) {
	for _, s := range stages[:len(stages)-1] {
		for _, in := range s.all("RUN") {
			if strings.Contains(in.args, "go build") && strings.Contains(in.args, "./cmd/forecast-gateway") {
				return s, in, nil
			}
		}
	}
	return nil, instruction{}, fmt.Errorf("no builder RUN with `go build ... ./cmd/forecast-gateway` in %s", dockerfilePath)
}

var ldflagsRE = regexp.MustCompile(`-ldflags[ =]"([^"]*)"`)

// dockerLDFlags returns the -ldflags of the Dockerfile's go build, with
// ${VERSION} and ${COMMIT} unexpanded. The binary tests build with them.
func dockerLDFlags() (string, error) {
	data, err := os.ReadFile(dockerfilePath)
	if err != nil {
		return "", err
	}
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	m := ldflagsRE.FindStringSubmatch(text)
	if m == nil {
		return "", fmt.Errorf(`no -ldflags "..." in %s`, dockerfilePath)
	}
	return m[1], nil
}

// rootModule returns the parent module's path and its go directive.
func rootModule(t *testing.T) (module, goVersion string) {
	t.Helper()
	data, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "module" {
			module = f[1]
		}
		if len(f) == 2 && f[0] == "go" {
			goVersion = f[1]
		}
	}
	if module == "" || goVersion == "" {
		t.Fatal("../go.mod: no module or go line")
	}
	return module, goVersion
}

func TestDockerfileStages(t *testing.T) {
	stages := parseDockerfile(t)
	_, goVersion := rootModule(t)
	builder := stages[0]
	// The builder's Go is the go.mod's minor release (golang:1.26 is the
	// newest 1.26.x).
	parts := strings.SplitN(goVersion, ".", 3)
	minor := parts[0] + "." + parts[1]
	if tag, ok := strings.CutPrefix(builder.image, "golang:"); !ok || !(tag == minor || strings.HasPrefix(tag, minor+".") || strings.HasPrefix(tag, minor+"-")) {
		t.Errorf("builder FROM %s, want golang:%s (go.mod says go %s)", builder.image, minor, goVersion)
	}
	if builder.name == "" {
		t.Error("builder stage has no name (FROM ... AS build)")
	}

	final := stages[len(stages)-1]
	if img, _, _ := strings.Cut(final.image, "@"); img != finalImage {
		t.Errorf("final FROM %s, want %s (static, non-root, no shell)", final.image, finalImage)
	}
	for _, cmd := range []string{"RUN", "SHELL", "HEALTHCHECK"} {
		for _, in := range final.all(cmd) {
			t.Errorf("Dockerfile:%d: %s in the final stage: the distroless image has no shell", in.line, cmd)
		}
	}
	users := final.all("USER")
	if len(users) == 0 {
		t.Error("no USER in the final stage")
	} else if u := users[len(users)-1].args; u != "65532" && u != "65532:65532" {
		t.Errorf("final USER %q, want 65532:65532 (numeric, so that runAsNonRoot can check it; the manifests' runAsUser)", u)
	}

	// ENTRYPOINT in exec form (no shell to run the shell form), naming the
	// binary the final stage copies from the builder.
	eps := final.all("ENTRYPOINT")
	if len(eps) != 1 {
		t.Fatalf("%d ENTRYPOINTs in the final stage, want 1", len(eps))
	}
	var ep []string
	if err := json.Unmarshal([]byte(eps[0].args), &ep); err != nil || len(ep) != 1 || !path.IsAbs(ep[0]) {
		t.Fatalf("ENTRYPOINT %s: want the exec form with the binary's absolute path, e.g. [\"/forecast-gateway\"] (%v)", eps[0].args, err)
	}
	for _, in := range final.all("CMD") {
		if !strings.HasPrefix(in.args, "[") {
			t.Errorf("Dockerfile:%d: CMD in shell form", in.line)
		}
	}
	copied := false
	for _, in := range final.all("COPY") {
		f := strings.Fields(in.args)
		if slices.Contains(f, "--from="+builder.name) && f[len(f)-1] == ep[0] {
			copied = true
		}
	}
	if !copied {
		t.Errorf("no COPY --from=%s ... %s in the final stage (the ENTRYPOINT)", builder.name, ep[0])
	}

	// EXPOSE lists the manifests' container ports.
	exposed := map[int32]bool{}
	for _, in := range final.all("EXPOSE") {
		for _, p := range strings.Fields(in.args) {
			n, err := strconv.Atoi(strings.TrimSuffix(p, "/tcp"))
			if err != nil {
				t.Errorf("EXPOSE %s: %v", p, err)
			}
			exposed[int32(n)] = true
		}
	}
	want := map[int32]bool{}
	for _, p := range wantPorts {
		want[p] = true
	}
	if !maps.Equal(exposed, want) {
		t.Errorf("EXPOSE %v, want the container ports %v", slices.Sorted(maps.Keys(exposed)), wantPorts)
	}
}

func TestDockerfileBuild(t *testing.T) {
	stages := parseDockerfile(t)
	module, _ := rootModule(t)
	s, run, err := goBuild(stages)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "--mount=type=cache,target=/go/pkg/mod"} {
		if !strings.Contains(run.args, want) {
			t.Errorf("Dockerfile:%d: go build RUN lacks %s", run.line, want)
		}
	}
	// The module cache is mounted where the modules were downloaded.
	downloaded := false
	for _, in := range s.all("RUN") {
		if strings.Contains(in.args, "go mod download") && strings.Contains(in.args, "--mount=type=cache,target=/go/pkg/mod") {
			downloaded = true
		}
	}
	if !downloaded {
		t.Error("no `RUN --mount=type=cache,target=/go/pkg/mod go mod download` layer in the builder")
	}
	ldflags, err := dockerLDFlags()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ldflags, "-s -w") {
		t.Errorf("-ldflags %q lacks -s -w", ldflags)
	}
	// -X targets: the build args reach variables that exist. The linker
	// ignores an -X naming a variable that does not exist.
	args := map[string]bool{}
	for _, in := range s.all("ARG") {
		if in.line < run.line {
			name, _, _ := strings.Cut(in.args, "=")
			args[name] = true
		}
	}
	vars := versionVars(t)
	xs := regexp.MustCompile(`-X ([^ =]+)\.([A-Za-z_][A-Za-z0-9_]*)=(\S*)`).FindAllStringSubmatch(ldflags, -1)
	got := map[string]string{}
	for _, x := range xs {
		pkg, name, value := x[1], x[2], x[3]
		if pkg != module+"/internal/version" {
			t.Errorf("-X %s.%s: want package %s/internal/version", pkg, name, module)
			continue
		}
		if !vars[name] {
			t.Errorf("-X %s.%s: internal/version has no package-level string variable %s (it has %v)", pkg, name, name, sortedKeys(vars))
		}
		got[name] = value
	}
	for name, arg := range map[string]string{"Version": "VERSION", "Commit": "COMMIT"} {
		if v := got[name]; v != "${"+arg+"}" && v != "$"+arg {
			t.Errorf("-X ...internal/version.%s=%q, want ${%s}", name, v, arg)
		}
		if !args[arg] {
			t.Errorf("no ARG %s in the builder stage before the go build", arg)
		}
	}
}

// versionVars returns the package-level string variables of
// internal/version (the -X targets).
func versionVars(t *testing.T) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	dir := "../internal/version"
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]bool{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					isString := false
					if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "string" {
						isString = true
					}
					if vs.Type == nil && i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							isString = true
						}
					}
					if isString {
						vars[n.Name] = true
					}
				}
			}
		}
	}
	return vars
}

// dockerignore is the pattern list of .dockerignore, matched like
// BuildKit: a pattern (path.Match syntax plus "**") excludes a path when it
// matches the path or any of its parent directories; "!" re-includes; the
// last matching pattern wins.
type dockerignore []struct {
	re     *regexp.Regexp
	negate bool
	raw    string
}

func loadDockerignore(t *testing.T) dockerignore {
	t.Helper()
	data, err := os.ReadFile(dockerignorePath)
	if err != nil {
		t.Fatal(err)
	}
	var d dockerignore
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p, negate := strings.CutPrefix(line, "!")
		p = strings.TrimPrefix(path.Clean(strings.TrimSpace(p)), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(p); i++ {
			switch c := p[i]; {
			case strings.HasPrefix(p[i:], "**/"):
				re.WriteString("(?:.*/)?")
				i += 2
			case strings.HasPrefix(p[i:], "**"):
				re.WriteString(".*")
				i++
			case c == '*':
				re.WriteString("[^/]*")
			case c == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString("$")
		d = append(d, struct {
			re     *regexp.Regexp
			negate bool
			raw    string
		}{regexp.MustCompile(re.String()), negate, line})
	}
	return d
}

func (d dockerignore) excludes(rel string) bool {
	excluded := false
	for _, p := range d {
		for q := rel; q != "." && q != "/" && q != ""; q = path.Dir(q) {
			if p.re.MatchString(q) {
				excluded = !p.negate
				break
			}
		}
	}
	return excluded
}

func TestDockerignore(t *testing.T) {
	d := loadDockerignore(t)
	for _, p := range []string{".git/HEAD", ".bin/buf", "dev/ca.pem", "bench-results/run.txt", "transport.test", "internal/gateway/gateway.test"} {
		if !d.excludes(p) {
			t.Errorf(".dockerignore does not exclude %s", p)
		}
	}
	// Everything the build reads stays in the context: go.mod, go.sum and
	// the Go and embedded files of every package of the main module that the
	// gateway imports.
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "list", "-C", "..", "-deps",
		"-f", `{{if and .Module .Module.Main}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}`,
		"./cmd/forecast-gateway").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	needed := []string{"go.mod", "go.sum"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		rel, err := filepath.Rel(root, f[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range f[1:] {
			needed = append(needed, filepath.ToSlash(filepath.Join(rel, file)))
		}
	}
	if len(needed) < 10 {
		t.Fatalf("go list found only %v", needed)
	}
	for _, p := range needed {
		if d.excludes(p) {
			t.Errorf(".dockerignore excludes %s, which the build needs", p)
		}
	}
	t.Logf("%d files the build needs are in the context", len(needed))
}
